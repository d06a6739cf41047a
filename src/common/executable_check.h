// File: executable_check.h
//
// SPEC 5: open the configured executable once, check it and every folder above it, hash it,
// and hand back a VerifiedExecutable that owns the open descriptor (POSIX) or handle (Windows).
// Only a VerifiedExecutable can be run (process.h), so what runs is what was checked.
// POSIX also checks what really runs: a #! script's interpreter chain (and what
// `#!/usr/bin/env NAME` finds in the backend's PATH), an ELF file's loader (PT_INTERP) and its
// DT_RPATH/DT_RUNPATH folders. See docs/executable-rules.md for every rule, message and fix.
//
// SPEC 2: check_config_file applies the same owner/mode/ancestor rules (POSIX) or ACL rules
// (Windows) to the main config file, which decides what runs.
//
//   CheckOptions options{"/opt/backend", false, ""};
//   options.child_path = backend_search_path(config.environment, caller_environment);
//   auto exe = platform::check_executable(options);
//   if (!exe) return exe.error();          // Code::exec_rejected, one line with the fix
//   if (auto st = platform::check_config_file(config_path); !st) return st.error();  // config_insecure
//
// executable_check_posix.cpp: the backend's rules and what it runs; path_rules_posix.cpp: the
// openat(O_PATH|O_NOFOLLOW)/fstat walk and the folder and link rules; exec_format_posix.cpp:
// the #! and ELF readers; config_check_posix.cpp: the config file. OpenSSL SHA-256.
// executable_check_windows.cpp: CreateFileW (share read only), GetSecurityInfo, CNG SHA-256;
// acl_rules.cpp: the DACL rules.
//
// Ownership: VerifiedExecutable is move-only and closes its descriptor/handle.
// Thread-safety: pure function of the file system; VerifiedExecutable is not shared.
#pragma once

#include "stsecrets/check.h"
#include "stsecrets/error.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace sts {

// SPEC 4: the PATH a backend gets unless PATH is allow-listed.
inline constexpr const char* kDefaultBackendPath = "/usr/bin:/bin";

struct CheckOptions {
  std::string path;               // as configured; must be absolute
  bool allow_group_exec = false;  // SPEC 5 POSIX group rule; an error on Windows
  std::string sha256;             // expected lower-case hex, or "" for no pin
  // The PATH the backend will run with (default: SPEC 4's); `#!/usr/bin/env NAME` is checked
  // where env will find NAME in it. Unused on Windows (scripts never run there).
  std::string child_path = kDefaultBackendPath;
};

// The PATH the backend will run with: the caller's PATH when "PATH" is allow-listed and set,
// else kDefaultBackendPath (as platform::child_environment builds it). `caller` nullptr: the
// process environment.
inline std::string backend_search_path(const std::vector<std::string>& allow, const Environment* caller) {
  if (std::find(allow.begin(), allow.end(), "PATH") == allow.end()) return kDefaultBackendPath;
  if (caller != nullptr) {
    const auto it = caller->find("PATH");
    return it != caller->end() ? it->second : std::string(kDefaultBackendPath);
  }
  const char* path = std::getenv("PATH");
  return path != nullptr ? std::string(path) : std::string(kDefaultBackendPath);
}

class VerifiedExecutable {
 public:
  VerifiedExecutable() = default;
  VerifiedExecutable(std::intptr_t native, std::string path, std::string sha256) noexcept
      : native_(native), path_(std::move(path)), sha256_(std::move(sha256)) {}
  VerifiedExecutable(VerifiedExecutable&& o) noexcept
      : native_(o.native_), path_(std::move(o.path_)), sha256_(std::move(o.sha256_)) { o.native_ = kInvalid; }
  VerifiedExecutable& operator=(VerifiedExecutable&& o) noexcept {
    if (this != &o) { reset(); native_ = o.native_; o.native_ = kInvalid; path_ = std::move(o.path_); sha256_ = std::move(o.sha256_); }
    return *this;
  }
  VerifiedExecutable(const VerifiedExecutable&) = delete;
  VerifiedExecutable& operator=(const VerifiedExecutable&) = delete;
  ~VerifiedExecutable() { reset(); }

  // POSIX: the fd; Windows: the HANDLE. Owned by this object.
  std::intptr_t native() const noexcept { return native_; }
  bool valid() const noexcept { return native_ != kInvalid; }
  const std::string& path() const noexcept { return path_; }
  const std::string& sha256() const noexcept { return sha256_; }

  static constexpr std::intptr_t kInvalid = -1;

 private:
  void reset() noexcept;   // platform: close(fd) / CloseHandle, preserving errno
  std::intptr_t native_ = kInvalid;
  std::string path_;
  std::string sha256_;
};

// Checks and opens. On rejection the Error is Code::exec_rejected (or config_invalid for a
// relative path / a Windows group option) with one line: what, the path, what was found, the fix.
// When `report` is given it receives every rule evaluated, for `stsecrets check`.
namespace platform {
Result<VerifiedExecutable> check_executable(const CheckOptions& options, ExecutableReport* report = nullptr);

// SPEC 2: the main config file and every folder above it may be changed only by root or the
// effective user (POSIX: owned by one of them, not writable by group or others, folders sticky
// excepted, links by the rules of SPEC 5; Windows: owner SYSTEM, Administrators or the current
// user, and no other principal may write, append, delete or change its DACL or owner, nor add or
// delete children of a folder above it). A relative path is taken from the working directory.
// Errors: Code::config_insecure (exit 3) with the chmod/chown (icacls) fix, one line;
// Code::config_unreadable when the file is missing or cannot be reached.
// `rules` (optional) receives every rule evaluated, for `stsecrets check`.
Status check_config_file(const std::string& path, std::vector<CheckRule>* rules = nullptr);
}  // namespace platform

}  // namespace sts
