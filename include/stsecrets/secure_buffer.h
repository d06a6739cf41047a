// File: stsecrets/secure_buffer.h
//
// Secret bytes live only in SecureBuffer. Its storage comes from one process-wide locked arena
// (mlock + MADV_DONTDUMP on Linux, VirtualLock on Windows): one arena, never a page per secret
// (STYLE 9; Telegraf's memguard exhausted RLIMIT_MEMLOCK that way). Storage is zeroed before it
// goes back to the arena, on every path: destruction, clear(), growth, move-assignment.
//
//   sts::SecureBuffer b;
//   b.append("s3cr3t");
//   use(b.view());          // a view, valid until b changes
//   b.clear();              // zeroed now, not later
//
// When RLIMIT_MEMLOCK is too small the arena keeps working with unlocked pages and warns once
// (see arena_stats().degraded).
//
// Ownership: move-only. Thread-safety: one SecureBuffer is not thread-safe; the arena is.
#pragma once

#include <cstddef>
#include <string_view>

namespace sts {

class SecureBuffer {
 public:
  SecureBuffer() noexcept = default;
  explicit SecureBuffer(std::string_view bytes) { append(bytes); }
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  ~SecureBuffer();

  void append(std::string_view bytes);
  void push_back(char c) { append(std::string_view(&c, 1)); }
  // Makes the total capacity at least `capacity` bytes (like std::string::reserve, not "n
  // more"); spare()/spare_size() then describe the room after size(). Growth copies into new
  // arena storage and zeroes the old block.
  void reserve(std::size_t capacity);
  char* spare() noexcept { return data_ + size_; }
  std::size_t spare_size() const noexcept { return capacity_ - size_; }
  // Marks n bytes written into spare() as part of the contents.
  void commit(std::size_t n) noexcept;
  // Drops the last n bytes, zeroing them.
  void truncate(std::size_t new_size) noexcept;
  // Zeroes the contents and keeps the storage.
  void clear() noexcept;
  // Zeroes and returns the storage to the arena.
  void release() noexcept;
  SecureBuffer copy() const { return SecureBuffer(view()); }

  std::string_view view() const noexcept { return {data_ ? data_ : "", size_}; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Constant-time comparison (the time depends on the lengths only).
bool secure_equal(std::string_view a, std::string_view b) noexcept;

// Zeroes memory in a way the compiler cannot elide.
void secure_zero(void* p, std::size_t n) noexcept;

struct ArenaStats {
  std::size_t mapped_bytes = 0;   // bytes the arena holds from the OS
  std::size_t locked_bytes = 0;   // of those, bytes actually locked in RAM
  std::size_t in_use_bytes = 0;   // bytes handed out to live buffers
  bool degraded = false;          // a lock failed: protection is degraded (warned once)
};
ArenaStats arena_stats() noexcept;

}  // namespace sts
