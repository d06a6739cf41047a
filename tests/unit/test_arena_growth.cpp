// Regression: repeated backend runs must not grow the locked arena. Each run allocates a large
// short-lived pipe buffer; an earlier version doubled its next chunk size on every such cycle and
// ended up mapping and mlock-ing 64 MiB per run (found by bench/).
#include "stsecrets/secure_buffer.h"

#include <catch2/catch.hpp>

TEST_CASE("large short-lived buffers get their own mapping and leave nothing behind") {
  const sts::ArenaStats before = sts::arena_stats();
  for (int run = 0; run < 50; ++run) {
    sts::SecureBuffer pipe_buffer;
    pipe_buffer.reserve(64 * 1024);
    pipe_buffer.append("{\"h\":{\"value\":\"v\"}}");
    sts::SecureBuffer value("v-small");
    const sts::ArenaStats during = sts::arena_stats();
    // The 64 KiB block plus at most one small chunk: never a mapping that grows run after run.
    CHECK(during.mapped_bytes <= before.mapped_bytes + 64 * 1024 + 16 * 1024 + 4096);
  }
  const sts::ArenaStats after = sts::arena_stats();
  CHECK(after.mapped_bytes <= before.mapped_bytes + 16 * 1024);
  CHECK(after.in_use_bytes == before.in_use_bytes);
}

TEST_CASE("small values share chunks that grow with what is held") {
  const sts::ArenaStats before = sts::arena_stats();
  std::vector<sts::SecureBuffer> held;
  for (int i = 0; i < 10000; ++i) held.emplace_back("secret-value-" + std::to_string(i));
  const sts::ArenaStats during = sts::arena_stats();
  const std::size_t used = during.in_use_bytes - before.in_use_bytes;
  CHECK(used >= 10000 * 16);
  // Geometric growth: what is mapped stays within about twice what is in use.
  CHECK(during.mapped_bytes - before.mapped_bytes <= 2 * used + 64 * 1024);
  held.clear();
  CHECK(sts::arena_stats().in_use_bytes == before.in_use_bytes);
}
