// The zeroizing, single-flight secret cache (secret_cache.h, SPEC 6 and 9).
//
// A call splits its handles into fresh hits, handles another thread is already fetching (it
// waits for that flight) and the rest (it fetches them itself in one run, registering a Flight
// for each so later callers wait instead of fetching). The fetch runs without the lock.
//
// Never log while holding mu_: the redacting log sink scrubs through for_each_value(), which
// takes mu_ (redaction.cpp holds its registry lock, then each cache's lock).
#include "common/secret_cache.h"

#include "common/log.h"
#include "common/redaction.h"
#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <exception>
#include <utility>

namespace sts {

struct SecretCache::Flight {
  bool done = false;
  std::optional<Error> run_error;                       // the whole run failed
  std::map<std::string, Error, std::less<>> failures;   // per-handle failures of the run
};

namespace {

Error missing_from_run(std::string_view handle) {
  return make_error(Code::handle_missing,
                    "the backend's response has no entry for handle '" + std::string(handle) +
                        "'; check that the backend knows this handle");
}

Error expired_on_arrival(std::string_view handle) {
  return make_error(Code::handle_value_invalid,
                    "handle \"" + quote_text(handle) +
                        "\": the backend gave an expiration that is not after this host's current time, so the "
                        "value cannot be used; check the clocks of this host and of the secret store, and the "
                        "lifetime the store gives the secret");
}

// A Fetcher may throw (bad_alloc, a host's own fetcher). The exception text is not used: it
// could carry response bytes (nlohmann's parse_error does).
Result<FetchResult> fetch_guarded(Fetcher& fetcher, const std::vector<std::string>& handles) {
  try {
    return fetcher.fetch(handles);
  } catch (const std::bad_alloc&) {
    return make_error(Code::internal, "out of memory while fetching secrets");
  } catch (...) {
    return make_error(Code::internal, "the secret fetcher threw an exception; see the debug log of the backend");
  }
}

// Callers usually pass lists that are sorted and unique already (unique_handles): checking that
// is linear, sorting 10,000 names again is not.
std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  if (std::is_sorted(v.begin(), v.end()) && std::adjacent_find(v.begin(), v.end()) == v.end()) return v;
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::optional<std::chrono::system_clock::time_point> expiration_of(const FetchResult& result, std::string_view handle) {
  if (auto x = result.expirations.find(handle); x != result.expirations.end()) return x->second;
  return std::nullopt;
}

}  // namespace

// ---- snapshot ----------------------------------------------------------------------------------

CacheSnapshot::CacheSnapshot(const SecretCache* cache, Values values, std::vector<std::string> missing)
    : cache_(cache), values_(std::move(values)), missing_(std::move(missing)) {}

CacheSnapshot::~CacheSnapshot() {
  for (const auto& [h, v] : values_) cache_->unpin(v.get());
}

bool CacheSnapshot::with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const {
  auto it = values_.find(handle);
  if (it == values_.end()) return false;
  fn(it->second->view());
  return true;
}

bool CacheSnapshot::contains(std::string_view handle) const { return values_.find(handle) != values_.end(); }

// ---- cache -------------------------------------------------------------------------------------

SecretCache::SecretCache(std::shared_ptr<const Clock> clock) : clock_(clock ? std::move(clock) : system_clocks()) {
  redaction::register_cache(this);
}

SecretCache::~SecretCache() {
  redaction::unregister_cache(this);
  clear();
}

bool SecretCache::store(const std::string& handle, SecureBuffer&& value, std::optional<TimePoint> expires,
                        TimePoint now, std::vector<std::string>& changed) {
  auto cur = values_.find(handle);
  if (expires && !(now < *expires)) {
    if (cur != values_.end() && !fresh(cur->second, now)) values_.erase(cur);
    return false;   // `value` dies with the caller's FetchResult (SecureBuffer zeroes it)
  }
  if (cur == values_.end()) {
    values_.emplace(handle, Entry{std::make_shared<const SecureBuffer>(std::move(value)), expires, now});
    return true;
  }
  if (!secure_equal(cur->second.value->view(), value.view())) {
    // The old value is zeroed when its last user (a with_value callback, a snapshot) lets go.
    cur->second.value = std::make_shared<const SecureBuffer>(std::move(value));
    changed.push_back(handle);
  }
  cur->second.expires = expires;
  cur->second.arrived = now;
  return true;
}

void SecretCache::drop_if_expired(std::string_view handle, TimePoint now) {
  auto cur = values_.find(handle);
  if (cur != values_.end() && !fresh(cur->second, now)) values_.erase(cur);
}

// Step 2 of get_or_fetch: registers a flight for `mine`, fetches them with the lock released,
// stores what came back and completes the flight. The lock is held on entry and on return.
std::optional<Error> SecretCache::fetch_and_store(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& mine,
                                                  Fetcher& fetcher, CacheLookup& out) {
  auto flight = std::make_shared<Flight>();
  for (const auto& h : mine) in_flight_.emplace(h, flight);
  lock.unlock();
  log::debug("secret cache: fetching " + std::to_string(mine.size()) + " handle(s) in one backend run");
  Result<FetchResult> got = fetch_guarded(fetcher, mine);
  lock.lock();
  for (const auto& h : mine) {
    auto f = in_flight_.find(h);
    if (f != in_flight_.end() && f->second == flight) in_flight_.erase(f);
  }
  ++out.backend_runs;
  const TimePoint arrived = clock_->now();
  std::optional<Error> run_error;
  if (!got) {
    flight->run_error = got.error();
    for (const auto& h : mine) drop_if_expired(h, arrived);
    run_error = std::move(got).error();
  } else {
    for (const auto& h : mine) {
      std::optional<Error> e;
      if (auto v = got->values.find(h); v != got->values.end()) {
        if (store(h, std::move(v->second), expiration_of(*got, h), arrived, out.changed)) continue;
        e = expired_on_arrival(h);
      } else if (auto fe = got->failures.find(h); fe != got->failures.end()) {
        e = fe->second;
      } else {
        e = missing_from_run(h);
      }
      drop_if_expired(h, arrived);
      flight->failures.emplace(h, *e);
      out.failures.emplace(h, std::move(*e));
    }
    // Values the caller did not ask for die with `got` (SecureBuffer zeroes them).
  }
  flight->done = true;
  cv_.notify_all();
  return run_error;
}

Result<CacheLookup> SecretCache::get_or_fetch(const std::vector<std::string>& handles, Fetcher& fetcher,
                                              std::size_t* hits) {
  CacheLookup out;
  std::vector<std::string> pending = sorted_unique(handles);
  bool first_pass = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!pending.empty()) {
    // 1. Classify: fresh hits, handles in flight elsewhere, and this thread's own misses.
    std::vector<std::string> mine;
    std::vector<std::pair<std::string, std::shared_ptr<Flight>>> waits;
    const TimePoint now = clock_->now();
    for (auto& h : pending) {
      if (auto v = values_.find(h); v != values_.end() && fresh(v->second, now)) {
        if (first_pass) ++out.from_cache;
      } else if (auto f = in_flight_.find(h); f != in_flight_.end()) {
        waits.emplace_back(h, f->second);
      } else {
        mine.push_back(h);
      }
    }
    if (first_pass && hits != nullptr) *hits = out.from_cache;
    first_pass = false;
    pending.clear();

    // 2. Fetch this thread's misses in one run, without the lock.
    if (!mine.empty()) {
      if (std::optional<Error> run_error = fetch_and_store(lock, mine, fetcher, out)) {
        lock.unlock();
        return std::move(*run_error);
      }
    }

    // 3. Wait for the other threads' flights.
    for (auto& [h, flight] : waits) {
      cv_.wait(lock, [&f = flight] { return f->done; });
      if (auto v = values_.find(h); v != values_.end() && fresh(v->second, clock_->now())) continue;
      if (auto e = flight->failures.find(h); e != flight->failures.end()) {
        out.failures.emplace(h, e->second);
      } else if (flight->run_error) {
        // Another thread's whole-run error is this call's per-handle failure.
        out.failures.emplace(h, *flight->run_error);
      } else {
        // Fetched, then cleared (or expired) before this thread looked: fetch it again.
        pending.push_back(h);
      }
    }
  }
  return out;
}

bool SecretCache::with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const {
  Value value;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(handle);
    if (it == values_.end() || !fresh(it->second, clock_->now())) return false;
    value = it->second.value;
    pinned_.insert(value.get());
  }
  // Unpins (under the lock, so redaction never sees a half-removed value) however fn leaves.
  struct Unpin {
    const SecretCache* cache;
    const SecureBuffer* value;
    ~Unpin() { cache->unpin(value); }
  } unpin{this, value.get()};
  fn(value->view());
  return true;
}

void SecretCache::unpin(const SecureBuffer* value) const {
  std::lock_guard<std::mutex> lock(mu_);
  pinned_.erase(pinned_.find(value));
}

bool SecretCache::contains(std::string_view handle) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(handle);
  return it != values_.end() && fresh(it->second, clock_->now());
}

std::size_t SecretCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.size();
}

CacheSnapshot SecretCache::snapshot(const std::vector<std::string>& handles) const {
  const std::vector<std::string> wanted = sorted_unique(handles);
  CacheSnapshot::Values values;
  std::vector<std::string> missing;
  std::lock_guard<std::mutex> lock(mu_);
  const TimePoint now = clock_->now();
  for (const auto& h : wanted) {
    auto it = values_.find(h);
    if (it == values_.end() || !fresh(it->second, now)) {
      missing.push_back(h);
      continue;
    }
    values.emplace(h, it->second.value);
    pinned_.insert(it->second.value.get());
  }
  // The snapshot takes over the pins; it unpins each value as it is destroyed.
  return CacheSnapshot(this, std::move(values), std::move(missing));
}

Result<CacheRefresh> SecretCache::refresh(Fetcher& fetcher) {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    names.reserve(values_.size());
    for (const auto& [h, e] : values_) names.push_back(h);
  }
  std::sort(names.begin(), names.end());   // a fetch takes sorted, unique handles
  CacheRefresh out;
  if (names.empty()) return out;
  log::debug("secret cache: refreshing " + std::to_string(names.size()) + " handle(s) in one backend run");
  Result<FetchResult> got = fetch_guarded(fetcher, names);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const TimePoint arrived = clock_->now();
    if (!got) {
      for (const auto& h : names) drop_if_expired(h, arrived);
      return std::move(got).error();
    }
    FetchResult& result = *got;
    for (const auto& h : names) {
      std::optional<Error> e;
      if (auto v = result.values.find(h); v != result.values.end()) {
        // Cleared while the run was going: do not bring the value back.
        if (values_.find(h) == values_.end()) continue;
        if (store(h, std::move(v->second), expiration_of(result, h), arrived, out.changed)) continue;
        e = expired_on_arrival(h);
      } else if (auto fe = result.failures.find(h); fe != result.failures.end()) {
        e = fe->second;
      } else {
        e = missing_from_run(h);
      }
      // The old value stays usable while it is fresh; the caller learns that it was not renewed.
      drop_if_expired(h, arrived);
      out.failures.emplace(h, std::move(*e));
    }
  }
  if (!out.changed.empty()) {
    log::info("secret cache: refresh changed " + std::to_string(out.changed.size()) + " value(s)");
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> SecretCache::earliest_renewal() const {
  std::optional<TimePoint> earliest;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [h, e] : values_) {
    if (!e.expires) continue;
    // arrived + 4/5 of the lifetime, written so that it cannot overflow.
    const auto lifetime = *e.expires - e.arrived;
    const TimePoint point = e.arrived + (lifetime - lifetime / 5);
    if (!earliest || point < *earliest) earliest = point;
  }
  return earliest;
}

void SecretCache::clear() {
  // Under the lock, so a value stays known to redaction until its bytes are gone. Each
  // SecureBuffer zeroes its storage as it is destroyed (the arena takes only its own lock).
  std::lock_guard<std::mutex> lock(mu_);
  values_.clear();
}

void SecretCache::for_each_value(const std::function<void(std::string_view)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [h, e] : values_) fn(e.value->view());
  for (const SecureBuffer* v : pinned_) fn(v->view());
}

}  // namespace sts
