// SPEC 4 "Run the checked file": the fetcher's test seam pauses between the executable check and
// the spawn; the test swaps the file at the configured path for another one, and the bytes that
// were checked (and hashed) are what runs.
#include "stsecrets/resolver.h"
#include "common/test_hooks.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <cstdio>

namespace {

std::string backend_script(const std::string& value) {
  return "#!/bin/sh\ncat >/dev/null\nprintf '{\"h\":{\"value\":\"%s\"}}' '" + value + "'\n";
}

}  // namespace

TEST_CASE("replacing the backend between check and exec changes nothing: the checked file runs") {
  sts::test::TempDir dir;
  const std::string path = dir / "backend";
  sts::test::write_file(path, backend_script("from-checked-file"), 0700);

  const sts::Config cfg = sts::test::executable_config(path);
  bool swapped = false;
  sts::test_hooks::set_after_check([&] {
    // An attacker's replacement, renamed over the path after the check.
    sts::test::write_file(dir / "evil", backend_script("from-swapped-file"), 0700);
    swapped = std::rename((dir / "evil").c_str(), path.c_str()) == 0;
  });
  sts::Resolver resolver(cfg);
  std::string got;
  auto r = resolver.with_values({"h"}, [&](std::string_view, std::string_view v) { got = v; });
  sts::test_hooks::set_after_check({});
  REQUIRE(swapped);
  REQUIRE(r);
  REQUIRE(r->failures.empty());
  CHECK(got == "from-checked-file");

  // A new run checks the new file (owned and moded correctly) and runs it.
  sts::Resolver fresh(cfg);
  auto r2 = fresh.with_values({"h"}, [&](std::string_view, std::string_view v) { got = v; });
  REQUIRE(r2);
  CHECK(got == "from-swapped-file");
}

TEST_CASE("a swap to a file that fails the checks is refused on the next run, not executed") {
  sts::test::TempDir dir;
  const std::string path = dir / "backend";
  sts::test::write_file(path, backend_script("ok"), 0700);
  const sts::Config cfg = sts::test::executable_config(path);
  sts::test::write_file(dir / "evil", backend_script("evil"), 0777);
  REQUIRE(std::rename((dir / "evil").c_str(), path.c_str()) == 0);
  sts::Resolver resolver(cfg);
  auto r = resolver.with_values({"h"}, [](std::string_view, std::string_view) {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == sts::Code::exec_rejected);
  CHECK_THAT(r.error().message, Catch::Contains("group and others have rights on " + path + " (mode 0777)"));
}
