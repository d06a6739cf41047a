// Locked pages for the secure arena on POSIX, excluded from core dumps and from forked children.
//
// Fork exclusion (SPEC 6): a child made by fork() gets a copy of every private mapping, secrets
// included, and keeps it after the parent zeroes its own. Linux 4.14+ honours MADV_WIPEONFORK: the
// child sees zero-filled pages at the same addresses, so the arena's bookkeeping it inherited stays
// consistent and inherited SecureBuffers merely read as zeros. Older kernels get MADV_DONTFORK: the
// range is not mapped in the child at all, so a child must not touch inherited SecureBuffers (exec
// or _exit, as fork children should). A vfork-style spawn (CLONE_VM) shares the parent's memory
// until exec, which neither advice affects, and which is fine: the child never reads the arena.
// Other POSIX systems have neither advice and get no fork exclusion.
#if defined(_WIN32)
#error "memory_lock_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/memory_lock.h"
#include "stsecrets/secure_buffer.h"

#include <cerrno>
#include <cstring>
#include <string.h>  // explicit_bzero
#include <sys/mman.h>
#include <unistd.h>

namespace sts::platform {

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

namespace {

// See the banner. EINVAL from MADV_WIPEONFORK means a kernel older than 4.14.
void exclude_from_fork(void* p, std::size_t size) noexcept {
#if defined(MADV_WIPEONFORK)
  if (::madvise(p, size, MADV_WIPEONFORK) == 0) return;
#endif
#if defined(MADV_DONTFORK)
  (void)::madvise(p, size, MADV_DONTFORK);
#else
  (void)p;
  (void)size;
#endif
}

}  // namespace

LockedRegion map_locked(std::size_t size) noexcept {
  LockedRegion r;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return r;
  r.base = p;
  r.size = size;
#if defined(MADV_DONTDUMP)
  // Keep secrets out of core dumps even when the lock below is refused.
  (void)::madvise(p, size, MADV_DONTDUMP);
#endif
  exclude_from_fork(p, size);
  if (::mlock(p, size) == 0) {
    r.locked = true;
  } else {
    r.lock_error = errno;
  }
  return r;
}

void unmap_locked(const LockedRegion& region) noexcept {
  if (region.base == nullptr) return;
  if (region.locked) (void)::munlock(region.base, region.size);
  (void)::munmap(region.base, region.size);
}


}  // namespace sts::platform

namespace sts {

// The one secure_zero (stsecrets/secure_buffer.h): a call the optimiser cannot remove.
void secure_zero(void* p, std::size_t n) noexcept {
  if (p != nullptr && n != 0) ::explicit_bzero(p, n);
}

}  // namespace sts
