// Owner-only files on Windows (private_file.h): created with a protected DACL that grants the
// current user full control and nobody else anything, whatever the folder would pass down.
#if !defined(_WIN32)
#error "private_file_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/private_file.h"

#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <sddl.h>

#include <atomic>
#include <string>

namespace sts::platform {
namespace {

using win::ScopedHandle;
using win::ScopedLocal;

// "D:P(A;;FA;;;<user>)": P = protected (no inherited entries), one allow entry for the owner.
struct OwnerOnly {
  ScopedLocal<void> sd;
  SECURITY_ATTRIBUTES sa{sizeof(SECURITY_ATTRIBUTES), nullptr, FALSE};
  bool ok = false;
  OwnerOnly() {
    std::string user = win::current_user_sid();
    if (user.empty()) return;
    std::wstring sddl = L"D:P(A;;FA;;;" + win::to_wide(user) + L")";
    if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, sd.out(), nullptr)) return;
    sa.lpSecurityDescriptor = sd.get();
    ok = true;
  }
};

Status os_error(const std::string& what, const std::string& path, DWORD e) {
  return make_error(Code::config_invalid, "cannot " + what + " " + path + ": " + win::system_message(e),
                    static_cast<int>(e));
}

// An existing file that others can read is refused (a secret-bearing file must stay private).
Status check_existing(HANDLE h, const std::string& path) {
  auto info = win::read_security(h);
  if (!info) return make_error(Code::config_invalid, path + ": " + info.error().message, info.error().os_error);
  std::string user = win::current_user_sid();
  if (info->null_dacl) {
    return make_error(Code::config_invalid, path + " has a NULL DACL (everyone has full control): run icacls \"" + path +
                                                "\" /inheritance:r /grant:r *" + user + ":(F)");
  }
  for (const auto& ace : info->aces) {
    if (!ace.allow() || ace.inherit_only()) continue;
    if (ace.sid == user || ace.sid == win::kSidSystem || ace.sid == win::kSidAdministrators) continue;
    constexpr DWORD kReadish = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
    if ((ace.mask & kReadish) == 0) continue;
    return make_error(Code::config_invalid, path + " is readable by " + win::account_text(ace.sid) + " (" +
                                                win::rights_in_words(ace.mask, false) + "): run icacls \"" + path +
                                                "\" /inheritance:r /grant:r *" + user + ":(F)");
  }
  return ok();
}

Status write_all(HANDLE h, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(bytes.size(), 1u << 30));
    DWORD n = 0;
    if (!::WriteFile(h, bytes.data(), chunk, &n, nullptr)) return os_error("write", path, ::GetLastError());
    bytes.remove_prefix(n);
  }
  return ok();
}

}  // namespace

Status append_private(const std::string& path, std::string_view bytes) {
  OwnerOnly owner_only;
  if (!owner_only.ok) return make_error(Code::internal, "cannot build an owner-only DACL for " + path);
  std::wstring w = win::to_wide(path);
  // FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes to the end, as O_APPEND does.
  ScopedHandle h(::CreateFileW(w.c_str(), FILE_APPEND_DATA | READ_CONTROL | SYNCHRONIZE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                               &owner_only.sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!h.valid()) return os_error("open", path, ::GetLastError());
  if (::GetLastError() == ERROR_ALREADY_EXISTS) {
    if (auto st = check_existing(h.get(), path); !st) return st;
  }
  return write_all(h.get(), bytes, path);
}

Status write_private_atomic(const std::string& path, std::string_view bytes) {
  OwnerOnly owner_only;
  if (!owner_only.ok) return make_error(Code::internal, "cannot build an owner-only DACL for " + path);
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::GetCurrentProcessId()) + "." + std::to_string(counter++);
  std::wstring wtmp = win::to_wide(tmp);
  {
    ScopedHandle h(::CreateFileW(wtmp.c_str(), GENERIC_WRITE, 0, &owner_only.sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!h.valid()) return os_error("create", tmp, ::GetLastError());
    Status st = write_all(h.get(), bytes, tmp);
    if (st && !::FlushFileBuffers(h.get())) st = os_error("flush", tmp, ::GetLastError());
    if (!st) {
      h.reset();
      ::DeleteFileW(wtmp.c_str());
      return st;
    }
  }
  std::wstring w = win::to_wide(path);
  if (!::MoveFileExW(wtmp.c_str(), w.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    DWORD e = ::GetLastError();
    ::DeleteFileW(wtmp.c_str());
    return os_error("rename " + tmp + " to", path, e);
  }
  return ok();
}

}  // namespace sts::platform
