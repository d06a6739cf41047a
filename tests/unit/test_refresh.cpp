// The refresh schedule (refresh_schedule.h) and the Resolver driving it (SPEC 9 "Refresh"):
// scatter, interval, full-jitter backoff capped at the interval, renewal before expiry, and the
// Resolver's own refresh thread. Everything but the thread tests runs on a ManualClock with a
// fixed random source, so every due time is checked to the millisecond.
#include "common/refresh_schedule.h"
#include "stsecrets/clock.h"
#include "stsecrets/resolver.h"
#include "support/configs.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Values "value-<handle>-<run>", new on every run; optional lifetimes and whole-run failures.
struct CountingFetcher : sts::Fetcher {
  std::shared_ptr<sts::Clock> clock;
  std::map<std::string, std::chrono::nanoseconds> ttl;                     // lifetime from the run
  std::map<std::string, std::chrono::system_clock::time_point> fixed;      // a fixed expiration
  std::atomic<int> fail_runs{0};
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;

  sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
    std::lock_guard<std::mutex> lock(mu);
    const int run = ++calls;
    cv.notify_all();
    if (fail_runs > 0) {
      --fail_runs;
      return sts::make_error(sts::Code::backend_exit, "the backend /opt/fake exited with status 3");
    }
    sts::FetchResult r;
    for (const auto& h : handles) {
      r.values.emplace(h, sts::SecureBuffer("value-" + h + "-" + std::to_string(run)));
      if (auto t = ttl.find(h); t != ttl.end()) {
        r.expirations.emplace(h, clock->now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(t->second));
      }
      if (auto x = fixed.find(h); x != fixed.end()) r.expirations.emplace(h, x->second);
    }
    return r;
  }
  int runs() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  // Waits (bounded) until `n` runs have happened; a handshake, not a sleep.
  bool wait_for_runs(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, seconds(20), [&] { return calls >= n; });
  }
};

struct Setup {
  std::shared_ptr<sts::ManualClock> clock = std::make_shared<sts::ManualClock>();
  CountingFetcher* fetcher = nullptr;
  std::unique_ptr<sts::Resolver> resolver;
  TimePoint start;

  Setup(milliseconds interval, bool scatter, double u = 0.5, milliseconds retry_base = seconds(1)) {
    sts::Config cfg = sts::test::executable_config("/opt/fake");
    cfg.refresh_interval = interval;
    cfg.refresh_scatter = scatter;
    auto f = std::make_unique<CountingFetcher>();
    f->clock = clock;
    fetcher = f.get();
    sts::ResolverOptions options;
    options.clock = clock;
    options.refresh_thread = false;
    options.random = [u] { return u; };
    options.refresh_retry_base = retry_base;
    start = clock->steady_now();
    resolver = std::make_unique<sts::Resolver>(cfg, std::move(f), options);
  }
  bool value_is(const std::string& handle, std::string_view expected) {
    bool equal = false;
    auto w = resolver->with_values({handle}, [&](std::string_view, std::string_view v) { equal = v == expected; });
    return w && w->failures.empty() && equal;
  }
  // Moves the clock to start + at, then asks the Resolver to run what is due.
  sts::ScheduledRefresh tick_at(std::chrono::nanoseconds at) {
    clock->advance(start + at - clock->steady_now());
    return resolver->refresh_if_due();
  }
};

}  // namespace

// ---- the pure rules -----------------------------------------------------------------------------

TEST_CASE("backoff: full jitter, u * min(cap, base * 2^(n-1)), in whole milliseconds") {
  const milliseconds base = seconds(1);
  const milliseconds cap = seconds(100);
  CHECK(sts::full_jitter_backoff(1, base, cap, 0.5) == milliseconds(500));
  CHECK(sts::full_jitter_backoff(2, base, cap, 0.5) == milliseconds(1000));
  CHECK(sts::full_jitter_backoff(3, base, cap, 0.5) == milliseconds(2000));
  CHECK(sts::full_jitter_backoff(7, base, cap, 0.5) == milliseconds(32000));
  CHECK(sts::full_jitter_backoff(8, base, cap, 0.5) == milliseconds(50000));   // 128 s capped at 100 s
  CHECK(sts::full_jitter_backoff(1000000, base, cap, 0.5) == milliseconds(50000));   // no overflow
  CHECK(sts::full_jitter_backoff(1, base, cap, 0.0) == milliseconds(0));
  CHECK(sts::full_jitter_backoff(1, base, cap, 0.9999) == milliseconds(999));
  CHECK(sts::full_jitter_backoff(1, base, milliseconds(300), 0.5) == milliseconds(150));   // base above cap
  // A random source outside [0, 1) cannot push a pause past its bound.
  CHECK(sts::full_jitter_backoff(2, base, cap, 7.0) == milliseconds(2000));
  CHECK(sts::full_jitter_backoff(2, base, cap, -1.0) == milliseconds(0));
  CHECK(sts::full_jitter_backoff(2, base, cap, std::numeric_limits<double>::quiet_NaN()) == milliseconds(0));
  CHECK(sts::full_jitter_backoff(2, milliseconds(0), cap, 0.5) == milliseconds(0));
}

TEST_CASE("schedule: the first refresh is at u * interval with scatter, one interval without") {
  const TimePoint s{hours(5)};
  auto u = [] { return 0.25; };
  sts::RefreshSchedule scattered({seconds(100), true, seconds(1)}, s, u);
  CHECK(scattered.due(std::nullopt) == s + seconds(25));
  sts::RefreshSchedule plain({seconds(100), false, seconds(1)}, s, u);
  CHECK(plain.due(std::nullopt) == s + seconds(100));
  sts::RefreshSchedule at_once({seconds(100), true, seconds(1)}, s, [] { return 0.0; });
  CHECK(at_once.due(std::nullopt) == s);
}

TEST_CASE("schedule: an interval after success, growing jittered pauses after failures, capped at the interval") {
  const TimePoint s{hours(5)};
  auto u = [] { return 0.5; };
  sts::RefreshSchedule schedule({seconds(10), false, seconds(1)}, s, u);
  TimePoint t = s + seconds(10);
  const std::vector<milliseconds> expected{milliseconds(500), milliseconds(1000), milliseconds(2000),
                                           milliseconds(4000), milliseconds(5000), milliseconds(5000)};
  for (std::size_t n = 0; n < expected.size(); ++n) {
    CAPTURE(n);
    schedule.ran(t, false, u);
    CHECK(schedule.consecutive_failures() == static_cast<int>(n + 1));
    CHECK(schedule.due(std::nullopt) == t + expected[n]);
    t = schedule.due(std::nullopt);
  }
  schedule.ran(t, true, u);
  CHECK(schedule.consecutive_failures() == 0);
  CHECK(schedule.due(std::nullopt) == t + seconds(10));
  schedule.skipped(t + seconds(10));
  CHECK(schedule.due(std::nullopt) == t + seconds(20));
}

TEST_CASE("schedule: a renewal point brings the refresh forward, not before the minimum gap, not during backoff") {
  const TimePoint s{hours(5)};
  auto u = [] { return 0.5; };
  sts::RefreshSchedule schedule({hours(1), false, seconds(2)}, s, u);
  CHECK(schedule.min_gap() == seconds(2));
  CHECK(schedule.due(s + minutes(8)) == s + minutes(8));
  CHECK(schedule.due(s + hours(2)) == s + hours(1));               // later than the interval: the interval
  CHECK(schedule.due(s + milliseconds(80)) == s + milliseconds(80));   // before any run: no gap
  schedule.ran(s, true, u);
  CHECK(schedule.due(s + seconds(1)) == s + seconds(2));           // not within min_gap of the last run
  CHECK(schedule.due(s - hours(1)) == s + seconds(2));             // long past: as soon as the gap allows
  CHECK(schedule.due(s + minutes(8)) == s + minutes(8));
  schedule.ran(s + minutes(8), false, u);
  CHECK(schedule.due(s + minutes(8)) == s + minutes(8) + milliseconds(1000));   // backoff decides
  CHECK(schedule.due(s + minutes(8) + milliseconds(10)) == s + minutes(8) + milliseconds(1000));
  sts::RefreshSchedule fast({milliseconds(20), false, seconds(1)}, s, u);
  CHECK(fast.min_gap() == milliseconds(20));                       // never above the interval
}

// ---- the Resolver on a ManualClock ----------------------------------------------------------------

TEST_CASE("refresh: the first scheduled refresh comes at a random point within the first interval") {
  Setup t(seconds(100), true, 0.25);
  REQUIRE(t.value_is("db", "value-db-1"));
  auto before = t.tick_at(seconds(25) - milliseconds(1));
  CHECK_FALSE(before.ran);
  CHECK(before.next == t.start + seconds(25));
  auto at = t.tick_at(seconds(25));
  CHECK(at.ran);
  REQUIRE(at.result);
  REQUIRE(*at.result);
  CHECK((*at.result)->changed == std::vector<std::string>{"db"});
  CHECK(at.next == t.start + seconds(125));
  CHECK(t.fetcher->runs() == 2);
  CHECK(t.value_is("db", "value-db-2"));
  CHECK_FALSE(t.tick_at(seconds(125) - milliseconds(1)).ran);
  CHECK(t.tick_at(seconds(125)).ran);
  CHECK(t.resolver->stats().refreshes == 2);
}

TEST_CASE("refresh: without scatter the first refresh is one interval after the start") {
  Setup t(seconds(100), false, 0.25);
  REQUIRE(t.value_is("db", "value-db-1"));
  CHECK_FALSE(t.tick_at(seconds(100) - milliseconds(1)).ran);
  auto at = t.tick_at(seconds(100));
  CHECK(at.ran);
  CHECK(at.next == t.start + seconds(200));
}

TEST_CASE("refresh: a failed refresh keeps the old values and retries with capped full-jitter backoff") {
  Setup t(seconds(10), false, 0.5);
  REQUIRE(t.value_is("db", "value-db-1"));
  t.fetcher->fail_runs = 5;
  std::chrono::nanoseconds at = seconds(10);
  const std::vector<milliseconds> pauses{milliseconds(500), milliseconds(1000), milliseconds(2000),
                                         milliseconds(4000), milliseconds(5000)};
  for (std::size_t n = 0; n < pauses.size(); ++n) {
    CAPTURE(n);
    auto tick = t.tick_at(at);
    REQUIRE(tick.ran);
    REQUIRE_FALSE(*tick.result);
    CHECK(tick.result->error().code == sts::Code::backend_exit);
    CHECK(tick.next == t.start + at + pauses[n]);
    CHECK(t.value_is("db", "value-db-1"));   // the old value stays in use
    at += pauses[n];
    CHECK_FALSE(t.tick_at(at - milliseconds(1)).ran);
  }
  auto ok = t.tick_at(at);
  REQUIRE(ok.ran);
  REQUIRE(*ok.result);
  CHECK(ok.next == t.start + at + seconds(10));
  CHECK(t.value_is("db", "value-db-7"));
  const auto s = t.resolver->stats();
  CHECK(s.refreshes == 6);
  CHECK(s.refresh_failures == 5);
  CHECK(s.failures_by_code.at("backend_exit") == 5);
}

TEST_CASE("refresh: a value nearing its expiration is renewed when four fifths of its lifetime have passed") {
  Setup t(hours(1), false);
  t.fetcher->ttl["db"] = minutes(10);
  REQUIRE(t.value_is("db", "value-db-1"));
  REQUIRE(t.value_is("forever", "value-forever-2"));
  std::vector<std::string> changed;
  auto sub = t.resolver->subscribe([&](std::string_view h, const std::vector<sts::HandleUse>&) { changed.emplace_back(h); });
  auto before = t.tick_at(minutes(8) - milliseconds(1));
  CHECK_FALSE(before.ran);
  CHECK(before.next == t.start + minutes(8));
  auto at = t.tick_at(minutes(8));
  REQUIRE(at.ran);
  REQUIRE(*at.result);
  CHECK(changed == std::vector<std::string>{"db", "forever"});   // one run renews every cached value
  CHECK(at.next == t.start + minutes(16));
  CHECK(t.value_is("db", "value-db-3"));
  CHECK(t.fetcher->runs() == 3);
}

TEST_CASE("refresh: a backend that keeps giving the same expiration cannot drive a tight loop") {
  Setup t(hours(1), false, 0.5, seconds(1));
  const auto fixed = t.clock->now() + seconds(10);
  t.fetcher->fixed["db"] = fixed;
  REQUIRE(t.value_is("db", "value-db-1"));
  // Renewal points: 8 s (4/5 of 10 s), then 8 + 4/5 * 2 = 9.6 s, then 9.6 + 0.32 = 9.92 s, held
  // back to 10.6 s by the 1 s minimum gap; by then the expiration has passed.
  CHECK(t.tick_at(seconds(8)).next == t.start + milliseconds(9600));
  CHECK(t.tick_at(milliseconds(9600)).next == t.start + milliseconds(10600));
  auto last = t.tick_at(milliseconds(10600));
  REQUIRE(last.ran);
  REQUIRE(*last.result);
  REQUIRE((*last.result)->failures.size() == 1);
  CHECK((*last.result)->failures[0].error.code == sts::Code::handle_value_invalid);
  CHECK(last.next == t.start + milliseconds(10600) + hours(1));
  CHECK(t.resolver->stats().cache_size == 0);   // expired and not renewable: dropped
  CHECK(t.fetcher->runs() == 4);
}

TEST_CASE("refresh: a due refresh with nothing cached is skipped and counts nothing") {
  Setup t(seconds(100), false);
  auto tick = t.tick_at(seconds(100));
  CHECK_FALSE(tick.ran);
  CHECK_FALSE(tick.result.has_value());
  CHECK(tick.next == t.start + seconds(200));
  CHECK(t.fetcher->runs() == 0);
  CHECK(t.resolver->stats().refreshes == 0);
}

TEST_CASE("refresh: without secret_refresh_interval nothing is ever due") {
  Setup t(milliseconds(0), true);
  REQUIRE(t.value_is("db", "value-db-1"));
  auto tick = t.tick_at(hours(24 * 365));
  CHECK_FALSE(tick.ran);
  CHECK(tick.next == TimePoint::max());
  CHECK(t.fetcher->runs() == 1);
}

TEST_CASE("refresh: a manual refresh counts for the schedule") {
  Setup t(seconds(100), false);
  REQUIRE(t.value_is("db", "value-db-1"));
  t.clock->advance(seconds(60));
  REQUIRE(t.resolver->refresh());
  auto tick = t.tick_at(seconds(100));
  CHECK_FALSE(tick.ran);
  CHECK(tick.next == t.start + seconds(160));
}

// ---- the Resolver's own thread (system clocks; bounded handshakes, no timing assertions) ----------

TEST_CASE("refresh thread: secret_refresh_interval drives refreshes by itself") {
  sts::Config cfg = sts::test::executable_config("/opt/fake");
  cfg.refresh_interval = milliseconds(20);
  auto f = std::make_unique<CountingFetcher>();
  CountingFetcher* fetcher = f.get();
  fetcher->clock = sts::system_clocks();
  sts::Resolver r(cfg, std::move(f));
  REQUIRE(r.with_values({"db"}, [](std::string_view, std::string_view) {}));
  CHECK(fetcher->wait_for_runs(3));
  CHECK(r.stats().refreshes >= 2);
}   // the destructor stops and joins the thread

TEST_CASE("refresh thread: a new value that expires before the interval wakes the thread early") {
  sts::Config cfg = sts::test::executable_config("/opt/fake");
  cfg.refresh_interval = hours(1);
  cfg.refresh_scatter = false;
  auto f = std::make_unique<CountingFetcher>();
  CountingFetcher* fetcher = f.get();
  fetcher->clock = sts::system_clocks();
  fetcher->ttl["db"] = milliseconds(100);
  sts::Resolver r(cfg, std::move(f));
  std::atomic<int> changes{0};
  auto sub = r.subscribe([&](std::string_view, const std::vector<sts::HandleUse>&) { ++changes; });
  REQUIRE(r.with_values({"db"}, [](std::string_view, std::string_view) {}));
  // Renewed at 80 ms, long before the hour: the thread must have been woken to see it.
  CHECK(fetcher->wait_for_runs(2));
  CHECK(r.stats().refreshes >= 1);
}
