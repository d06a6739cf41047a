// The zeroizing, single-flight secret cache (secret_cache.h, SPEC 6).
//
// A call splits its handles into hits, handles another thread is already fetching (it waits
// for that flight) and the rest (it fetches them itself in one run, registering a Flight for
// each so later callers wait instead of fetching). The fetch runs without the lock.
//
// Never log while holding mu_: the redacting log sink scrubs through for_each_value(), which
// takes mu_ (redaction.cpp holds its registry lock, then each cache's lock).
#include "common/secret_cache.h"

#include "common/log.h"
#include "common/redaction.h"
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <exception>
#include <optional>
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

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

SecretCache::SecretCache() { redaction::register_cache(this); }

SecretCache::~SecretCache() {
  redaction::unregister_cache(this);
  clear();
}

Result<CacheLookup> SecretCache::get_or_fetch(const std::vector<std::string>& handles, Fetcher& fetcher) {
  CacheLookup out;
  std::vector<std::string> pending = sorted_unique(handles);
  bool first_pass = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!pending.empty()) {
    std::vector<std::string> mine;
    std::vector<std::pair<std::string, std::shared_ptr<Flight>>> waits;
    for (auto& h : pending) {
      if (values_.find(h) != values_.end()) {
        if (first_pass) ++out.from_cache;
      } else if (auto f = in_flight_.find(h); f != in_flight_.end()) {
        waits.emplace_back(h, f->second);
      } else {
        mine.push_back(h);
      }
    }
    first_pass = false;
    pending.clear();

    if (!mine.empty()) {
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
      if (!got) {
        flight->run_error = got.error();
      } else {
        FetchResult& result = *got;
        for (const auto& h : mine) {
          if (auto v = result.values.find(h); v != result.values.end()) {
            values_.insert_or_assign(h, std::make_shared<const SecureBuffer>(std::move(v->second)));
          } else if (auto e = result.failures.find(h); e != result.failures.end()) {
            flight->failures.emplace(h, e->second);
            out.failures.emplace(h, e->second);
          } else {
            Error e2 = missing_from_run(h);
            flight->failures.emplace(h, e2);
            out.failures.emplace(h, std::move(e2));
          }
        }
        // Values the caller did not ask for die with `got` (SecureBuffer zeroes them).
      }
      flight->done = true;
      cv_.notify_all();
      if (!got) {
        Error e = std::move(got).error();
        lock.unlock();
        return e;
      }
    }

    for (auto& wait : waits) {
      const std::string& h = wait.first;
      const std::shared_ptr<Flight>& flight = wait.second;
      cv_.wait(lock, [&flight] { return flight->done; });
      if (values_.find(h) != values_.end()) continue;
      if (auto e = flight->failures.find(h); e != flight->failures.end()) {
        out.failures.emplace(h, e->second);
      } else if (flight->run_error) {
        // Another thread's whole-run error is this call's per-handle failure.
        out.failures.emplace(h, *flight->run_error);
      } else {
        // Fetched, then cleared before this thread looked: fetch it again.
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
    if (it == values_.end()) return false;
    value = it->second;
    pinned_.insert(value.get());
  }
  // Unpins (under the lock, so redaction never sees a half-removed value) however fn leaves.
  struct Unpin {
    const SecretCache* cache;
    const SecureBuffer* value;
    ~Unpin() {
      std::lock_guard<std::mutex> lock(cache->mu_);
      cache->pinned_.erase(cache->pinned_.find(value));
    }
  } unpin{this, value.get()};
  fn(value->view());
  return true;
}

bool SecretCache::contains(std::string_view handle) const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.find(handle) != values_.end();
}

std::size_t SecretCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.size();
}

Result<CacheRefresh> SecretCache::refresh(Fetcher& fetcher) {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    names.reserve(values_.size());
    for (const auto& [h, v] : values_) names.push_back(h);  // map order: sorted, unique
  }
  CacheRefresh out;
  if (names.empty()) return out;
  log::debug("secret cache: refreshing " + std::to_string(names.size()) + " handle(s) in one backend run");
  Result<FetchResult> got = fetch_guarded(fetcher, names);
  if (!got) return std::move(got).error();
  FetchResult& result = *got;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& h : names) {
      auto cur = values_.find(h);
      if (auto v = result.values.find(h); v != result.values.end()) {
        // Cleared while the run was going: do not bring the value back.
        if (cur == values_.end()) continue;
        if (!secure_equal(cur->second->view(), v->second.view())) {
          // The old value is zeroed when its last user (a with_value callback) lets go.
          cur->second = std::make_shared<const SecureBuffer>(std::move(v->second));
          out.changed.push_back(h);
        }
      } else if (auto e = result.failures.find(h); e != result.failures.end()) {
        // The old value stays usable; the caller learns that it could not be renewed.
        out.failures.emplace(h, e->second);
      } else {
        out.failures.emplace(h, missing_from_run(h));
      }
    }
  }
  if (!out.changed.empty()) {
    log::info("secret cache: refresh changed " + std::to_string(out.changed.size()) + " value(s)");
  }
  return out;
}

void SecretCache::clear() {
  // Under the lock, so a value stays known to redaction until its bytes are gone. Each
  // SecureBuffer zeroes its storage as it is destroyed (the arena takes only its own lock).
  std::lock_guard<std::mutex> lock(mu_);
  values_.clear();
}

void SecretCache::for_each_value(const std::function<void(std::string_view)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [h, v] : values_) fn(v->view());
  for (const SecureBuffer* v : pinned_) fn(v->view());
}

}  // namespace sts
