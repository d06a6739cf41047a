// Locked pages for the secure arena on Windows: VirtualAlloc + VirtualLock, SecureZeroMemory.
// Windows writes no core dumps of its own; a crash goes to Windows Error Reporting, whose dumps
// (LocalDumps, or a report) the system's settings decide. Where Windows offers it (Windows 10
// 1709 and later), each region is registered with WerRegisterExcludedMemoryBlock, the analogue of
// MADV_DONTDUMP: WER leaves it out of the dumps it writes. It is looked up at run time, since
// older systems and Wine (8.0) lack it; there the pages are still locked and zeroed before
// release. Windows has no fork(): a child process never inherits this address space.
#if !defined(_WIN32)
#error "memory_lock_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/memory_lock.h"
#include "stsecrets/secure_buffer.h"

#include <windows.h>

namespace sts::platform {
namespace {

// kernel32's WerRegisterExcludedMemoryBlock / WerUnregisterExcludedMemoryBlock, or nullptr.
struct WerExclusion {
  using RegisterFn = HRESULT(WINAPI*)(const void*, DWORD);
  using UnregisterFn = HRESULT(WINAPI*)(const void*);
  RegisterFn add = nullptr;
  UnregisterFn remove = nullptr;

  static const WerExclusion& get() {
    static const WerExclusion instance;
    return instance;
  }

 private:
  WerExclusion() {
    HMODULE kernel32 = ::GetModuleHandleW(L"kernel32.dll");
    if (kernel32 == nullptr) return;
    // Through void(*)() so the compiler accepts the cast from FARPROC.
    add = reinterpret_cast<RegisterFn>(
        reinterpret_cast<void (*)()>(::GetProcAddress(kernel32, "WerRegisterExcludedMemoryBlock")));
    remove = reinterpret_cast<UnregisterFn>(
        reinterpret_cast<void (*)()>(::GetProcAddress(kernel32, "WerUnregisterExcludedMemoryBlock")));
    if (add == nullptr || remove == nullptr) {  // one without the other is of no use
      add = nullptr;
      remove = nullptr;
    }
  }
};

}  // namespace

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
  // Out of WER dumps where the system can (best effort: at most 512 blocks per process).
  if (const auto& wer = WerExclusion::get(); wer.add != nullptr && size <= MAXDWORD) {
    (void)wer.add(p, static_cast<DWORD>(size));
  }
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
  if (const auto& wer = WerExclusion::get(); wer.remove != nullptr) (void)wer.remove(region.base);
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
