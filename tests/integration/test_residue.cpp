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

// The fake backend answers "val-<handle>". The needle is assembled in place in a buffer whose
// own bytes the scan skips.
struct Needle {
  std::string bytes;
  explicit Needle(const std::string& handle) {
    bytes.reserve(64);
    bytes += "val-";
    bytes += handle;
  }
  std::size_t hits() const { return sts::test::count_in_own_memory(bytes, bytes.data(), bytes.capacity()); }
};

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
    Needle n(h);
    INFO("handle " << h);
    CHECK(n.hits() == 0);
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
    Needle n(h);
    INFO("handle " << h);
    CHECK(n.hits() == 0);
  }
}

TEST_CASE("control: the scan finds a planted copy of a fetched secret") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan (shadow memory, quarantine): see tests/support/test_support.h");
    return;
  }
  Backend backend;
  sts::Resolver resolver(backend.config("respond"));
  std::string planted;   // an ordinary heap copy, as a careless consumer would make
  auto r = resolver.with_values({kHandles[0]}, [&](std::string_view, std::string_view v) { planted.assign(v); });
  REQUIRE(r);
  resolver.clear();
  Needle n(kHandles[0]);
  CHECK(n.hits() >= 1);
  sts::secure_zero(planted.data(), planted.size());
  CHECK(n.hits() == 0);
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
  std::size_t total = 0;
  for (const auto& h : kHandles) total += Needle(h).hits();
  CHECK(total >= kHandles.size());
}
