// Owner-only files on POSIX (private_file.h): the audit log and the tool's output files.
#if defined(_WIN32)
#error "private_file_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/private_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace sts::platform {
namespace {

std::string os_reason(int err) { return std::strerror(err); }

Error os_error(const std::string& what, const std::string& path, int err) {
  return make_error(Code::config_invalid, what + " " + path + ": " + os_reason(err), err);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Closes fd, keeping errno of what failed before.
void close_keep_errno(int fd) {
  int saved = errno;
  (void)::close(fd);
  errno = saved;
}

// Writes all of bytes; false with errno set on failure.
bool write_all(int fd, std::string_view bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Status append_private(const std::string& path, std::string_view bytes) {
  // First try to create it, so we know whether the mode is ours to set. O_NOFOLLOW: a symlink
  // planted at the path must not redirect the records.
  const int common = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
  bool created = true;
  int fd = ::open(path.c_str(), common | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), common);
  }
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) {
      return make_error(Code::config_invalid,
                        "refusing to write " + path + ": it is a symbolic link; point the setting at the real file",
                        err);
    }
    return os_error("cannot open", path, err);
  }
  if (created) {
    // The umask may have taken bits away, never added them; fchmod makes it exactly 0600.
    if (::fchmod(fd, 0600) != 0) {
      int err = errno;
      close_keep_errno(fd);
      return os_error("cannot set mode 0600 on", path, err);
    }
  } else {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      close_keep_errno(fd);
      return os_error("cannot stat", path, err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return make_error(Code::config_invalid, "refusing to write " + path + ": it is not a regular file");
    }
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      ::close(fd);
      return make_error(Code::config_invalid, "refusing to write " + path + ": it is readable by group or others (mode " +
                                                  octal_mode(st.st_mode) + "); fix it with: chmod 600 " + path);
    }
  }
  if (!write_all(fd, bytes)) {
    int err = errno;
    close_keep_errno(fd);
    return os_error("cannot write to", path, err);
  }
  if (::close(fd) != 0 && errno != EINTR) {
    return os_error("cannot write to", path, errno);
  }
  return ok();
}

Status write_private_atomic(const std::string& path, std::string_view bytes) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) {
    return make_error(Code::config_invalid, "cannot write " + path + ": the path names a directory, not a file");
  }
  // Beside the target, so rename() stays within one filesystem and is atomic.
  std::string tmp = (dir == "/" ? std::string() : dir) + "/." + base + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return os_error("cannot create a temporary file beside", path, errno);

  auto fail = [&](const char* what, int err) -> Status {
    (void)::close(fd);
    (void)::unlink(tmp.c_str());
    return os_error(what, path, err);
  };
  if (::fchmod(fd, 0600) != 0) return fail("cannot set mode 0600 on the temporary file for", errno);
  if (!write_all(fd, bytes)) return fail("cannot write the temporary file for", errno);
  if (::fsync(fd) != 0) return fail("cannot flush the temporary file for", errno);
  if (::close(fd) != 0 && errno != EINTR) {
    int err = errno;
    (void)::unlink(tmp.c_str());
    return os_error("cannot write the temporary file for", path, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    (void)::unlink(tmp.c_str());
    return os_error("cannot rename the temporary file into place as", path, err);
  }
  // Make the rename itself durable; a failure here does not undo the write.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    (void)::close(dfd);
  }
  return ok();
}

}  // namespace sts::platform
