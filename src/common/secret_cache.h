// File: secret_cache.h
//
// The zeroizing secret cache (SPEC 6): handle -> SecureBuffer in the locked arena.
//
//   SecretCache cache;
//   auto got = cache.get_or_fetch({"db_pass"}, fetcher);   // one run for all misses
//   cache.with_value("db_pass", [](std::string_view v) { use(v); });
//
// - Single flight: threads missing the same handle wait for one fetch instead of starting
//   their own; a fetch covers every miss of the calling thread in one run.
// - refresh() re-fetches every cached handle in one run and reports the changed names.
// - clear() and the destructor zero every value (SecureBuffer does the zeroing).
// - Every live cache registers itself as a source of known values for redaction (redaction.h).
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

struct CacheLookup {
  std::size_t from_cache = 0;                         // handles already cached
  std::size_t backend_runs = 0;                       // fetches this call started (0 or 1)
  std::map<std::string, Error, std::less<>> failures; // handles that could not be resolved
};

struct CacheRefresh {
  std::vector<std::string> changed;
  std::map<std::string, Error, std::less<>> failures;
};

class SecretCache {
 public:
  SecretCache();
  ~SecretCache();
  SecretCache(const SecretCache&) = delete;
  SecretCache& operator=(const SecretCache&) = delete;

  // Makes every handle available: cached ones cost nothing; misses (not in flight elsewhere) are
  // fetched in one run; handles in flight in another thread are waited for. A whole-run error
  // of this thread's fetch is returned as the Error; a failure of a fetch run by another thread
  // for a shared handle is reported as that handle's failure.
  Result<CacheLookup> get_or_fetch(const std::vector<std::string>& handles, Fetcher& fetcher);
  // Calls fn with the cached value; false if not cached. fn runs outside the cache lock (it may
  // log, redact, or call back into the cache); the value stays alive, unchanged and known to
  // redaction until fn returns, even if clear() or refresh() drops it meanwhile.
  bool with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const;
  bool contains(std::string_view handle) const;
  std::size_t size() const;
  Result<CacheRefresh> refresh(Fetcher& fetcher);
  void clear();
  // For redaction: fn sees every cached value under the lock.
  void for_each_value(const std::function<void(std::string_view)>& fn) const;

 private:
  struct Flight;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  using Value = std::shared_ptr<const SecureBuffer>;   // shared only with with_value() callers
  std::map<std::string, Value, std::less<>> values_;
  mutable std::multiset<const SecureBuffer*> pinned_;    // values a with_value() callback is using
  std::map<std::string, std::shared_ptr<Flight>, std::less<>> in_flight_;
};

}  // namespace sts
