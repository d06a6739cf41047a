// Locked pages for the secure arena on Windows: VirtualAlloc + VirtualLock, SecureZeroMemory.
// Windows writes no core dumps of its own; WER/minidumps are out of scope (SPEC "Attacker 3"
// is addressed by keeping the pages locked and zeroing them before release). Windows has no
// fork(): a child process never inherits this address space, so there is nothing to exclude.
#if !defined(_WIN32)
#error "memory_lock_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/memory_lock.h"
#include "stsecrets/secure_buffer.h"

#include <windows.h>

namespace sts::platform {

std::size_t page_size() noexcept {
  static const std::size_t size = [] {
    SYSTEM_INFO si;
    ::GetSystemInfo(&si);
    return static_cast<std::size_t>(si.dwPageSize);
  }();
  return size;
}

LockedRegion map_locked(std::size_t size) noexcept {
  LockedRegion r;
  void* p = ::VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);  // zero-filled
  if (p == nullptr) return r;
  r.base = p;
  r.size = size;
  if (::VirtualLock(p, size)) {
    r.locked = true;
    return r;
  }
  DWORD e = ::GetLastError();
  if (e == ERROR_WORKING_SET_QUOTA) {
    // The lock limit is the working-set minimum: raise it by this region once and retry.
    SIZE_T min_ws = 0;
    SIZE_T max_ws = 0;
    HANDLE self = ::GetCurrentProcess();
    if (::GetProcessWorkingSetSize(self, &min_ws, &max_ws) &&
        ::SetProcessWorkingSetSize(self, min_ws + size, max_ws + size) && ::VirtualLock(p, size)) {
      r.locked = true;
      return r;
    }
    e = ::GetLastError();
  }
  r.lock_error = static_cast<int>(e);
  return r;
}

void unmap_locked(const LockedRegion& region) noexcept {
  if (region.base == nullptr) return;
  if (region.locked) (void)::VirtualUnlock(region.base, region.size);
  (void)::VirtualFree(region.base, 0, MEM_RELEASE);
}


}  // namespace sts::platform

namespace sts {

// The one secure_zero (stsecrets/secure_buffer.h): a call the optimiser cannot remove.
void secure_zero(void* p, std::size_t n) noexcept {
  if (p != nullptr && n != 0) ::SecureZeroMemory(p, n);
}

}  // namespace sts
