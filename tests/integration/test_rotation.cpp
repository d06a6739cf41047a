// SPEC 9 with real backend processes: a checked, hardened backend script that gives new values
// on every run (it counts its runs in a file), driven through a Resolver on a ManualClock, so
// the schedule is exact while every fetch is a real run of the real pipe (check, spawn,
// validation, audit, router). Covers the scheduled refresh with change notifications, the
// startup retry against a store that is not reachable yet, and an `expiration` from the backend.
#include "stsecrets/clock.h"
#include "stsecrets/resolver.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// The backend: reads (and ignores) the request, counts the run in DIR/runs, fails with exit
// status 3 while the run number is at most DIR/fail-until, and otherwise answers new values
// "rotated-db-N" and "rotated-api-N", with DIR/expiration (if present) as db's expiration.
std::string backend_script(const std::string& dir) {
  return "#!/bin/sh\n"
         "cat >/dev/null\n"
         "dir='" + dir + "'\n"
         "n=$(cat \"$dir/runs\" 2>/dev/null || echo 0)\n"
         "n=$((n + 1))\n"
         "echo \"$n\" > \"$dir/runs\"\n"
         "fail_until=$(cat \"$dir/fail-until\" 2>/dev/null || echo 0)\n"
         "if [ \"$n\" -le \"$fail_until\" ]; then echo \"secret store unreachable (run $n)\" >&2; exit 3; fi\n"
         "exp=$(cat \"$dir/expiration\" 2>/dev/null || true)\n"
         "x=''\n"
         "if [ -n \"$exp\" ]; then x=\",\\\"expiration\\\":\\\"$exp\\\"\"; fi\n"
         "printf '{\"db\":{\"value\":\"rotated-db-%s\"%s},\"api\":{\"value\":\"rotated-api-%s\"}}' \"$n\" \"$x\" \"$n\"\n";
}

struct Rotating {
  sts::test::TempDir dir;
  std::shared_ptr<sts::ManualClock> clock = std::make_shared<sts::ManualClock>();   // 2026-01-01T00:00:00Z
  sts::Config config;

  explicit Rotating(std::chrono::milliseconds interval) {
    sts::test::write_file(dir / "backend", backend_script(dir.path()), 0700);
    config = sts::test::executable_config(dir / "backend");
    config.refresh_interval = interval;
    config.refresh_scatter = false;
  }
  sts::ResolverOptions options() const {
    sts::ResolverOptions o;
    o.clock = clock;
    o.refresh_thread = false;
    o.random = [] { return 0.5; };
    return o;
  }
  int runs() const { return std::stoi(sts::test::read_file(dir / "runs")); }
};

bool value_is(sts::Resolver& r, const std::string& handle, std::string_view expected) {
  bool equal = false;
  auto w = r.with_values({handle}, [&](std::string_view, std::string_view v) { equal = v == expected; });
  return w && w->failures.empty() && equal;
}

}  // namespace

TEST_CASE("rotation: a scheduled refresh of a real backend reports new values and notifies every use") {
  Rotating b(seconds(60));
  sts::Resolver r(b.config, b.options());
  const auto start = b.clock->steady_now();
  std::vector<sts::Document> docs{{"conf.d/db.yaml", YAML::Load("password: ENC[db]\n")},
                                  {"conf.d/api.yaml", YAML::Load("token: ENC[api]\nother: ENC[db]\n")}};
  auto report = r.resolve(docs);
  REQUIRE(report);
  REQUIRE(report->failures.empty());
  CHECK(docs[0].root["password"].as<std::string>() == "rotated-db-1");
  CHECK(docs[1].root["token"].as<std::string>() == "rotated-api-1");
  CHECK(b.runs() == 1);

  std::map<std::string, std::vector<sts::HandleUse>> changed;
  auto sub = r.subscribe([&](std::string_view h, const std::vector<sts::HandleUse>& uses) { changed[std::string(h)] = uses; });
  b.clock->advance(seconds(60) - nanoseconds(1));
  CHECK_FALSE(r.refresh_if_due().ran);
  b.clock->advance(nanoseconds(1));
  auto tick = r.refresh_if_due();
  REQUIRE(tick.ran);
  REQUIRE(*tick.result);
  CHECK((*tick.result)->changed == std::vector<std::string>{"api", "db"});
  CHECK(tick.next == start + seconds(120));
  CHECK(b.runs() == 2);
  REQUIRE(changed.size() == 2);
  REQUIRE(changed.at("db").size() == 2);
  CHECK(changed.at("db")[0].origin == "conf.d/db.yaml");
  CHECK(changed.at("db")[0].key_path == "password");
  CHECK(changed.at("db")[1].origin == "conf.d/api.yaml");
  CHECK(changed.at("db")[1].key_path == "other");
  REQUIRE(changed.at("api").size() == 1);
  CHECK(changed.at("api")[0].key_path == "token");
  CHECK(value_is(r, "db", "rotated-db-2"));
  auto again = docs;
  again[0].root = YAML::Load("password: ENC[db]\n");
  REQUIRE(r.resolve(again));
  CHECK(again[0].root["password"].as<std::string>() == "rotated-db-2");
  CHECK(b.runs() == 2);   // from the cache
  const auto s = r.stats();
  CHECK(s.runs == 2);
  CHECK(s.runs_by_backend == std::map<std::string, std::size_t>{{"", 2}});
  CHECK(s.refreshes == 1);
}

TEST_CASE("rotation: the startup retry waits for a secret store that is not reachable yet") {
  Rotating b(std::chrono::milliseconds(0));
  sts::test::write_file(b.dir / "fail-until", "2\n");
  auto options = b.options();
  options.startup_retry = {4, seconds(2), seconds(30)};
  sts::Resolver r(b.config, options);
  CHECK(value_is(r, "db", "rotated-db-3"));
  CHECK(b.runs() == 3);
  // u = 0.5: half of 2 s, then half of 4 s.
  CHECK(b.clock->sleeps() == std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(1000),
                                                                     std::chrono::milliseconds(2000)});
  const auto s = r.stats();
  CHECK(s.startup_retries == 2);
  CHECK(s.failures_by_code.at("backend_exit") == 2);
}

TEST_CASE("rotation: the startup retry gives up after its attempts with the backend's own error") {
  Rotating b(std::chrono::milliseconds(0));
  sts::test::write_file(b.dir / "fail-until", "100\n");
  auto options = b.options();
  options.startup_retry = {3, seconds(1), seconds(30)};
  sts::Resolver r(b.config, options);
  auto w = r.with_values({"db"}, [](std::string_view, std::string_view) {});
  REQUIRE_FALSE(w);
  CHECK(w.error().code == sts::Code::backend_exit);
  CHECK_THAT(w.error().message, Catch::Contains(b.dir / "backend"));
  CHECK(b.runs() == 3);
  CHECK(b.clock->sleeps().size() == 2);
}

TEST_CASE("rotation: a backend's expiration: served until then, renewed at four fifths, fetched again at it") {
  Rotating b(std::chrono::hours(1));
  sts::test::write_file(b.dir / "expiration", "2026-01-01T00:10:00Z\n");
  sts::Resolver r(b.config, b.options());
  const auto start = b.clock->steady_now();
  CHECK(value_is(r, "db", "rotated-db-1"));
  // The refresh is due 8 minutes in (4/5 of the 10 minutes), not at the 1 h interval.
  CHECK(r.refresh_if_due().next == start + minutes(8));
  b.clock->advance(minutes(10) - nanoseconds(1));
  CHECK(value_is(r, "db", "rotated-db-1"));
  CHECK(b.runs() == 1);
  sts::test::write_file(b.dir / "expiration", "2026-01-01T00:20:00Z\n");
  b.clock->advance(nanoseconds(1));   // 00:10:00 exactly: expired
  CHECK(value_is(r, "db", "rotated-db-2"));
  CHECK(b.runs() == 2);
  // A backend that answers with an expiration already past: that handle fails, nothing cached.
  b.clock->advance(minutes(10));
  auto w = r.with_values({"db"}, [](std::string_view, std::string_view) {});
  REQUIRE(w);
  REQUIRE(w->failures.size() == 1);
  CHECK(w->failures[0].error.code == sts::Code::handle_value_invalid);
  CHECK_THAT(w->failures[0].error.message, Catch::Contains("expiration that is not after"));
  CHECK(r.stats().cache_size == 0);
}
