// File: scoped_handle.h
//
// A move-only owner of a Win32 HANDLE (STYLE 2, after Chromium's base/win/scoped_handle.h).
//
//   ScopedHandle file(::CreateFileW(...));
//   if (!file.valid()) return error(::GetLastError());
//
// - valid() rejects both nullptr and INVALID_HANDLE_VALUE (Win32 uses both as "no handle").
// - Closing preserves GetLastError(), so an error path can close and then report.
// - release() is [[nodiscard]]: dropping its result would leak the handle.
//
// Thread-safety: one ScopedHandle is not shared between threads.
#pragma once

#if !defined(_WIN32)
#error "scoped_handle.h is for Windows; CMake should have picked src/posix"
#endif

#include <windows.h>

#include <utility>

namespace sts::win {

class ScopedHandle {
 public:
  ScopedHandle() noexcept = default;
  explicit ScopedHandle(HANDLE h) noexcept : h_(h) {}
  ScopedHandle(ScopedHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  ScopedHandle& operator=(ScopedHandle&& o) noexcept {
    if (this != &o) reset(std::exchange(o.h_, nullptr));
    return *this;
  }
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  ~ScopedHandle() { reset(); }

  static bool is_valid(HANDLE h) noexcept { return h != nullptr && h != INVALID_HANDLE_VALUE; }
  bool valid() const noexcept { return is_valid(h_); }
  HANDLE get() const noexcept { return h_; }
  [[nodiscard]] HANDLE release() noexcept { return std::exchange(h_, nullptr); }
  void reset(HANDLE h = nullptr) noexcept {
    if (is_valid(h_)) {
      DWORD saved = ::GetLastError();
      ::CloseHandle(h_);
      ::SetLastError(saved);
    }
    h_ = h;
  }

 private:
  HANDLE h_ = nullptr;
};

// LocalFree-owned memory (security descriptors, SID strings from the Convert* APIs).
template <class T>
class ScopedLocal {
 public:
  ScopedLocal() noexcept = default;
  ScopedLocal(const ScopedLocal&) = delete;
  ScopedLocal& operator=(const ScopedLocal&) = delete;
  ~ScopedLocal() {
    if (p_ != nullptr) ::LocalFree(reinterpret_cast<HLOCAL>(p_));
  }
  T* get() const noexcept { return p_; }
  T** out() noexcept { return &p_; }

 private:
  T* p_ = nullptr;
};

}  // namespace sts::win
