// The folder rules on every folder above a path (folders_above.h).
#if !defined(_WIN32)
#error "folders_above.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "windows/folders_above.h"

#include "common/text.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <algorithm>
#include <iterator>
#include <optional>

namespace sts::win {
namespace {

// The length of the root of an absolute path: 3 for "C:\", up to the share for
// "\\server\share"; 0 for anything else.
std::size_t root_length(const std::string& p) {
  if (p.size() >= 3 && p[1] == ':' && p[2] == '\\') return 3;
  if (p.size() > 2 && p[0] == '\\' && p[1] == '\\') {
    const std::size_t server_end = p.find('\\', 2);
    if (server_end == std::string::npos || server_end == 2) return 0;
    const std::size_t share_end = p.find('\\', server_end + 1);
    return share_end == std::string::npos ? 0 : share_end;
  }
  return 0;
}

// "C:\a\b\x.exe" -> {"C:\a\b", "C:\a", "C:\"}; "\\srv\share\a\x" -> {"\\srv\share\a", "\\srv\share"}.
std::vector<std::string> ancestors(const std::string& path) {
  std::vector<std::string> out;
  const std::size_t root = root_length(path);
  if (root == 0) return out;
  std::string p = path;
  while (p.size() > root) {
    const std::size_t cut = p.find_last_of('\\');
    if (cut == std::string::npos) break;
    if (root == 3 && cut <= 2) {  // the drive root "C:\"
      out.push_back(p.substr(0, 3));
      break;
    }
    if (cut < root) break;
    p = p.substr(0, cut);
    out.push_back(p);
  }
  return out;
}

// "\\?\C:\a" -> "C:\a", "\\?\UNC\srv\share\a" -> "\\srv\share\a" (GetFinalPathNameByHandleW's forms).
std::string strip_device_prefix(std::wstring p) {
  if (p.rfind(L"\\\\?\\UNC\\", 0) == 0) {
    p = L"\\\\" + p.substr(8);
  } else if (p.rfind(L"\\\\?\\", 0) == 0 && p.size() > 6 && p[5] == L':') {
    p = p.substr(4);
  }
  return to_utf8(p);
}

// The real path of `h`: "" for an invalid handle (nothing to resolve), nullopt with the reason in
// `why` when Windows cannot give it (the caller fails rather than skip those folders).
std::optional<std::string> final_path_of(HANDLE h, std::string& why) {
  if (!ScopedHandle::is_valid(h)) return std::string();
  constexpr DWORD kFlags = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
  std::vector<wchar_t> buf(MAX_PATH * 2);
  DWORD n = ::GetFinalPathNameByHandleW(h, buf.data(), static_cast<DWORD>(buf.size()), kFlags);
  // Too small: Windows returns the size it asks for (the terminator included); Wine 8 returns 0
  // with ERROR_MORE_DATA (and fails again past its own limit of about MAX_PATH, below).
  const bool more = n >= buf.size() || (n == 0 && ::GetLastError() == ERROR_MORE_DATA);
  if (more) {
    buf.resize(n != 0 ? static_cast<std::size_t>(n) + 1 : 32768);
    n = ::GetFinalPathNameByHandleW(h, buf.data(), static_cast<DWORD>(buf.size()), kFlags);
  }
  if (n == 0 || n >= buf.size()) {
    why = n == 0 ? system_message(::GetLastError()) : std::string("it grew while it was read");
    return std::nullopt;
  }
  return strip_device_prefix(std::wstring(buf.data(), n));
}

struct FolderAbove {
  std::string path;
  ObjectKind kind;  // `nearest`: the one that holds the path; ancestor: further up
};

// Every folder above `path` and, when links or junctions lead elsewhere, above its real path,
// each once.
std::vector<FolderAbove> folders_above(const std::string& path, const std::string& final_path, ObjectKind nearest) {
  std::vector<FolderAbove> folders;
  auto add_all = [&](const std::string& file) {
    const std::vector<std::string> above = ancestors(file);
    for (std::size_t i = 0; i < above.size(); ++i) {
      const ObjectKind kind = i == 0 ? nearest : ObjectKind::ancestor;
      const auto same = std::find_if(folders.begin(), folders.end(), [&](const FolderAbove& f) {
        return ascii_lower(f.path) == ascii_lower(above[i]);
      });
      if (same == folders.end()) {
        folders.push_back({above[i], kind});
      } else if (kind != ObjectKind::ancestor) {
        same->kind = kind;  // the stricter rule wins
      }
    }
  };
  add_all(path);
  if (!final_path.empty() && ascii_lower(final_path) != ascii_lower(path)) add_all(final_path);
  return folders;
}

// The folder rules of acl_rules.h on one folder; a folder whose permissions cannot be read fails.
AclVerdict folder_verdict(const FolderAbove& above, const std::string& user, std::string_view guarded) {
  const std::string& folder = above.path;
  std::wstring w = to_wide(folder);
  ScopedHandle dir(::CreateFileW(w.c_str(), READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                 nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  auto unreadable = [&](const std::string& why) {
    AclVerdict verdict;
    verdict.rules.push_back(
        CheckRule{"folder " + folder, false, why, "run the check as a user that may read its permissions"});
    verdict.failure = "cannot read the permissions of folder " + folder + ": " + why +
                      ": run the check as a user that may read its permissions";
    return verdict;
  };
  if (!dir.valid()) return unreadable(system_message(::GetLastError()));
  auto info = read_security(dir.get());
  if (!info) return unreadable(info.error().message);
  return evaluate_acl(*info, user, above.kind, folder, guarded);
}

}  // namespace

std::vector<AclVerdict> folders_above_verdicts(const std::string& path, HANDLE held, std::string_view guarded,
                                               ObjectKind nearest) {
  const std::string user = current_user_sid();
  const std::string given = strip_device_prefix(to_wide(path));
  std::string why;
  const std::optional<std::string> final_path = final_path_of(held, why);
  std::vector<AclVerdict> verdicts;
  for (const FolderAbove& folder : folders_above(given, final_path.value_or(std::string()), nearest)) {
    verdicts.push_back(folder_verdict(folder, user, guarded));
  }
  if (!final_path) {  // the folders above the real path are unknown: fail, never skip them
    const std::string fix = "run the check as a user that may read it, or use a shorter path";
    AclVerdict verdict;
    verdict.rules.push_back(CheckRule{"real path " + given, false, why, fix});
    verdict.failure = "cannot read the real path of " + given + ": " + why + ": " + fix;
    verdicts.push_back(std::move(verdict));
  }
  return verdicts;
}

}  // namespace sts::win
