// platform::read_file on Windows (file_io.h): a non-secret file read whole through the wide API
// (UTF-8 paths), capped; only a disk file is read (GetFileType), so a pipe or a device never blocks.
#if !defined(_WIN32)
#error "read_file_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/file_io.h"

#include "common/text.h"
#include "windows/scoped_handle.h"
#include "windows/wide_string.h"

#include <windows.h>

#include <system_error>

namespace sts::platform {

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  const std::string shown = quote_text(path, 512);
  auto fail = [&](const std::string& why, int err = 0) {
    return make_error(Code::config_unreadable, "cannot read " + shown + ": " + why, err);
  };
  auto os_fail = [&](DWORD e) { return fail(win::system_message(e), static_cast<int>(e)); };
  win::ScopedHandle file(::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                       nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file.valid()) return os_fail(::GetLastError());
  if (::GetFileType(file.get()) != FILE_TYPE_DISK) return fail("it is not a regular file (a pipe or a device)");
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(file.get(), &info)) return os_fail(::GetLastError());
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) return fail("it is a directory, not a file");
  const std::uint64_t size = (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  if (size > max_bytes) {
    return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    DWORD n = 0;
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(text.size() - got, 1u << 20));
    if (!::ReadFile(file.get(), text.data() + got, want, &n, nullptr)) return os_fail(::GetLastError());
    if (n == 0) break;
    got += n;
  }
  text.resize(got);
  return text;
}

}  // namespace sts::platform
