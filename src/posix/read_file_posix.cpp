// platform::read_file on POSIX (file_io.h): a non-secret file read whole, capped, without ever
// blocking on a FIFO (O_NONBLOCK at open, then fstat: only a regular file is read).
#if defined(_WIN32)
#error "read_file_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/file_io.h"

#include "common/text.h"
#include "posix/unique_fd.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sts::platform {

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  const std::string shown = quote_text(path, 512);
  auto fail = [&](const std::string& why, int err = 0) {
    return make_error(Code::config_unreadable, "cannot read " + shown + ": " + why, err);
  };
  posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return fail(errno_text(errno), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno_text(errno), errno);
  if (S_ISDIR(st.st_mode)) return fail("it is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return fail("it is not a regular file (a FIFO, socket or device)");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > max_bytes) {
        return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
      }
      text.resize(std::min(max_bytes + 1, text.size() * 2 + 4096));
    }
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_text(errno), errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace sts::platform
