// SPEC 6, end to end on Linux: secrets fetched through a REAL backend run (pipe read buffer,
// strict validator, cache) leave no copy in this process once the cache is cleared. The scan
// covers every readable mapping of the process (/proc/self/maps + /proc/self/mem).
//
// The control case plants one copy in an ordinary std::string and shows the scan finds it, so a
// zero count means "not there", not "not looked for".
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <sys/stat.h>

#include <vector>

namespace {

// A fresh copy of the fake backend, root-owned 0700 in a 0700 folder: passes SPEC 5.
struct Backend {
  sts::test::TempDir dir;
  std::string path = dir / "backend";
  Backend() { sts::test::write_file(path, sts::test::read_file(STS_FAKE_BACKEND), 0700); }
  sts::Config config(const std::string& mode) const {
    sts::Config cfg = sts::test::executable_config(path);
    sts::test::exec_of(cfg).arguments = {mode};
    sts::test::exec_of(cfg).timeout = std::chrono::seconds(20);
    return cfg;
  }
};

// The fake backend answers "val-<handle>". The test holds that value only masked: the needle is
// masked from its two fragments byte by byte, and the scanner compares masked, byte by byte, so
// no plain copy of the test's own (a std::string, or a vector register that memcmp filled and a
// later XSAVE spilled onto the stack) can be found or mistaken for the library's.
sts::test::MaskedNeedle needle_for(const std::string& handle) { return sts::test::MaskedNeedle({"val-", handle}); }
std::size_t hits(const std::string& handle) { return sts::test::count_in_own_memory(needle_for(handle)); }

const std::vector<std::string> kHandles{"rz-alpha-41", "rz-beta-97", "rz-gamma-13"};

}  // namespace

TEST_CASE("after clear(), no copy of a secret fetched through a real backend run remains in memory") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan (shadow memory, quarantine): see tests/support/test_support.h");
    return;
  }
  Backend backend;
  sts::Resolver resolver(backend.config("respond"));
  std::size_t seen = 0;
  auto r = resolver.with_values(kHandles, [&](std::string_view h, std::string_view v) {
    if (v.size() == 4 + h.size()) ++seen;
  });
  REQUIRE(r);
  REQUIRE(r->failures.empty());
  REQUIRE(seen == kHandles.size());
  REQUIRE(resolver.stats().runs == 1);
  resolver.clear();
  for (const auto& h : kHandles) {
    INFO("handle " << h);
    CHECK(hits(h) == 0);
  }
}

TEST_CASE("no residue when the backend also echoes the secrets to stderr and logs run at trace") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan (shadow memory, quarantine): see tests/support/test_support.h");
    return;
  }
  Backend backend;
  std::size_t lines = 0;
  sts::set_log_level(sts::LogLevel::trace);
  sts::set_log_callback([&](sts::LogLevel, std::string_view) { ++lines; });
  {
    sts::Resolver resolver(backend.config("echo-secret-to-stderr"));
    auto r = resolver.with_values(kHandles, [](std::string_view, std::string_view) {});
    REQUIRE(r);
    REQUIRE(r->failures.empty());
    resolver.clear();
  }
  sts::set_log_callback({});
  sts::set_log_level(sts::LogLevel::warn);
  CHECK(lines > 0);
  for (const auto& h : kHandles) {
    INFO("handle " << h);
    CHECK(hits(h) == 0);
  }
}

TEST_CASE("control: the scan finds a planted copy of a fetched secret") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan (shadow memory, quarantine): see tests/support/test_support.h");
    return;
  }
  Backend backend;
  sts::Resolver resolver(backend.config("respond"));
  // An ordinary heap copy, as a careless consumer would make; copied byte by byte so that no
  // vector register holds the whole value afterwards.
  std::vector<char> planted;
  auto r = resolver.with_values({kHandles[0]}, [&](std::string_view, std::string_view v) {
    planted.resize(v.size());
    volatile char* dst = planted.data();
    for (std::size_t i = 0; i < v.size(); ++i) dst[i] = v[i];
  });
  REQUIRE(r);
  resolver.clear();
  CHECK(hits(kHandles[0]) == 1);
  sts::secure_zero(planted.data(), planted.size());
  CHECK(hits(kHandles[0]) == 0);
}

// Run only by the ctest entry that preloads tests/support/no_zero_shim.cpp (explicit_bzero as a
// no-op): without zeroing, the same scan must find the secrets.
TEST_CASE("negative control: with zeroing disabled the scan finds the secrets", "[.no-zero]") {
  REQUIRE(dlsym(RTLD_DEFAULT, "sts_no_zero_shim_active") != nullptr);
  Backend backend;
  sts::Resolver resolver(backend.config("respond"));
  auto r = resolver.with_values(kHandles, [](std::string_view, std::string_view) {});
  REQUIRE(r);
  resolver.clear();
  for (const auto& h : kHandles) {
    INFO("handle " << h);
    CHECK(hits(h) >= 1);
  }
}
