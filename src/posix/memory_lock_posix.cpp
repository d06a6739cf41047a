// Locked, dump-excluded pages for the secure arena on POSIX.
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
