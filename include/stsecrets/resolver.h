// File: stsecrets/resolver.h
//
// The whole pipe of DESIGN.md for a host program: scan the documents, look the handles up in
// the zeroizing cache, fetch every miss with one run per backend, validate, cache, substitute;
// and, for long-running hosts, the secrets that change (SPEC 9): expiry, scheduled refresh,
// change notifications and a startup retry.
//
//   auto cfg = sts::load_config_file(path, env);
//   sts::Resolver resolver(*cfg);
//   auto docs = sts::load_documents({"conf.d/pg.yaml"});
//   auto report = resolver.resolve(*docs);
//   if (!report) { /* whole-run error: report.error() */ }
//   else if (!report->failures.empty()) { /* docs untouched; each failure names a handle */ }
//
// All-or-nothing: documents are changed only when every handle resolved. Fail closed: handles
// without a configured backend are Code::config_no_backend, never passed through literally.
//
// Secrets that change. With secret_refresh_interval > 0 the Resolver refreshes by itself, on a
// thread of its own; the host only listens:
//
//   sts::Resolver resolver(*cfg);                     // secret_refresh_interval: 300
//   sts::Subscription sub = resolver.subscribe(
//       [&](std::string_view handle, const std::vector<sts::HandleUse>& uses) {
//         for (const auto& use : uses) reload(use.origin);   // names and places, never the value
//       });
//   // ... reload() calls resolver.resolve() again, or with_values() for the new value.
//
// A host with its own event loop (or a test with a ManualClock) drives the schedule instead:
//
//   sts::ResolverOptions options;
//   options.refresh_thread = false;
//   sts::Resolver resolver(*cfg, options);
//   while (running) {
//     sts::ScheduledRefresh tick = resolver.refresh_if_due();   // runs only when due
//     if (tick.ran && !*tick.result) log(tick.result->error().message);   // retried with backoff
//     // New values with an expiration can bring the due time forward: wake up at least every
//     // few seconds, or call refresh_if_due() again after a resolve.
//     wait_until(std::min(tick.next, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
//   }
//
// - Expiry: a value whose backend gave an `expiration` is served until then, never at or after
//   it; the first use at or after it fetches it again (single flight). A value whose expiration
//   has already passed when it arrives fails its handle (Code::handle_value_invalid).
// - Refresh: one run per backend re-fetches every cached handle. The first is due at a random
//   point within the first interval (secret_refresh_scatter) counted from construction, then
//   one interval after each success. A refresh in which a backend's run fails keeps the old
//   values and is retried after u * min(interval, refresh_retry_base * 2^(n-1)) for the n-th
//   failure in a row (u uniform in [0, 1): full jitter). Per-handle failures keep the old value
//   and wait for the next interval. A value with an expiration is renewed when four fifths of
//   its lifetime (arrival to expiration) have passed, so a value valid for 10 minutes is
//   refreshed 2 minutes before it expires; such renewals are at least
//   min(refresh_retry_base, interval) apart. With secret_refresh_interval 0 nothing runs by
//   itself: expired values are fetched again on their next use.
// - Change notification: subscribers learn the name and every use of each handle whose value
//   changed (a refresh, or an expired value fetched again), never the value itself.
// - Startup retry (ResolverOptions::startup_retry): until the Resolver's first run in which no
//   backend failed, a backend run that fails as a whole (Category::backend_failed: exit status,
//   signal, timeout, bad response, cannot start) is retried with full-jitter backoff, up to
//   `attempts` runs in all. Only the handles of the failed run are fetched again. Per-handle
//   failures, rejected backends and configuration errors are never retried.
//
// Ownership: the Resolver owns its cache and fetcher; values are zeroed on clear() and on
// destruction. Substituted values in YAML nodes are the host's copies (a documented residual
// risk: yaml-cpp strings are ordinary heap memory); with_values() hands out views into the
// locked cache instead.
//
// Threading rules:
// - Every method may be called concurrently from any thread; concurrent misses on the same
//   handle share one backend run.
// - Callbacks (with_values, subscribers) run outside every lock of the library: they may log,
//   call sts::redact(), call back into the Resolver (resolve, with_values, refresh, clear), and
//   subscribe or unsubscribe.
// - A subscriber runs on the thread that saw the change: the refresh thread, or the thread whose
//   resolve / with_values / refresh fetched the new value, after that call's work is done and
//   before it returns. Two changes seen by two threads can reach a subscriber at the same time.
// - Destroying (or reset()) a Subscription unsubscribes: when it returns, the callback is not
//   running on any other thread and will not be called again. Called from inside its own
//   callback it returns at once (the current call finishes normally). A Subscription may outlive
//   its Resolver; destroying it then does nothing.
// - Do not destroy the Resolver while another thread is inside one of its methods, nor from
//   inside one of its callbacks. The destructor stops and joins the refresh thread.
#pragma once

#include "stsecrets/clock.h"
#include "stsecrets/config.h"
#include "stsecrets/documents.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/handles.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

struct HandleFailure {
  std::string handle;
  std::vector<HandleUse> uses;   // where it is used
  Error error;                   // why it failed (Code::handle_* or a backend's run error), never a value
};

struct ResolveReport {
  std::size_t handles = 0;          // distinct handles found
  std::size_t from_cache = 0;       // of those, served from the cache at the first lookup
  std::size_t backend_runs = 0;     // fetches this call caused (each is one run per backend): 0 or 1, more
                                    // with a startup retry or when values expired meanwhile
  std::vector<HandleFailure> failures;
};

struct RefreshReport {
  std::vector<std::string> changed;     // handle names whose value changed; never values
  std::vector<HandleFailure> failures;  // handles the refresh could not fetch (old value kept while fresh)
};

// What refresh_if_due() did.
struct ScheduledRefresh {
  bool ran = false;                                   // a refresh ran (false: not due, or nothing cached)
  std::optional<Result<RefreshReport>> result;        // its outcome, when it ran
  std::chrono::steady_clock::time_point next;         // when the next one is due, on the Resolver's clock
                                                      // (time_point::max() without secret_refresh_interval)
};

// Counters for hosts and benchmarks (the CLI shows none of this). Each is exact under the
// definition given; tests/unit/test_resolver.cpp checks them one by one.
struct ResolverStats {
  std::size_t runs = 0;             // fetches started (lookups, retries, refreshes), each one run per backend involved
  std::map<std::string, std::size_t> runs_by_backend;   // backend name ("" = default) -> its runs; the built-in
                                                         // fetcher only (a host's own Fetcher counts in runs only)
  std::size_t hits = 0;             // handles served from the cache, per lookup
  std::size_t misses = 0;           // handles that needed a fetch, per lookup (a handle fetched again because it
                                    // expired or was cleared before it could be used counts again)
  std::size_t cache_size = 0;       // values held now (expired ones awaiting renewal included)
  std::size_t refreshes = 0;        // refreshes that ran (manual and scheduled; an empty cache runs none)
  std::size_t refresh_failures = 0; // of those, the ones in which a backend's run failed (old values kept)
  std::size_t startup_retries = 0;  // runs repeated by the startup retry
  std::chrono::milliseconds last_run_duration{0};        // of the fetch that finished last
  std::map<std::string, std::size_t> failures_by_code;   // code_name() -> count: one per failed whole run (each
                                                         // attempt) and one per handle failure of each lookup and refresh
};

// The startup retry (see the banner). attempts = runs in all, so 1 means no retry.
struct StartupRetry {
  int attempts = 1;                                  // default: no retry
  std::chrono::milliseconds base_delay{1000};        // the first pause is up to this long
  std::chrono::milliseconds max_delay{30000};        // no pause is longer
};

struct ResolverOptions {
  FetcherOptions fetcher;                            // the built-in fetcher's options (unused with a host's Fetcher)
  StartupRetry startup_retry;                        // default: no retry
  std::chrono::milliseconds refresh_retry_base{1000};  // bound of the first pause after a failed refresh
  bool refresh_thread = true;                        // with secret_refresh_interval > 0, refresh on a thread of
                                                     // the Resolver's own; false: the host calls refresh_if_due()
  std::shared_ptr<Clock> clock;                      // nullptr: the system clocks (clock.h); the refresh thread
                                                     // waits in real time, so a ManualClock goes with
                                                     // refresh_thread = false
  std::function<double()> random;                    // uniform in [0, 1), for scatter and jitter, called one call
                                                     // at a time; nullptr: a PRNG seeded from std::random_device
};

// Called with a handle whose value changed and every use of it the Resolver has seen (resolve,
// resolve_environment, with_values) since the last clear().
using ChangeCallback = std::function<void(std::string_view handle, const std::vector<HandleUse>& uses)>;

// A subscription to change notifications; unsubscribes when destroyed (see the threading rules).
class Subscription {
 public:
  Subscription() noexcept = default;
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();
  // Unsubscribes now (idempotent).
  void reset();
  // Still subscribed to a live Resolver.
  bool active() const;

  struct Registry;   // internal: the Resolver's list of subscribers (src/common/change_registry.h)

 private:
  friend class Resolver;
  Subscription(std::weak_ptr<Registry> registry, std::uint64_t id) noexcept;
  std::weak_ptr<Registry> registry_;
  std::uint64_t id_ = 0;
};

class Resolver {
 public:
  explicit Resolver(Config config, FetcherOptions options = {});
  Resolver(Config config, ResolverOptions options);
  // For hosts and tests that bring their own fetcher.
  Resolver(Config config, std::unique_ptr<Fetcher> fetcher, ResolverOptions options = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves every handle in every document with at most one run per backend for all misses.
  // Scan errors (bad handles, unknown backends) -> the first one's code, all of them in the
  // message, one per line.
  Result<ResolveReport> resolve(std::vector<Document>& docs);
  // Resolves handles in environment values (mode as in scan_environment) in place.
  Result<ResolveReport> resolve_environment(Environment& env, EnvScan mode);
  // Calls fn with the value of each handle that resolved (fetching misses in one run per
  // backend); the others are the report's failures. Never hands out an expired value. The view
  // is valid only during the call, and fn runs outside every lock of the library.
  Result<ResolveReport> with_values(const std::vector<std::string>& handles,
                                    const std::function<void(std::string_view handle, std::string_view value)>& fn);
  // Re-fetches every cached handle in one run per backend now; reports changed handle names.
  // Counts as a refresh for the schedule.
  Result<RefreshReport> refresh();
  // Runs a refresh if one is due by the schedule (see the banner).
  ScheduledRefresh refresh_if_due();
  // Subscribes to change notifications (see the threading rules).
  [[nodiscard]] Subscription subscribe(ChangeCallback callback);
  // Zeroes and drops every cached value, and forgets the uses seen.
  void clear();
  ResolverStats stats() const;
  const Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sts
