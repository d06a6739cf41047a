// The zeroizing single-flight cache (secret_cache.h, SPEC 6), expiry and snapshots (SPEC 9), and
// the residue proof.
#include "common/secret_cache.h"
#include "stsecrets/secure_buffer.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <condition_variable>
#include <memory>
#include <set>
#include <string>

#include "stsecrets/clock.h"
#include "stsecrets/logging.h"


namespace {

// A Fetcher that counts its runs. Values are kept in SecureBuffers (or, for the residue tests,
// as MaskedNeedles, decoded byte by byte into the SecureBuffer it returns: the plain secret then
// exists only where the code under test puts it).
class FakeFetcher final : public sts::Fetcher {
 public:
  void set(const std::string& handle, std::string_view value) {
    std::lock_guard<std::mutex> lock(mu_);
    values_.insert_or_assign(handle, sts::SecureBuffer(value));
  }
  void set_masked(const std::string& handle, sts::test::MaskedNeedle masked) {
    std::lock_guard<std::mutex> lock(mu_);
    masked_.insert_or_assign(handle, std::move(masked));
  }
  void fail(const std::string& handle, std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_.insert_or_assign(handle, sts::make_error(sts::Code::handle_backend_error, std::move(message)));
  }
  void fail_run(sts::Error e) {
    std::lock_guard<std::mutex> lock(mu_);
    run_error_ = std::move(e);
  }
  void throw_on_fetch() { throws_ = true; }
  void add_unrequested(const std::string& handle) { unrequested_ = handle; }
  // Called at the start of every fetch, outside the fetcher's lock.
  std::function<void()> on_fetch;

  sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
    calls_.fetch_add(1);
    if (on_fetch) on_fetch();
    if (throws_) throw std::runtime_error("fetcher exploded");
    std::lock_guard<std::mutex> lock(mu_);
    batches_.push_back(handles);
    if (run_error_) return *run_error_;
    sts::FetchResult r;
    for (const auto& h : handles) {
      if (auto f = failures_.find(h); f != failures_.end()) {
        r.failures.emplace(h, f->second);
      } else if (auto v = values_.find(h); v != values_.end()) {
        r.values.emplace(h, v->second.copy());
      } else if (auto m = masked_.find(h); m != masked_.end()) {
        sts::SecureBuffer b;
        b.reserve(m->second.size());
        for (std::size_t i = 0; i < m->second.size(); ++i) b.push_back(m->second.plain_at(i));
        r.values.emplace(h, std::move(b));
      }
    }
    if (!unrequested_.empty()) r.values.emplace(unrequested_, sts::SecureBuffer("unrequested-value"));
    return r;
  }

  int calls() const { return calls_.load(); }
  std::vector<std::vector<std::string>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, sts::SecureBuffer, std::less<>> values_;
  std::map<std::string, sts::test::MaskedNeedle, std::less<>> masked_;
  std::map<std::string, sts::Error, std::less<>> failures_;
  std::optional<sts::Error> run_error_;
  std::atomic<int> calls_{0};
  std::atomic<bool> throws_{false};
  std::vector<std::vector<std::string>> batches_;
  std::string unrequested_;
};

bool cached_equals(const sts::SecretCache& cache, std::string_view handle, std::string_view expected) {
  bool equal = false;
  bool found = cache.with_value(handle, [&](std::string_view v) { equal = sts::secure_equal(v, expected); });
  return found && equal;
}


}  // namespace

TEST_CASE("cache: a miss is fetched once, a hit causes no fetch") {
  FakeFetcher f;
  f.set("db", "value-of-db");
  sts::SecretCache cache;
  auto first = cache.get_or_fetch({"db"}, f);
  REQUIRE(first);
  CHECK(first->from_cache == 0);
  CHECK(first->backend_runs == 1);
  CHECK(first->failures.empty());
  CHECK(f.calls() == 1);
  auto second = cache.get_or_fetch({"db"}, f);
  REQUIRE(second);
  CHECK(second->from_cache == 1);
  CHECK(second->backend_runs == 0);
  CHECK(f.calls() == 1);
  CHECK(cache.contains("db"));
  CHECK(cache.size() == 1);
  CHECK(cached_equals(cache, "db", "value-of-db"));
  CHECK_FALSE(cache.with_value("other", [](std::string_view) {}));
}

TEST_CASE("cache: all misses of one call are fetched in one sorted, de-duplicated run") {
  FakeFetcher f;
  f.set("a", "value-a");
  f.set("b", "value-b");
  f.set("c", "value-c");
  sts::SecretCache cache;
  REQUIRE(cache.get_or_fetch({"a"}, f));
  auto r = cache.get_or_fetch({"c", "a", "b", "c"}, f);
  REQUIRE(r);
  CHECK(r->from_cache == 1);
  CHECK(r->backend_runs == 1);
  REQUIRE(f.calls() == 2);
  CHECK(f.batches()[1] == std::vector<std::string>{"b", "c"});
}

TEST_CASE("cache: single flight, 8 threads missing the same handles cause one fetch") {
  constexpr int kThreads = 8;
  FakeFetcher f;
  f.set("shared-1", "value-shared-1");
  f.set("shared-2", "value-shared-2");
  std::atomic<int> arrived{0};
  f.on_fetch = [&] {
    // Hold the flight open until every thread has called get_or_fetch, then ~50 ms more.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  sts::SecretCache cache;
  std::atomic<int> ok{0};
  std::atomic<int> runs{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      arrived.fetch_add(1);
      auto r = cache.get_or_fetch({"shared-1", "shared-2"}, f);
      if (r) {
        ok.fetch_add(1);
        runs.fetch_add(static_cast<int>(r->backend_runs));
        failures.fetch_add(static_cast<int>(r->failures.size()));
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(f.calls() == 1);
  CHECK(ok.load() == kThreads);
  CHECK(runs.load() == 1);
  CHECK(failures.load() == 0);
  CHECK(cached_equals(cache, "shared-1", "value-shared-1"));
  CHECK(cached_equals(cache, "shared-2", "value-shared-2"));
}

TEST_CASE("cache: a thread waiting on another's flight only fetches what is not in flight") {
  FakeFetcher f;
  f.set("slow", "value-slow");
  f.set("own", "value-own");
  std::atomic<bool> first_in{false};
  std::atomic<bool> release{false};
  f.on_fetch = [&] {
    if (!first_in.exchange(true)) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  sts::SecretCache cache;
  std::thread t1([&] { (void)cache.get_or_fetch({"slow"}, f); });
  while (!first_in.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread t2([&] {
    auto r = cache.get_or_fetch({"own", "slow"}, f);
    CHECK(r);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  t1.join();
  t2.join();
  REQUIRE(f.calls() == 2);
  auto batches = f.batches();
  std::sort(batches.begin(), batches.end());
  CHECK(batches == std::vector<std::vector<std::string>>{{"own"}, {"slow"}});
  CHECK(cache.size() == 2);
}

TEST_CASE("cache: another thread's whole-run error is a per-handle failure for the waiters") {
  constexpr int kThreads = 4;
  FakeFetcher f;
  f.fail_run(sts::make_error(sts::Code::backend_timeout, "the backend ran past secret_backend_timeout (5s)"));
  std::atomic<int> arrived{0};
  f.on_fetch = [&] {
    while (arrived.load() < kThreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  sts::SecretCache cache;
  std::atomic<int> whole{0};
  std::atomic<int> per_handle{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      arrived.fetch_add(1);
      auto r = cache.get_or_fetch({"h"}, f);
      if (!r) {
        if (r.error().code == sts::Code::backend_timeout) whole.fetch_add(1);
      } else if (r->failures.size() == 1 && r->failures.begin()->first == "h" &&
                 r->failures.begin()->second.code == sts::Code::backend_timeout &&
                 r->failures.begin()->second.message.find("secret_backend_timeout") != std::string::npos) {
        per_handle.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(f.calls() == 1);
  CHECK(whole.load() == 1);
  CHECK(per_handle.load() == kThreads - 1);
  CHECK(cache.size() == 0);
}

TEST_CASE("cache: per-handle failures are reported and the other handles stay usable") {
  FakeFetcher f;
  f.set("good", "value-good");
  f.fail("bad", "vault says: permission denied for bad");
  sts::SecretCache cache;
  auto r = cache.get_or_fetch({"good", "bad", "ghost"}, f);
  REQUIRE(r);
  CHECK(r->backend_runs == 1);
  REQUIRE(r->failures.size() == 2);
  CHECK(r->failures.at("bad").code == sts::Code::handle_backend_error);
  CHECK(r->failures.at("bad").message.find("permission denied") != std::string::npos);
  CHECK(r->failures.at("ghost").code == sts::Code::handle_missing);
  CHECK(r->failures.at("ghost").message.find("'ghost'") != std::string::npos);
  CHECK(cache.contains("good"));
  CHECK_FALSE(cache.contains("bad"));
  CHECK_FALSE(cache.contains("ghost"));
  // Failures are not cached: the next call asks again.
  auto again = cache.get_or_fetch({"bad"}, f);
  REQUIRE(again);
  CHECK(f.calls() == 2);
}

TEST_CASE("cache: a whole-run error is returned and nothing stays in flight") {
  FakeFetcher broken;
  broken.fail_run(sts::make_error(sts::Code::spawn_failed, "failed to execute /opt/backend: Permission denied", 13));
  sts::SecretCache cache;
  auto r = cache.get_or_fetch({"x", "y"}, broken);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == sts::Code::spawn_failed);
  CHECK(r.error().os_error == 13);
  CHECK(r.error().message == "failed to execute /opt/backend: Permission denied");
  CHECK(cache.size() == 0);
  FakeFetcher working;
  working.set("x", "value-x");
  working.set("y", "value-y");
  auto r2 = cache.get_or_fetch({"x", "y"}, working);
  REQUIRE(r2);
  CHECK(working.calls() == 1);
  CHECK(r2->failures.empty());
}

TEST_CASE("cache: a throwing fetcher becomes Code::internal without its text") {
  FakeFetcher f;
  f.throw_on_fetch();
  sts::SecretCache cache;
  auto r = cache.get_or_fetch({"x"}, f);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == sts::Code::internal);
  CHECK(r.error().message.find("exploded") == std::string::npos);
  FakeFetcher working;
  working.set("x", "value-x");
  CHECK(cache.get_or_fetch({"x"}, working));
}

TEST_CASE("cache: values the caller did not ask for are never cached") {
  FakeFetcher f;
  f.set("asked", "value-asked");
  f.add_unrequested("not-asked");
  sts::SecretCache cache;
  REQUIRE(cache.get_or_fetch({"asked"}, f));
  CHECK(cache.contains("asked"));
  CHECK_FALSE(cache.contains("not-asked"));
  CHECK(cache.size() == 1);
}

TEST_CASE("cache: refresh re-fetches every cached handle in one run and reports changed names") {
  FakeFetcher f;
  f.set("a", "value-a-1");
  f.set("b", "value-b-1");
  f.set("c", "value-c-1");
  sts::SecretCache cache;
  REQUIRE(cache.get_or_fetch({"a", "b", "c"}, f));
  f.set("b", "value-b-2");
  auto r = cache.refresh(f);
  REQUIRE(r);
  CHECK(r->changed == std::vector<std::string>{"b"});
  CHECK(r->failures.empty());
  REQUIRE(f.calls() == 2);
  CHECK(f.batches()[1] == std::vector<std::string>{"a", "b", "c"});
  CHECK(cached_equals(cache, "b", "value-b-2"));
  CHECK(cached_equals(cache, "a", "value-a-1"));

  SECTION("nothing changed") {
    auto again = cache.refresh(f);
    REQUIRE(again);
    CHECK(again->changed.empty());
  }
  SECTION("a per-handle failure keeps the old value") {
    f.fail("c", "gone from the vault");
    f.set("a", "value-a-longer-2");
    auto again = cache.refresh(f);
    REQUIRE(again);
    CHECK(again->changed == std::vector<std::string>{"a"});
    REQUIRE(again->failures.count("c") == 1);
    CHECK(again->failures.at("c").code == sts::Code::handle_backend_error);
    CHECK(cached_equals(cache, "c", "value-c-1"));
    CHECK(cached_equals(cache, "a", "value-a-longer-2"));
  }
  SECTION("a whole-run error is returned and changes nothing") {
    f.fail_run(sts::make_error(sts::Code::backend_exit, "the backend exited with status 3"));
    f.set("a", "value-a-3");
    auto again = cache.refresh(f);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == sts::Code::backend_exit);
    CHECK(cached_equals(cache, "a", "value-a-1"));
  }
}

TEST_CASE("cache: refresh of an empty cache runs nothing") {
  FakeFetcher f;
  sts::SecretCache cache;
  auto r = cache.refresh(f);
  REQUIRE(r);
  CHECK(r->changed.empty());
  CHECK(f.calls() == 0);
}

// ---- expiry (SPEC 9), snapshots and renewal points ----------------------------------------------

namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// A Fetcher whose values carry an expiration, and whose values can change on every run.
class ExpiringFetcher final : public sts::Fetcher {
 public:
  explicit ExpiringFetcher(std::shared_ptr<sts::ManualClock> clock) : clock_(std::move(clock)) {}
  // handle's value will be "<base>-<run number>" when versioned, else "<base>", expiring `ttl`
  // after the run (or at the fixed `at`), or never when neither is set.
  void set(const std::string& handle, std::string base, std::optional<nanoseconds> ttl,
           bool versioned = false) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.insert_or_assign(handle, Entry{std::move(base), ttl, std::nullopt, versioned});
  }
  void set_fixed_expiry(const std::string& handle, std::string base, std::chrono::system_clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.insert_or_assign(handle, Entry{std::move(base), std::nullopt, at, false});
  }
  void fail_runs(bool fail) { fail_runs_ = fail; }
  void fail_handle(const std::string& handle) {
    std::lock_guard<std::mutex> lock(mu_);
    failing_.insert(handle);
  }
  // Called at the start of every fetch, outside the fetcher's lock.
  std::function<void()> on_fetch;

  sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
    const int run = ++calls_;
    if (on_fetch) on_fetch();
    if (fail_runs_) return sts::make_error(sts::Code::backend_exit, "the backend exited with status 3");
    std::lock_guard<std::mutex> lock(mu_);
    sts::FetchResult r;
    for (const auto& h : handles) {
      auto e = entries_.find(h);
      if (e == entries_.end()) continue;
      if (failing_.count(h) != 0) {
        r.failures.emplace(h, sts::make_error(sts::Code::handle_backend_error, "vault: permission denied"));
        continue;
      }
      const Entry& en = e->second;
      r.values.emplace(h, sts::SecureBuffer(en.versioned ? en.base + "-" + std::to_string(run) : en.base));
      if (en.ttl) r.expirations.emplace(h, clock_->now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(*en.ttl));
      if (en.at) r.expirations.emplace(h, *en.at);
    }
    return r;
  }
  int calls() const { return calls_.load(); }

 private:
  struct Entry {
    std::string base;
    std::optional<nanoseconds> ttl;
    std::optional<std::chrono::system_clock::time_point> at;
    bool versioned = false;
  };
  std::shared_ptr<sts::ManualClock> clock_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::set<std::string> failing_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fail_runs_{false};
};

bool fresh_equals(const sts::ValueLookup& values, std::string_view handle, std::string_view expected) {
  bool equal = false;
  bool found = values.with_value(handle, [&](std::string_view v) { equal = sts::secure_equal(v, expected); });
  return found && equal;
}

}  // namespace

TEST_CASE("cache expiry: a value is served until its expiration, and at that very instant it has expired") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("db", "value-db", seconds(10), true);
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"db"}, f));
  CHECK(f.calls() == 1);

  clock->advance(seconds(10) - nanoseconds(1));   // one tick before the expiration
  CHECK(cache.contains("db"));
  CHECK(fresh_equals(cache, "db", "value-db-1"));
  auto hit = cache.get_or_fetch({"db"}, f);
  REQUIRE(hit);
  CHECK(hit->from_cache == 1);
  CHECK(f.calls() == 1);

  clock->advance(nanoseconds(1));                 // now == expiration: expired
  CHECK_FALSE(cache.contains("db"));
  CHECK_FALSE(cache.with_value("db", [](std::string_view) {}));
  CHECK(cache.size() == 1);                       // held, unserved, until renewed
  auto miss = cache.get_or_fetch({"db"}, f);
  REQUIRE(miss);
  CHECK(miss->from_cache == 0);
  CHECK(miss->backend_runs == 1);
  CHECK(f.calls() == 2);
  CHECK(fresh_equals(cache, "db", "value-db-2"));
  CHECK(miss->changed == std::vector<std::string>{"db"});   // the expired value came back different
}

TEST_CASE("cache expiry: a value fetched again unchanged is not reported as changed") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("db", "same-value", seconds(1));
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"db"}, f));
  clock->advance(seconds(1));
  auto again = cache.get_or_fetch({"db"}, f);
  REQUIRE(again);
  CHECK(again->changed.empty());
  CHECK(f.calls() == 2);
  CHECK(fresh_equals(cache, "db", "same-value"));
}

TEST_CASE("cache expiry: concurrent uses of an expired value cause one fetch (single flight)") {
  constexpr int kThreads = 8;
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("db", "value-db", seconds(5), true);
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"db"}, f));
  clock->advance(seconds(5));

  // The first thread's fetch is held open until every other thread has started its lookup.
  // Whether a late thread waits on that flight or finds the renewed value, none can start a
  // fetch of its own: the count below holds in every interleaving.
  std::mutex mu;
  std::condition_variable cv;
  bool in_fetch = false;
  bool release = false;
  std::atomic<bool> hold_first{true};
  f.on_fetch = [&] {
    if (!hold_first.exchange(false)) return;
    std::unique_lock<std::mutex> lock(mu);
    in_fetch = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  std::atomic<int> ok{0};
  auto use = [&] {
    auto r = cache.get_or_fetch({"db"}, f);
    if (r && r->failures.empty() && fresh_equals(cache, "db", "value-db-2")) ++ok;
  };
  std::thread first(use);
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_fetch; });
  }
  std::vector<std::thread> others;
  for (int i = 1; i < kThreads; ++i) others.emplace_back(use);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  for (auto& t : others) t.join();
  CHECK(f.calls() == 2);
  CHECK(ok.load() == kThreads);
}

TEST_CASE("cache expiry: a value whose expiration is not after now on arrival fails its handle and is not cached") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set_fixed_expiry("now", "value-now", clock->now());                 // exactly now: expired
  f.set_fixed_expiry("past", "value-past", clock->now() - seconds(1));
  f.set_fixed_expiry("next", "value-next", clock->now() + nanoseconds(1));
  sts::SecretCache cache(clock);
  auto r = cache.get_or_fetch({"now", "past", "next"}, f);
  REQUIRE(r);
  REQUIRE(r->failures.size() == 2);
  for (const char* h : {"now", "past"}) {
    REQUIRE(r->failures.count(h) == 1);
    CHECK(r->failures.at(h).code == sts::Code::handle_value_invalid);
    CHECK_THAT(r->failures.at(h).message, Catch::Contains(std::string("handle \"") + h + "\"") &&
                                              Catch::Contains("expiration that is not after this host's current time") &&
                                              Catch::Contains("check the clocks"));
    CHECK_FALSE(cache.contains(h));
  }
  CHECK(fresh_equals(cache, "next", "value-next"));
  CHECK(cache.size() == 1);
}

TEST_CASE("cache expiry: an expired value is dropped when the fetch meant to renew it fails") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("db", "value-db", seconds(1));
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"db"}, f));
  clock->advance(seconds(1));

  SECTION("a whole-run error") {
    f.fail_runs(true);
    auto r = cache.get_or_fetch({"db"}, f);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == sts::Code::backend_exit);
  }
  SECTION("a per-handle failure") {
    f.fail_handle("db");
    auto r = cache.get_or_fetch({"db"}, f);
    REQUIRE(r);
    CHECK(r->failures.at("db").code == sts::Code::handle_backend_error);
  }
  SECTION("a refresh whose run fails") {
    f.fail_runs(true);
    CHECK_FALSE(cache.refresh(f));
  }
  SECTION("a refresh whose handle fails") {
    f.fail_handle("db");
    auto r = cache.refresh(f);
    REQUIRE(r);
    CHECK(r->failures.count("db") == 1);
  }
  CHECK(cache.size() == 0);
}

TEST_CASE("cache expiry: refresh renews expirations, keeps fresh values on failure, renews expired ones") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("short", "value-short", seconds(10), true);
  f.set("long", "value-long", minutes(10));
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"short", "long"}, f));

  clock->advance(seconds(10));   // "short" has expired, "long" has not
  f.fail_runs(true);
  REQUIRE_FALSE(cache.refresh(f));
  CHECK(cache.size() == 1);      // the expired value is gone, the fresh one kept
  CHECK(fresh_equals(cache, "long", "value-long"));

  f.fail_runs(false);
  REQUIRE(cache.get_or_fetch({"short"}, f));   // run 3
  clock->advance(seconds(9));
  auto r = cache.refresh(f);                   // run 4: renews both expirations
  REQUIRE(r);
  CHECK(r->changed == std::vector<std::string>{"short"});
  clock->advance(seconds(9));                  // 18 s after run 3, 9 s after run 4
  CHECK(fresh_equals(cache, "short", "value-short-4"));
  CHECK(cache.contains("long"));
}

TEST_CASE("cache snapshot: pinned values survive clear() and expiry, and stay known to redaction") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  f.set("a", "pinned-value-a", seconds(1));
  f.set("b", "pinned-value-b", std::nullopt);
  sts::SecretCache cache(clock);
  REQUIRE(cache.get_or_fetch({"a", "b"}, f));
  {
    const sts::CacheSnapshot snap = cache.snapshot({"b", "a", "a", "ghost"});
    CHECK(snap.missing() == std::vector<std::string>{"ghost"});
    clock->advance(seconds(1));
    cache.clear();
    CHECK(cache.size() == 0);
    CHECK(fresh_equals(snap, "a", "pinned-value-a"));
    CHECK(fresh_equals(snap, "b", "pinned-value-b"));
    CHECK(snap.contains("a"));
    CHECK_FALSE(snap.contains("ghost"));
    CHECK(sts::redact("x pinned-value-a y") == "x ******** y");
  }
  CHECK(sts::redact("x pinned-value-a y") == "x pinned-value-a y");   // unpinned: gone
  REQUIRE(cache.get_or_fetch({"a"}, f));
  clock->advance(seconds(1));
  CHECK(cache.snapshot({"a"}).missing() == std::vector<std::string>{"a"});   // expired: not pinned
}

TEST_CASE("cache: earliest_renewal is four fifths of the way from arrival to expiration") {
  auto clock = std::make_shared<sts::ManualClock>();
  ExpiringFetcher f(clock);
  sts::SecretCache cache(clock);
  f.set("forever", "value-forever", std::nullopt);
  REQUIRE(cache.get_or_fetch({"forever"}, f));
  CHECK_FALSE(cache.earliest_renewal().has_value());

  const auto t0 = clock->now();
  f.set("hour", "value-hour", minutes(60));
  REQUIRE(cache.get_or_fetch({"hour"}, f));
  REQUIRE(cache.earliest_renewal().has_value());
  CHECK(*cache.earliest_renewal() == t0 + minutes(48));
  clock->advance(minutes(1));
  f.set("ten", "value-ten", minutes(10));
  REQUIRE(cache.get_or_fetch({"ten"}, f));
  CHECK(*cache.earliest_renewal() == t0 + minutes(1) + minutes(8));
  // An expiration as far as the clock goes (a parser saturates year 9999 to max()) does not overflow.
  f.set_fixed_expiry("far", "value-far", std::chrono::system_clock::time_point::max());
  REQUIRE(cache.get_or_fetch({"far"}, f));
  CHECK(*cache.earliest_renewal() == t0 + minutes(9));
}

TEST_CASE("cache: clear() zeroes every value and returns the storage") {
  FakeFetcher f;
  f.set("one", "value-one-0123456789");
  f.set("two", "value-two-0123456789");
  sts::SecretCache cache;
  const auto base_in_use = sts::arena_stats().in_use_bytes;
  sts::SecureBuffer pin("keep the first chunk mapped");
  REQUIRE(cache.get_or_fetch({"one", "two"}, f));
  const char* where = nullptr;
  std::size_t len = 0;
  REQUIRE(cache.with_value("one", [&](std::string_view v) { where = v.data(); len = v.size(); }));
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.contains("one"));
  auto bytes = sts::test::peek_memory(where, len);
  const bool zeroed = !bytes || bytes->find_first_not_of('\0') == std::string::npos;
  CHECK(zeroed);
  CHECK(sts::arena_stats().in_use_bytes == base_in_use + 32);
  // Still usable after clear.
  REQUIRE(cache.get_or_fetch({"one"}, f));
  CHECK(f.calls() == 2);
}

// The residue tests. The test never holds a secret in plain: it has the masked form only
// (sts::test::MaskedNeedle), the fetcher decodes it byte by byte into the SecureBuffer it returns,
// and the scanner compares masked, byte by byte. Before, the needle was a plain SecureBuffer that
// the scanner compared with memcmp: on AVX-512 machines glibc's EVEX memcmp left it in ymm18, the
// first lazy PLT binding afterwards (_dl_runtime_resolve_xsavec) XSAVEd it onto the stack, and the
// next scan found that copy, so the result depended on the CPU.
namespace {

// Fragments only: neither the whole secret nor a contiguous masked copy is a literal of the binary.
sts::test::MaskedNeedle residue_secret(int which) {
  return sts::test::MaskedNeedle({"zq7", "R3s1du3", which == 0 ? "-Alpha" : "-Bravo", "-k9Xw2"});
}

// Caches both residue secrets, checks that the scan sees exactly the cache's copy of each (the
// scan works, and the fetch path made no other copy), clears the cache, and returns how many
// copies of each the scan still finds.
std::vector<std::size_t> residue_after_clear() {
  const std::vector<sts::test::MaskedNeedle> needles{residue_secret(0), residue_secret(1)};
  std::vector<std::size_t> left;
  FakeFetcher f;
  f.set_masked("alpha", needles[0]);
  f.set_masked("bravo", needles[1]);
  sts::SecretCache cache;
  REQUIRE(cache.get_or_fetch({"alpha", "bravo"}, f));
  REQUIRE(cache.size() == 2);
  for (const auto& n : needles) CHECK(sts::test::count_in_own_memory(n) == 1);
  cache.clear();
  for (const auto& n : needles) left.push_back(sts::test::count_in_own_memory(n));
  return left;
}

}  // namespace

TEST_CASE("residue: after clear() no cached secret is left anywhere in process memory") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan: ASan shadow memory makes a whole-memory scan take minutes");
    return;
  }
  CHECK(residue_after_clear() == std::vector<std::size_t>{0, 0});
}

TEST_CASE("residue: the scanner finds a planted copy in ordinary heap memory") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan: ASan shadow memory makes a whole-memory scan take minutes");
    return;
  }
  const sts::test::MaskedNeedle needle = residue_secret(0);
  std::vector<char> planted(needle.size());  // plain heap, never zeroed by the library
  needle.write_plain(planted.data());
  CHECK(sts::test::count_in_own_memory(needle) == 1);
  sts::secure_zero(planted.data(), planted.size());
  CHECK(sts::test::count_in_own_memory(needle) == 0);
}

// Run only by the ctest entry that preloads tests/support/no_zero_shim.cpp (explicit_bzero as a
// no-op): without zeroing, the same scan must find both cleared secrets, so the test above
// depends on the zeroing it claims.
TEST_CASE("negative control: with zeroing disabled the cache residue scan finds the cleared secrets", "[.no-zero]") {
  REQUIRE(dlsym(RTLD_DEFAULT, "sts_no_zero_shim_active") != nullptr);
  const std::vector<std::size_t> left = residue_after_clear();
  REQUIRE(left.size() == 2);
  CHECK(left[0] >= 1);
  CHECK(left[1] >= 1);
}
