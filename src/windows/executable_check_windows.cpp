// SPEC 5 on Windows: open the backend once (share read only, so nobody can write, rename or
// delete it while we hold it), check the owner and DACL of the held handle and of every folder
// above it, check the PE header, and hash the bytes through the same handle.
// SPEC 2: check_config_file applies the ACL rules to the main config file and its folders.
#if !defined(_WIN32)
#error "executable_check_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/executable_check.h"

#include "windows/acl_rules.h"
#include "windows/folders_above.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <bcrypt.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace sts {

void VerifiedExecutable::reset() noexcept {
  if (native_ != kInvalid) {
    HANDLE h = reinterpret_cast<HANDLE>(native_);
    if (win::ScopedHandle::is_valid(h)) {
      DWORD saved = ::GetLastError();
      ::CloseHandle(h);
      ::SetLastError(saved);
    }
  }
  native_ = kInvalid;
}

namespace {

// Windows hands these to an interpreter (cmd.exe, PowerShell, WSH, ...). cmd.exe's argument
// parsing cannot be escaped safely (CVE-2024-24576), so none of them runs.
constexpr std::array<std::string_view, 18> kScriptExtensions = {
    ".bat", ".cmd", ".ps1", ".psm1", ".py", ".pyw", ".vbs", ".vbe", ".js", ".jse",
    ".wsf", ".wsh", ".sh", ".pl", ".rb", ".hta", ".msc", ".lnk"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_drive_absolute(std::string_view p) {
  return p.size() >= 3 && std::isalpha(static_cast<unsigned char>(p[0])) != 0 && p[1] == ':' && (p[2] == '\\' || p[2] == '/');
}

class Checker {
 public:
  Checker(const CheckOptions& options, ExecutableReport* report) : options_(options) {
    if (report != nullptr) report_ = report;
    report_->path = options.path;
  }

  Result<VerifiedExecutable> run() {
    if (auto e = check_options()) return fail_now(std::move(*e));
    std::string path = options_.path;
    std::replace(path.begin(), path.end(), '/', '\\');
    if (auto e = check_extension(path)) return fail_now(std::move(*e));

    std::wstring wpath = win::to_wide(path);
    // Share read only: while we hold this handle nobody can open the file for writing, and
    // nobody can delete or rename it (no FILE_SHARE_DELETE). CreateProcess opens the image
    // for read/execute with read sharing, which this allows.
    win::ScopedHandle file(::CreateFileW(wpath.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                                         FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!file.valid()) {
      DWORD e = ::GetLastError();
      std::string why = win::system_message(e);
      std::string fix = e == ERROR_SHARING_VIOLATION
                            ? "close the program that has it open for writing, then retry"
                            : "check secret_backend_command and that the current user may read it";
      add("open", false, why, fix, "cannot open backend " + path + ": " + why + ": " + fix, static_cast<int>(e));
      return std::move(*first_error_);
    }
    BY_HANDLE_FILE_INFORMATION fi{};
    if (::GetFileInformationByHandle(file.get(), &fi) && (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      add("regular file", false, "a folder", "point secret_backend_command at the .exe",
          "backend " + path + " is a folder, not an executable: point secret_backend_command at the .exe");
      return std::move(*first_error_);
    }
    add("open", true, "held open, shared for reading only", "", "");

    const std::string user = win::current_user_sid();
    auto info = win::read_security(file.get());
    if (!info) {
      add("dacl", false, info.error().message, "run the check as a user that may read the file's permissions",
          "backend " + path + ": " + info.error().message, info.error().os_error);
    } else {
      report_->owner = info->owner_sid.empty() ? "" : win::account_text(info->owner_sid);
      for (const auto& ace : info->aces) report_->acl.push_back(win::ace_text(ace, false));
      merge(win::evaluate_acl(*info, user, win::ObjectKind::file, path));
    }

    for (auto& verdict : win::folders_above_verdicts(path, file.get(), "the backend")) merge(std::move(verdict));

    check_header_and_hash(file.get(), path);
    if (first_error_) return std::move(*first_error_);
    return VerifiedExecutable(reinterpret_cast<std::intptr_t>(file.release()), options_.path, report_->sha256);
  }

 private:
  std::optional<Error> check_options() {
    const std::string& p = options_.path;
    if (options_.allow_group_exec) {
      return make_error(Code::config_invalid,
                        "secret_backend_command_allow_group_exec_perm: true is a POSIX option and is not supported on "
                        "Windows: set it to false and grant access with icacls instead");
    }
    if (p.empty()) return make_error(Code::config_invalid, "secret_backend_command is empty: set it to the absolute path of the backend .exe");
    if ((p.size() >= 2 && (p[0] == '\\' || p[0] == '/') && (p[1] == '\\' || p[1] == '/'))) {
      return make_error(Code::config_invalid,
                        "secret_backend_command " + p + " is a UNC or device path: copy the backend to a local folder "
                        "and use a drive path such as C:\\Program Files\\stsecrets\\backend.exe");
    }
    if (!is_drive_absolute(p)) {
      return make_error(Code::config_invalid,
                        "secret_backend_command " + p + " is not an absolute path: use a drive path such as "
                        "C:\\Program Files\\stsecrets\\backend.exe");
    }
    std::string norm = p;
    std::replace(norm.begin(), norm.end(), '/', '\\');
    for (std::size_t start = 3; start <= norm.size();) {
      std::size_t end = norm.find('\\', start);
      if (end == std::string::npos) end = norm.size();
      std::string_view part(norm.data() + start, end - start);
      if (part == "." || part == ".." || (part.empty() && end != norm.size())) {
        return make_error(Code::config_invalid, "secret_backend_command " + p +
                                                    " contains '.', '..' or an empty component: write the path out in full");
      }
      start = end + 1;
    }
    return std::nullopt;
  }

  std::optional<Error> check_extension(const std::string& path) {
    std::string name = path.substr(path.find_last_of('\\') + 1);
    std::size_t dot = name.find_last_of('.');
    std::string ext = dot == std::string::npos ? "" : lower(name.substr(dot));
    for (std::string_view s : kScriptExtensions) {
      if (ext == s) {
        std::string msg = "backend " + path + " is a script (" + ext +
                          "): Windows would run it through an interpreter (cmd.exe for .bat/.cmd, whose argument "
                          "parsing cannot be made safe), so only PE executables run: wrap it in an .exe";
        add("executable type", false, "script " + ext, "wrap the script in an .exe", msg);
        return std::move(*first_error_);
      }
    }
    return std::nullopt;
  }

  void check_header_and_hash(HANDLE file, const std::string& path) {
    BCRYPT_ALG_HANDLE alg = nullptr;
    BCRYPT_HASH_HANDLE hash = nullptr;
    if (!BCRYPT_SUCCESS(::BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, nullptr, 0)) ||
        !BCRYPT_SUCCESS(::BCryptCreateHash(alg, &hash, nullptr, 0, nullptr, 0, 0))) {
      if (alg != nullptr) ::BCryptCloseAlgorithmProvider(alg, 0);
      add("sha256", false, "CNG SHA-256 unavailable", "", "cannot hash backend " + path + ": CNG SHA-256 is unavailable");
      return;
    }
    std::vector<unsigned char> head;  // the first 4 KiB, for the PE header
    std::vector<unsigned char> buf(64 * 1024);
    unsigned long long offset = 0;
    bool read_ok = true;
    DWORD read_error = 0;
    while (true) {
      // Positioned reads through the held handle: the same bytes that will run.
      OVERLAPPED ov{};
      ov.Offset = static_cast<DWORD>(offset & 0xffffffffu);
      ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
      DWORD n = 0;
      if (!::ReadFile(file, buf.data(), static_cast<DWORD>(buf.size()), &n, &ov)) {
        DWORD e = ::GetLastError();
        if (e == ERROR_HANDLE_EOF) break;
        read_ok = false;
        read_error = e;
        break;
      }
      if (n == 0) break;
      if (head.size() < 4096) head.insert(head.end(), buf.begin(), buf.begin() + std::min<DWORD>(n, static_cast<DWORD>(4096 - head.size())));
      ::BCryptHashData(hash, buf.data(), n, 0);
      offset += n;
    }
    std::array<unsigned char, 32> digest{};
    ::BCryptFinishHash(hash, digest.data(), static_cast<ULONG>(digest.size()), 0);
    ::BCryptDestroyHash(hash);
    ::BCryptCloseAlgorithmProvider(alg, 0);
    if (!read_ok) {
      std::string why = win::system_message(read_error);
      add("readable", false, why, "grant the current user read access",
          "cannot read backend " + path + ": " + why, static_cast<int>(read_error));
      return;
    }
    // PE: "MZ" at 0, e_lfanew (little-endian u32) at 0x3C, "PE\0\0" there.
    bool pe = false;
    if (head.size() >= 0x40 && head[0] == 'M' && head[1] == 'Z') {
      std::uint32_t lfanew = static_cast<std::uint32_t>(head[0x3C]) | static_cast<std::uint32_t>(head[0x3D]) << 8 |
                             static_cast<std::uint32_t>(head[0x3E]) << 16 | static_cast<std::uint32_t>(head[0x3F]) << 24;
      pe = lfanew + 4u <= head.size() && lfanew >= 0x40 && std::memcmp(head.data() + lfanew, "PE\0\0", 4) == 0;
    }
    add("PE executable", pe, pe ? "MZ + PE header" : "no PE header", "build the backend as a Windows .exe, or wrap the script in one",
        "backend " + path + " is not a Windows executable (no MZ/PE header): build it as an .exe, or wrap the script in one");

    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : digest) {
      hex.push_back(kHex[b >> 4]);
      hex.push_back(kHex[b & 15]);
    }
    report_->sha256 = hex;
    if (!options_.sha256.empty()) {
      bool ok = lower(options_.sha256) == hex;
      add("sha256 pin", ok, ok ? hex : "got " + hex + ", want " + options_.sha256,
          "restore the expected file, or update secret_backend_command_sha256 to " + hex,
          "backend " + path + " has SHA-256 " + hex + ", not the pinned " + options_.sha256 +
              ": restore the expected file, or update secret_backend_command_sha256 if the change is intended");
    }
  }

  void merge(win::AclVerdict verdict) {
    for (auto& r : verdict.rules) report_->rules.push_back(std::move(r));
    if (verdict.failure && !first_error_) {
      first_error_ = make_error(Code::exec_rejected, std::move(*verdict.failure));
      report_->error = first_error_;
    }
  }

  void add(const std::string& name, bool ok, const std::string& detail, const std::string& fix,
           const std::string& message, int os_error = 0) {
    report_->rules.push_back(CheckRule{name, ok, detail, ok ? std::string() : fix});
    if (!ok && !first_error_) {
      first_error_ = make_error(Code::exec_rejected, message, os_error);
      report_->error = first_error_;
    }
  }

  Error fail_now(Error e) {
    if (report_->rules.empty() || report_->rules.back().ok) {
      report_->rules.push_back(CheckRule{"path", false, e.message, ""});
    }
    report_->error = e;
    return e;
  }

  const CheckOptions& options_;
  ExecutableReport own_report_;
  ExecutableReport* report_ = &own_report_;
  std::optional<Error> first_error_;
};

}  // namespace

Result<VerifiedExecutable> platform::check_executable(const CheckOptions& options, ExecutableReport* report) {
  return Checker(options, report).run();
}

// SPEC 2: the config file by the ACL rules for ObjectKind::config, every folder above it by the
// folder rules (nobody else may add or delete children).
Status platform::check_config_file(const std::string& path, std::vector<CheckRule>* rules) {
  if (path.empty()) {
    return make_error(Code::config_unreadable, "the config file path is empty: pass the config file with --config");
  }
  const std::wstring given = win::to_wide(path);
  std::vector<wchar_t> full(32768);
  const DWORD n = ::GetFullPathNameW(given.c_str(), static_cast<DWORD>(full.size()), full.data(), nullptr);
  if (n == 0 || n >= full.size()) {
    const DWORD e = ::GetLastError();
    return make_error(Code::config_unreadable,
                      "cannot check config file " + path + ": " + win::system_message(e) + ": pass an absolute --config",
                      static_cast<int>(e));
  }
  const std::string absolute = win::to_utf8(std::wstring(full.data(), n));
  std::vector<CheckRule> local;
  std::vector<CheckRule>& out = rules != nullptr ? *rules : local;
  std::optional<Error> error;
  auto merge = [&](win::AclVerdict verdict) {
    for (auto& r : verdict.rules) out.push_back(std::move(r));
    if (verdict.failure && !error) error = make_error(Code::config_insecure, std::move(*verdict.failure));
  };

  // READ_CONTROL only, sharing everything: the loader reads the config later, by name.
  win::ScopedHandle file(::CreateFileW(win::to_wide(absolute).c_str(), READ_CONTROL,
                                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                                       FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!file.valid()) {
    const DWORD e = ::GetLastError();
    const bool missing = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND;
    const std::string why = missing ? "does not exist" : "cannot be opened (" + win::system_message(e) + ")";
    out.push_back(CheckRule{"config file " + absolute, false, why, "pass the right file with --config"});
    return make_error(Code::config_unreadable,
                      "config file " + absolute + " " + why + ": pass the right file with --config", static_cast<int>(e));
  }
  BY_HANDLE_FILE_INFORMATION fi{};
  if (::GetFileInformationByHandle(file.get(), &fi) && (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    out.push_back(CheckRule{"config file " + absolute, false, "a folder", "pass the config file with --config"});
    return make_error(Code::config_unreadable,
                      "config file " + absolute + " is a folder, not a file: pass the config file with --config");
  }
  const std::string user = win::current_user_sid();
  auto info = win::read_security(file.get());
  if (!info) {
    out.push_back(CheckRule{"config file " + absolute, false, info.error().message,
                            "run the check as a user that may read its permissions"});
    return make_error(Code::config_insecure, "config file " + absolute + ": " + info.error().message,
                      info.error().os_error);
  }
  merge(win::evaluate_acl(*info, user, win::ObjectKind::config, absolute));
  for (auto& verdict : win::folders_above_verdicts(absolute, file.get(), "the config file")) merge(std::move(verdict));
  if (error) return *error;
  return ok();
}

}  // namespace sts
