// File: executable_check.h
//
// SPEC 5: open the configured executable once, check it and every folder above it, hash it,
// and hand back a VerifiedExecutable that owns the open descriptor (POSIX) or handle (Windows).
// Only a VerifiedExecutable can be run (process.h), so what runs is what was checked.
//
//   auto exe = check_executable({.path = "/opt/backend", .allow_group_exec = false});
//   if (!exe) return exe.error();          // Code::exec_rejected, one line with the fix
//
// executable_check_posix.cpp: open(O_PATH|O_NOFOLLOW...)/fstat/openat walk, OpenSSL SHA-256.
// executable_check_windows.cpp: CreateFileW (share read only), GetSecurityInfo, CNG SHA-256.
//
// Ownership: VerifiedExecutable is move-only and closes its descriptor/handle.
// Thread-safety: pure function of the file system; VerifiedExecutable is not shared.
#pragma once

#include "stsecrets/check.h"
#include "stsecrets/error.h"

#include <cstdint>
#include <string>

namespace sts {

struct CheckOptions {
  std::string path;               // as configured; must be absolute
  bool allow_group_exec = false;  // SPEC 5 POSIX group rule; an error on Windows
  std::string sha256;             // expected lower-case hex, or "" for no pin
};

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
}  // namespace platform

}  // namespace sts
