// File: memory_lock.h
//
// The platform hook under the secure arena (secure_arena.cpp): map a region the OS will keep in
// RAM, out of core dumps and out of forked children, and give it back. The platform file also
// implements sts::secure_zero (stsecrets/secure_buffer.h): explicit_bzero / SecureZeroMemory.
// memory_lock_posix.cpp uses mmap + mlock + MADV_DONTDUMP + MADV_WIPEONFORK (else
// MADV_DONTFORK); memory_lock_windows.cpp uses VirtualAlloc + VirtualLock (Windows has no fork).
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>

namespace sts::platform {

struct LockedRegion {
  void* base = nullptr;
  std::size_t size = 0;
  bool locked = false;     // false: mapped, but the lock was refused (limit too small)
  int lock_error = 0;      // errno / GetLastError() of the refused lock
};

std::size_t page_size() noexcept;
// Maps size bytes (a multiple of page_size()), zero-filled, excluded from dumps and forked
// children where the platform can, and tries to lock them.
// Returns base == nullptr when even the mapping fails.
LockedRegion map_locked(std::size_t size) noexcept;
// The caller has zeroed the region; this unlocks and unmaps it.
void unmap_locked(const LockedRegion& region) noexcept;

}  // namespace sts::platform
