// File: unique_fd.h
//
// The one move-only owner of a POSIX file descriptor (STYLE 2; the mirror of
// src/windows/scoped_handle.h), after Chromium's base/files/scoped_file.h and folly's File.
//
//   posix::UniqueFd fd(::openat(dir, name, O_RDONLY | O_CLOEXEC));
//   if (!fd.valid()) return error(errno);      // closing never clobbers errno
//
// - valid() is fd >= 0; the default is -1.
// - Closing preserves errno, so an error path can close and then report.
// - release() is [[nodiscard]]: dropping its result would leak the descriptor.
//
// Thread-safety: one UniqueFd is not shared between threads.
#pragma once

#if defined(_WIN32)
#error "unique_fd.h is for POSIX; Windows code uses src/windows/scoped_handle.h"
#endif

#include <cerrno>
#include <utility>

#include <unistd.h>

namespace sts::posix {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) {
      const int saved = errno;
      (void)::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace sts::posix
