// The one locked arena behind every SecureBuffer (SPEC 6, STYLE 9).
//
// Chunks are mapped through the platform hook (memory_lock.h): locked, excluded from dumps and
// from forked children. Blocks are handed out first-fit from a per-chunk free map, zeroed when
// they come back, and coalesced with their free neighbours. A chunk that becomes empty is
// unmapped (the first one is kept to avoid map/unmap churn).
//
// Density (locked bytes per secret byte), the figure bench/ row 5 measures:
//   - Blocks are rounded to 8-byte units. With 16-byte units an 8-byte value (a short password,
//     a PIN, most of bench/'s values) took twice its size before any chunk slack.
//   - Each new small chunk is half of what the small chunks map already (at least 16 KiB, at
//     most 64 MiB), so the arena grows by 1.5x per step. With doubling, the newest chunk could
//     be as large as everything before it: 10,000 x 8-byte values mapped 256 KiB for 78 KiB
//     (3.28x). Now a filled arena maps at most about 1.5x what it holds, plus the first chunk:
//     1.38x for 10,000 x 8-byte values, 1.17x for 10,000 x 32-byte values (1.64x before).
//   - Blocks of 16 KiB and more (pipe buffers, big values) get a mapping of their own, page-
//     rounded and unmapped when freed: a 1 MiB value locks 1 MiB (plus the first chunk).
// Still one arena with few mappings (about 20 for 64 MiB), never a lock per secret:
// RLIMIT_MEMLOCK is often 64 KiB in containers.
#include "stsecrets/secure_buffer.h"

#include "common/log.h"
#include "common/memory_lock.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace sts {
namespace {

// Blocks are rounded to this many bytes (see the banner: density).
constexpr std::size_t kUnit = 8;
constexpr std::size_t kFirstChunk = 16 * 1024;
// Blocks this large (pipe buffers, big values) get a mapping of their own, unmapped when freed,
// so short-lived buffers never pin a chunk that small long-lived values then land in.
constexpr std::size_t kLarge = 16 * 1024;
constexpr std::size_t kMaxChunk = std::size_t{64} << 20;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

struct Chunk {
  platform::LockedRegion region;
  std::map<std::size_t, std::size_t> free;  // offset -> size, coalesced
  std::size_t in_use = 0;
  bool dedicated = false;  // one large block
  char* base() const { return static_cast<char*>(region.base); }
  bool contains(const char* p) const { return p >= base() && p < base() + region.size; }
};

class Arena {
 public:
  static Arena& instance() {
    // Leaked on purpose: buffers in static objects may be released after main returns.
    static Arena* arena = new Arena();
    return *arena;
  }

  char* allocate(std::size_t n) {
    if (n > (std::size_t{1} << 40)) throw std::bad_alloc();  // also keeps round_up from overflowing
    n = round_up(std::max<std::size_t>(n, 1), kUnit);
    std::string warning;
    char* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool large = n >= kLarge;
      std::size_t small_mapped = 0;
      for (auto& c : chunks_) {
        if (c.dedicated) continue;
        if (!large && (p = take(c, n)) != nullptr) return p;
        small_mapped += c.region.size;
      }
      // Small chunks grow by half of what is mapped now (not with a counter that keeps growing
      // across map/unmap cycles); a large block gets exactly its pages.
      std::size_t want = large ? n : std::max(kFirstChunk, std::min(small_mapped / 2, kMaxChunk));
      want = round_up(want, platform::page_size());
      platform::LockedRegion r = platform::map_locked(want);
      if (r.base == nullptr) throw std::bad_alloc();
      if (!r.locked) {
        if (!warned_) {
          warned_ = true;
          warning = "secure memory could not be locked (" + std::to_string(r.size) + " bytes refused, errno " +
                    std::to_string(r.lock_error) +
                    "): secrets may be swapped to disk; raise RLIMIT_MEMLOCK (ulimit -l) to restore protection";
        }
        degraded_ = true;
      }
      Chunk c;
      c.dedicated = large;
      c.region = r;
      c.free.emplace(0, r.size);
      chunks_.push_back(std::move(c));
      p = take(chunks_.back(), n);
    }
    // Logged after the lock is gone: the log sink scrubs through the caches, whose locks may be
    // held by a thread that is waiting for this arena (lock order cache -> arena only).
    if (!warning.empty()) {
      try {
        log::warn(warning);
      } catch (...) {
        // The allocation succeeded; a lost warning must not leak the block.
      }
    }
    return p;
  }

  void deallocate(char* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    n = round_up(std::max<std::size_t>(n, 1), kUnit);
    secure_zero(p, n);
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < chunks_.size(); ++i) {
      Chunk& c = chunks_[i];
      if (!c.contains(p)) continue;
      give_back(c, static_cast<std::size_t>(p - c.base()), n);
      if (c.in_use == 0 && (c.dedicated || i != first_small())) {
        platform::unmap_locked(c.region);
        chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      return;
    }
  }

  ArenaStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    ArenaStats s;
    for (const auto& c : chunks_) {
      s.mapped_bytes += c.region.size;
      if (c.region.locked) s.locked_bytes += c.region.size;
      s.in_use_bytes += c.in_use;
    }
    s.degraded = degraded_;
    return s;
  }

 private:
  // The first small chunk is kept when empty, to avoid map/unmap churn for small values.
  std::size_t first_small() const {
    for (std::size_t i = 0; i < chunks_.size(); ++i) {
      if (!chunks_[i].dedicated) return i;
    }
    return chunks_.size();
  }

  static char* take(Chunk& c, std::size_t n) {
    for (auto it = c.free.begin(); it != c.free.end(); ++it) {
      if (it->second < n) continue;
      std::size_t off = it->first;
      std::size_t rest = it->second - n;
      c.free.erase(it);
      if (rest != 0) c.free.emplace(off + n, rest);
      c.in_use += n;
      return c.base() + off;
    }
    return nullptr;
  }

  static void give_back(Chunk& c, std::size_t off, std::size_t n) {
    c.in_use -= n;
    auto next = c.free.lower_bound(off);
    if (next != c.free.end() && off + n == next->first) {
      n += next->second;
      next = c.free.erase(next);
    }
    if (next != c.free.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == off) {
        prev->second += n;
        return;
      }
    }
    c.free.emplace(off, n);
  }

  std::mutex mu_;
  std::vector<Chunk> chunks_;
  bool warned_ = false;
  bool degraded_ = false;
};

}  // namespace

bool secure_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

ArenaStats arena_stats() noexcept { return Arena::instance().stats(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

SecureBuffer::~SecureBuffer() { release(); }

void SecureBuffer::reserve(std::size_t capacity) {
  if (capacity <= capacity_) return;
  std::size_t grown = std::max(capacity, capacity_ + capacity_ / 2);
  char* fresh = Arena::instance().allocate(grown);
  if (size_ != 0) std::memcpy(fresh, data_, size_);
  Arena::instance().deallocate(data_, capacity_);  // zeroes the old block
  data_ = fresh;
  capacity_ = round_up(std::max<std::size_t>(grown, 1), kUnit);
}

void SecureBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (spare_size() < bytes.size()) reserve(size_ + bytes.size());
  std::memcpy(data_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

void SecureBuffer::commit(std::size_t n) noexcept {
  size_ += std::min(n, spare_size());
}

void SecureBuffer::truncate(std::size_t new_size) noexcept {
  if (new_size >= size_) return;
  secure_zero(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

void SecureBuffer::clear() noexcept { truncate(0); }

void SecureBuffer::release() noexcept {
  if (data_ != nullptr) Arena::instance().deallocate(data_, capacity_);
  data_ = nullptr;
  size_ = capacity_ = 0;
}

}  // namespace sts
