// File: secret_cache.h
//
// The zeroizing secret cache (SPEC 6, 9): handle -> SecureBuffer in the locked arena, with the
// expiration the backend gave, if any.
//
//   SecretCache cache(clock);                                // clock: nullptr = system clocks
//   auto got = cache.get_or_fetch({"db_pass"}, fetcher);   // one run for all misses
//   cache.with_value("db_pass", [](std::string_view v) { use(v); });
//   CacheSnapshot snap = cache.snapshot({"db_pass"});       // pinned: cannot vanish while held
//
// - Single flight: threads missing the same handle wait for one fetch instead of starting
//   their own; a fetch covers every miss of the calling thread in one run.
// - Expiry: a value with an expiration E is *fresh* while now < E (at E itself it has expired),
//   on the cache's clock. Only fresh values are served (with_value, contains, snapshot); an
//   expired one is a miss that the next get_or_fetch fetches again (single flight as usual).
//   The expired value stays held, unserved, until that fetch or a refresh renews it (then a
//   different new value is reported as changed) or fails to (then it is dropped and zeroed),
//   or until clear(). A value whose expiration is already past when it arrives fails its
//   handle (Code::handle_value_invalid) and is never cached.
// - refresh() re-fetches every held handle in one run and reports the changed names.
// - clear() and the destructor zero every value (SecureBuffer does the zeroing).
// - Every live cache registers itself as a source of known values for redaction (redaction.h);
//   expired and pinned values stay known until their bytes are gone.
//
// Thread-safety: every method is safe from any thread. A CacheSnapshot must not outlive its cache.
#pragma once

#include "stsecrets/clock.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// Where substitution reads values from: the cache itself, or a snapshot of it.
class ValueLookup {
 public:
  // Calls fn with the value of handle; false when there is none to hand out.
  virtual bool with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const = 0;
  virtual bool contains(std::string_view handle) const = 0;

 protected:
  ValueLookup() = default;
  ValueLookup(const ValueLookup&) = default;
  ValueLookup& operator=(const ValueLookup&) = default;
  ~ValueLookup() = default;
};

struct CacheLookup {
  std::size_t from_cache = 0;                         // handles already cached (and fresh)
  std::size_t backend_runs = 0;                       // fetches this call started (0 or 1)
  std::map<std::string, Error, std::less<>> failures; // handles that could not be resolved
  std::vector<std::string> changed;                   // expired values fetched again that came back different
};

struct CacheRefresh {
  std::vector<std::string> changed;
  std::map<std::string, Error, std::less<>> failures;
};

class SecretCache;

// Fresh values of some handles, pinned: they stay alive, unchanged and known to redaction until
// the snapshot is destroyed, even when clear(), refresh() or expiry drops them from the cache
// meanwhile. The handles that had no fresh value are in missing().
class CacheSnapshot final : public ValueLookup {
 public:
  CacheSnapshot(const CacheSnapshot&) = delete;
  CacheSnapshot& operator=(const CacheSnapshot&) = delete;
  ~CacheSnapshot();
  bool with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const override;
  bool contains(std::string_view handle) const override;
  const std::vector<std::string>& missing() const noexcept { return missing_; }

 private:
  friend class SecretCache;
  using Values = std::map<std::string, std::shared_ptr<const SecureBuffer>, std::less<>>;
  CacheSnapshot(const SecretCache* cache, Values values, std::vector<std::string> missing);
  const SecretCache* cache_;
  Values values_;
  std::vector<std::string> missing_;
};

class SecretCache final : public ValueLookup {
 public:
  explicit SecretCache(std::shared_ptr<const Clock> clock = nullptr);
  ~SecretCache();
  SecretCache(const SecretCache&) = delete;
  SecretCache& operator=(const SecretCache&) = delete;

  // Makes every handle available: fresh cached ones cost nothing; misses (not in flight
  // elsewhere) are fetched in one run; handles in flight in another thread are waited for. A
  // whole-run error of this thread's fetch is returned as the Error; a failure of a fetch run by
  // another thread for a shared handle is reported as that handle's failure. When `hits` is
  // given it receives from_cache even when the run fails.
  Result<CacheLookup> get_or_fetch(const std::vector<std::string>& handles, Fetcher& fetcher,
                                   std::size_t* hits = nullptr);
  // Calls fn with the cached value if it is fresh; false otherwise. fn runs outside the cache
  // lock (it may log, redact, or call back into the cache); the value stays alive, unchanged and
  // known to redaction until fn returns, even if clear() or refresh() drops it meanwhile.
  bool with_value(std::string_view handle, const std::function<void(std::string_view)>& fn) const override;
  // A fresh value is cached for handle.
  bool contains(std::string_view handle) const override;
  // Values held, expired ones awaiting renewal included.
  std::size_t size() const;
  // Pins the fresh values of handles (see CacheSnapshot).
  CacheSnapshot snapshot(const std::vector<std::string>& handles) const;
  // Re-fetches every held handle in one run. A handle that fails keeps its old value while it
  // is fresh; an expired one is dropped. A whole-run error changes nothing but drops the
  // expired values.
  Result<CacheRefresh> refresh(Fetcher& fetcher);
  // The earliest renewal point of the values that have an expiration: four fifths of the way
  // from when each arrived to when it expires (a value valid for 10 minutes is due for renewal
  // 2 minutes before it expires). nullopt when no value has an expiration.
  std::optional<std::chrono::system_clock::time_point> earliest_renewal() const;
  void clear();
  // For redaction: fn sees every held value (fresh, expired, pinned) under the lock.
  void for_each_value(const std::function<void(std::string_view)>& fn) const;

 private:
  friend class CacheSnapshot;
  struct Flight;
  using Value = std::shared_ptr<const SecureBuffer>;   // shared only with with_value() callers and snapshots
  using TimePoint = std::chrono::system_clock::time_point;
  struct Entry {
    Value value;
    std::optional<TimePoint> expires;   // from the backend's `expiration`
    TimePoint arrived;                  // when the value was stored (wall clock)
  };
  // Hashed: a resolve of 10,000 cached handles looks each up several times (bench row 4).
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  using Entries = std::unordered_map<std::string, Entry, NameHash, std::equal_to<>>;

  static bool fresh(const Entry& e, TimePoint now) noexcept { return !e.expires || now < *e.expires; }
  // Stores one fetched value (the lock held); false when it had already expired on arrival.
  bool store(const std::string& handle, SecureBuffer&& value, std::optional<TimePoint> expires, TimePoint now,
             std::vector<std::string>& changed);
  // Drops the held value of handle if it has expired (the lock held).
  void drop_if_expired(std::string_view handle, TimePoint now);
  // get_or_fetch's own fetch; returns the whole-run error, if any.
  std::optional<Error> fetch_and_store(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& mine,
                                       Fetcher& fetcher, CacheLookup& out);
  void unpin(const SecureBuffer* value) const;

  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Entries values_;
  mutable std::unordered_multiset<const SecureBuffer*> pinned_;  // values a with_value() callback or a snapshot is using
  std::map<std::string, std::shared_ptr<Flight>, std::less<>> in_flight_;
};

}  // namespace sts
