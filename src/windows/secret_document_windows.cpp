// platform::read_secret_document and platform::inspect_secret_folder on Windows
// (secret_document.h): one handle, opened without write or delete sharing, judged by
// GetFileType and its owner + DACL, read into locked memory.
//
// The document's ACL rule is SPEC 5's rule for the executable without the execute right: the
// owner is SYSTEM, Administrators or the current user; no NULL DACL; allow entries only for
// those three; no deny entry for them; no entry of another type. It is evaluated here rather
// than through acl_rules.h, whose file rules require an execute entry and speak of a backend.
#if !defined(_WIN32)
#error "secret_document_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/secret_document.h"

#include "common/text.h"
#include "windows/acl_rules.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>

#include <algorithm>
#include <optional>

namespace sts::platform {
namespace {

bool trusted(std::string_view sid, std::string_view user) {
  return sid == win::kSidSystem || sid == win::kSidAdministrators || (!user.empty() && sid == user);
}

std::string quoted(const std::string& path) { return "\"" + path + "\""; }

class Rules {
 public:
  explicit Rules(ExecutableReport* report) : report_(report) {}
  void add(std::string name, bool ok, std::string detail, std::string fix, Code code, std::string message) {
    if (report_ != nullptr) report_->rules.push_back(CheckRule{std::move(name), ok, std::move(detail), ok ? std::string() : fix});
    if (!ok && !error_) error_ = make_error(code, std::move(message));
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  ExecutableReport* report_;
  std::optional<Error> error_;
};

void judge_acl(const win::SecurityInfo& info, const std::string& path, const std::string& shown, Rules& rules) {
  const std::string user = win::current_user_sid();
  const std::string user_name = user.empty() ? std::string("the current user") : win::account_text(user);
  const std::string owner = info.owner_sid.empty() ? std::string("nobody") : win::account_text(info.owner_sid);
  const std::string reset = "icacls " + quoted(path) + " /inheritance:r /grant:r *S-1-5-18:(F) *S-1-5-32-544:(F) *" +
                            user + ":(R)";
  rules.add("owner", trusted(info.owner_sid, user), owner, "icacls " + quoted(path) + " /setowner *" + user,
            Code::config_insecure,
            "secrets document " + shown + " is owned by " + owner + ", not by SYSTEM, Administrators or " + user_name +
                ": run icacls " + quoted(path) + " /setowner *" + user);
  if (info.null_dacl) {
    rules.add("dacl", false, "NULL DACL (everyone has full control)", reset, Code::config_insecure,
              "secrets document " + shown + " has a NULL DACL, so everyone can read it: run " + reset);
    return;
  }
  for (const auto& ace : info.aces) {
    if (ace.inherit_only()) continue;
    const std::string who = ace.sid.empty() ? std::string("an entry without a SID") : win::account_text(ace.sid);
    const std::string rights = win::rights_in_words(ace.mask, false) + (ace.inherited() ? " (inherited)" : "");
    if (!ace.allow() && !ace.deny()) {
      rules.add("entry " + who, false, "entry of type " + std::to_string(ace.type), reset, Code::config_insecure,
                "secrets document " + shown + " has an entry of unsupported type " + std::to_string(ace.type) +
                    ": run " + reset);
      continue;
    }
    const bool is_trusted = trusted(ace.sid, user);
    if (ace.deny()) {
      rules.add("deny " + who, !is_trusted, "deny " + rights, reset, Code::config_insecure,
                "secrets document " + shown + " denies " + who + " " + rights + ": run " + reset);
      continue;
    }
    rules.add("allow " + who, is_trusted, rights, reset, Code::config_insecure,
              "secrets document " + shown + " allows " + who + " " + rights +
                  ", and only SYSTEM, Administrators and " + user_name + " may read it: run " + reset);
  }
}

}  // namespace

Result<SecureBuffer> read_secret_document(const std::string& path, std::size_t max_bytes, ExecutableReport* report) {
  const std::string shown = quote_text(path, 512);
  if (report != nullptr) report->path = path;
  Rules rules(report);
  // No write or delete sharing: nobody can change or replace the file between the checks and
  // the read.
  win::ScopedHandle file(::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ | READ_CONTROL, FILE_SHARE_READ,
                                       nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file.valid()) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
      rules.add("exists", false, "does not exist", "create it", Code::config_unreadable,
                "secrets document " + shown + " does not exist: create it, readable only by SYSTEM, "
                "Administrators and the agent's user, or fix the path");
    } else {
      rules.add("readable", false, win::system_message(err), "make it readable by the agent's user",
                Code::config_unreadable, "cannot open secrets document " + shown + ": " + win::system_message(err));
    }
    Error e = *rules.error();
    e.os_error = static_cast<int>(err);
    return e;
  }
  const bool disk = ::GetFileType(file.get()) == FILE_TYPE_DISK;
  BY_HANDLE_FILE_INFORMATION info{};
  const bool regular = disk && ::GetFileInformationByHandle(file.get(), &info) &&
                       (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
  rules.add("regular file", regular, regular ? "regular file" : "a pipe, device or folder", "point path at the document",
            Code::config_unreadable,
            "secrets document " + shown + " is not a regular file: point path at the document itself");
  if (!regular) return *rules.error();

  auto security = win::read_security(file.get());
  if (!security) return std::move(security).error();
  if (report != nullptr) {
    report->owner = security->owner_sid.empty() ? std::string("nobody") : win::account_text(security->owner_sid);
    for (const auto& ace : security->aces) report->acl.push_back(win::ace_text(ace, false));
  }
  judge_acl(*security, path, shown, rules);

  const std::uint64_t size = (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  rules.add("size", size <= max_bytes, std::to_string(size) + " bytes", "keep only secrets in the document",
            Code::config_unreadable,
            "secrets document " + shown + " is larger than " + std::to_string(max_bytes) + " bytes: keep only secrets in it");
  if (rules.error()) return *rules.error();

  SecureBuffer out;
  out.reserve(static_cast<std::size_t>(size) + 1);
  for (;;) {
    if (out.spare_size() == 0) {
      if (out.size() > max_bytes) break;
      out.reserve(std::min(out.size() * 2, max_bytes + 1));
    }
    DWORD n = 0;
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(out.spare_size(), 1u << 20));
    if (!::ReadFile(file.get(), out.spare(), want, &n, nullptr)) {
      const DWORD err = ::GetLastError();
      return make_error(Code::config_unreadable, "cannot read secrets document " + shown + ": " + win::system_message(err),
                        static_cast<int>(err));
    }
    if (n == 0) break;
    out.commit(n);
  }
  if (out.size() > max_bytes) {
    return make_error(Code::config_unreadable,
                      "secrets document " + shown + " is larger than " + std::to_string(max_bytes) + " bytes: keep only secrets in it");
  }
  return out;
}

void inspect_secret_folder(const std::string& path, ExecutableReport& report) {
  const std::string shown = quote_text(path, 512);
  report.path = path;
  auto add = [&report](std::string name, bool ok, std::string detail, std::string fix, Code code, std::string message) {
    report.rules.push_back(CheckRule{std::move(name), ok, std::move(detail), ok ? std::string() : fix});
    if (!ok && !report.error) report.error = make_error(code, std::move(message));
  };
  const DWORD attributes = ::GetFileAttributesW(win::to_wide(path).c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    const DWORD err = ::GetLastError();
    add("root folder exists", false, win::system_message(err), "create the folder", Code::config_invalid,
        "root folder " + shown + " cannot be used: " + win::system_message(err) + "; create it or fix root");
    return;
  }
  if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
    add("root folder exists", false, "not a folder", "point root at a folder", Code::config_invalid,
        "root folder " + shown + " is not a folder: point root at the folder holding one file per handle");
    return;
  }
  add("root folder exists", true, "folder", "", Code::config_unreadable, "");
  win::ScopedHandle dir(::CreateFileW(win::to_wide(path).c_str(), READ_CONTROL,
                                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                                      FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!dir.valid()) {
    const DWORD err = ::GetLastError();
    add("root folder acl", false, win::system_message(err), "", Code::config_unreadable,
        "cannot read the permissions of root folder " + shown + ": " + win::system_message(err));
    return;
  }
  auto security = win::read_security(dir.get());
  if (!security) {
    add("root folder acl", false, security.error().message, "", Code::config_unreadable, security.error().message);
    return;
  }
  report.owner = security->owner_sid.empty() ? std::string("nobody") : win::account_text(security->owner_sid);
  for (const auto& ace : security->aces) report.acl.push_back(win::ace_text(ace, true));
  const win::AclVerdict verdict = win::evaluate_acl(*security, win::current_user_sid(), win::ObjectKind::folder, path);
  for (const auto& rule : verdict.rules) report.rules.push_back(rule);
  if (verdict.failure && !report.error) report.error = make_error(Code::config_insecure, *verdict.failure);
}

}  // namespace sts::platform
