// The Resolver: DESIGN's pipe for a host program. scan (scan_inputs) -> cache lookup -> one
// fetch for all misses (one run per backend, inside the fetcher) -> validation -> cache ->
// all-or-nothing substitution from a pinned snapshot; and SPEC 9: the refresh schedule
// (refresh_schedule.h) with its optional thread, the startup retry, change notifications
// (change_registry.h) and the counters.
//
// Locks, none of them held while a host callback or a fetch of a lookup runs:
//   refresh_mu  one refresh at a time (held across the refresh's fetch, never across callbacks)
//   sched_mu    the schedule and the refresh thread's wake-ups
//   stats_mu, uses_mu, random_mu  leaf locks
// The cache and the subscriber registry have their own (secret_cache.h, change_registry.h).
#include "stsecrets/resolver.h"

#include "common/backend_runs.h"
#include "common/change_registry.h"
#include "common/log.h"
#include "common/refresh_schedule.h"
#include "common/secret_cache.h"
#include "common/substitution.h"
#include "common/text.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

namespace sts {
namespace {

// How many times one call looks its handles up when values vanish (clear(), expiry) between
// the lookup and their use. Values are fresh when they arrive (expired ones are refused), so
// only a clock passing an expiration, or a clear(), in that short window makes a second
// lookup necessary; a third is already unlikely.
constexpr int kMaxLookups = 3;

// Joins located scan errors into one Error (the first one's code), one problem per line.
Error scan_failure(const std::vector<Error>& errors) {
  std::string message;
  for (const auto& e : errors) {
    if (!message.empty()) message += '\n';
    message += e.message;
  }
  return make_error(errors.front().code, std::move(message));
}

std::vector<HandleUse> uses_of(const std::string& handle, const std::vector<HandleUse>& uses) {
  std::vector<HandleUse> out;
  for (const auto& u : uses) {
    if (u.handle == handle) out.push_back(u);
  }
  return out;
}

std::vector<HandleUse> uses_for(const std::vector<std::string>& handles, const std::vector<HandleUse>& uses) {
  std::vector<HandleUse> out;
  for (const auto& u : uses) {
    if (std::binary_search(handles.begin(), handles.end(), u.handle)) out.push_back(u);
  }
  return out;
}

bool same_place(const HandleUse& a, const HandleUse& b) {
  return a.kind == b.kind && a.origin == b.origin && a.key_path == b.key_path;
}

// A backend's run failed (as opposed to one handle, a rejected backend or the configuration):
// what the startup retry repeats and what counts as a failed refresh.
bool run_failed(Code code) { return category(code) == Category::backend_failed; }

Error dropped_error(std::string_view what) {
  return make_error(Code::internal, "the secrets were dropped (a concurrent clear(), or they expired) each time before "
                                    "they could be " + std::string(what) + "; retry");
}

}  // namespace

struct Resolver::Impl {
  Config config;
  ResolverOptions options;
  std::shared_ptr<Clock> clock;

  mutable std::mutex stats_mu;
  ResolverStats stats;
  bool started = false;   // a run in which no backend failed has happened (ends the startup retry)

  std::unique_ptr<Fetcher> fetcher;   // CountingFetcher around the real one
  SecretCache cache;

  std::mutex uses_mu;
  std::unordered_map<std::string, std::vector<HandleUse>> uses_seen;   // looked up once per use of every resolve

  std::shared_ptr<Subscription::Registry> registry = std::make_shared<Subscription::Registry>();

  std::mutex random_mu;
  std::mt19937_64 prng{std::random_device{}()};

  std::mutex refresh_mu;
  std::mutex sched_mu;
  std::condition_variable sched_cv;
  bool stopping = false;
  bool wake = false;
  std::optional<RefreshSchedule> schedule;
  std::thread refresher;

  Impl(Config c, ResolverOptions o)
      : config(std::move(c)), options(std::move(o)), clock(options.clock ? options.clock : system_clocks()),
        cache(clock) {
    options.startup_retry.attempts = std::max(1, options.startup_retry.attempts);
    options.startup_retry.base_delay = std::max(std::chrono::milliseconds(0), options.startup_retry.base_delay);
    options.startup_retry.max_delay = std::max(std::chrono::milliseconds(0), options.startup_retry.max_delay);
    options.refresh_retry_base = std::max(std::chrono::milliseconds(1), options.refresh_retry_base);
  }

  void start(std::unique_ptr<Fetcher> inner);
  double random();

  // ---- counters --------------------------------------------------------------------------------
  void count_run(std::chrono::steady_clock::duration took) {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.runs;
    stats.last_run_duration = std::chrono::duration_cast<std::chrono::milliseconds>(took);
  }
  void count_backend_run(const std::string& name) {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.runs_by_backend[name];
  }
  bool has_started() {
    std::lock_guard<std::mutex> lock(stats_mu);
    return started;
  }

  // Counts a lookup's or a refresh's failures by code (stats_mu held); true when a backend run
  // failed as a whole, for this lookup or for one of its handles.
  template <class Got>
  bool count_failures(const Got& got) {
    if (!got) {
      ++stats.failures_by_code[code_name(got.error().code)];
      return run_failed(got.error().code);
    }
    bool run = false;
    for (const auto& [h, e] : got->failures) {
      ++stats.failures_by_code[code_name(e.code)];
      run = run || run_failed(e.code);
    }
    return run;
  }

  // ---- uses and notifications ------------------------------------------------------------------
  void record_uses(const std::vector<HandleUse>& uses) {
    std::lock_guard<std::mutex> lock(uses_mu);
    for (const auto& u : uses) {
      auto& seen = uses_seen[u.handle];
      if (std::none_of(seen.begin(), seen.end(), [&](const HandleUse& s) { return same_place(s, u); })) seen.push_back(u);
    }
  }
  std::vector<HandleUse> seen_uses(const std::string& handle) {
    std::lock_guard<std::mutex> lock(uses_mu);
    auto it = uses_seen.find(handle);
    return it == uses_seen.end() ? std::vector<HandleUse>{} : it->second;
  }
  // Outside every lock of the library.
  void notify(std::vector<std::string> changed) {
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    registry->notify(changed, [this](const std::string& h) { return seen_uses(h); });
  }

  // ---- lookups ---------------------------------------------------------------------------------
  Result<CacheLookup> lookup_once(const std::vector<std::string>& handles, bool count_hits, std::size_t& hits,
                                  std::vector<std::string>& changed);
  Result<ResolveReport> lookup(const std::vector<HandleUse>& uses, std::vector<std::string>& changed);
  void pause_before_retry(int failures, const Error& why);
  template <class Use>
  Result<ResolveReport> lookup_pinned(const std::vector<HandleUse>& uses, std::vector<std::string>& changed, Use&& use);

  // ---- refresh ---------------------------------------------------------------------------------
  Result<RefreshReport> refresh_locked(std::vector<std::string>& changed);   // refresh_mu held
  std::chrono::steady_clock::time_point due();
  ScheduledRefresh refresh_if_due();
  void wake_refresher() {
    if (!refresher.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(sched_mu);
      wake = true;
    }
    sched_cv.notify_all();
  }
  void refresh_loop();
  void stop() {
    {
      std::lock_guard<std::mutex> lock(sched_mu);
      stopping = true;
    }
    sched_cv.notify_all();
    if (refresher.joinable()) refresher.join();
  }
};

namespace {

// Every fetch the cache starts goes through here: the run counter and the last run's duration.
class CountingFetcher final : public Fetcher {
 public:
  using OnRun = std::function<void(std::chrono::steady_clock::duration took)>;
  CountingFetcher(std::unique_ptr<Fetcher> inner, std::shared_ptr<Clock> clock, OnRun on_run)
      : inner_(std::move(inner)), clock_(std::move(clock)), on_run_(std::move(on_run)) {}
  Result<FetchResult> fetch(const std::vector<std::string>& handles) override {
    struct Count {
      const CountingFetcher& self;
      std::chrono::steady_clock::time_point started;
      ~Count() { self.on_run_(self.clock_->steady_now() - started); }   // also when the fetcher throws
    } count{*this, clock_->steady_now()};
    return inner_->fetch(handles);
  }

 private:
  std::unique_ptr<Fetcher> inner_;
  std::shared_ptr<Clock> clock_;
  OnRun on_run_;
};

ResolverOptions with_fetcher_options(FetcherOptions fetcher) {
  ResolverOptions options;
  options.fetcher = fetcher;
  return options;
}

}  // namespace

void Resolver::Impl::start(std::unique_ptr<Fetcher> inner) {
  fetcher = std::make_unique<CountingFetcher>(std::move(inner), clock,
                                              [this](std::chrono::steady_clock::duration took) { count_run(took); });
  if (config.refresh_interval.count() <= 0) return;
  schedule.emplace(RefreshSchedule::Settings{config.refresh_interval, config.refresh_scatter, options.refresh_retry_base},
                   clock->steady_now(), [this] { return random(); });
  if (options.refresh_thread) refresher = std::thread([this] { refresh_loop(); });
}

double Resolver::Impl::random() {
  // One call at a time, so a host's random source need not be thread-safe.
  std::lock_guard<std::mutex> lock(random_mu);
  if (options.random) return options.random();
  return std::uniform_real_distribution<double>(0.0, 1.0)(prng);
}

// One cache lookup of sorted, unique handles, counted.
Result<CacheLookup> Resolver::Impl::lookup_once(const std::vector<std::string>& handles, bool count_hits,
                                                std::size_t& hits, std::vector<std::string>& changed) {
  auto got = cache.get_or_fetch(handles, *fetcher, &hits);
  bool backend_failed = !got && run_failed(got.error().code);
  {
    std::lock_guard<std::mutex> lock(stats_mu);
    if (count_hits) {
      stats.hits += hits;
      stats.misses += handles.size() - hits;
    }
    backend_failed = count_failures(got) || backend_failed;
    if (got && got->backend_runs > 0 && !backend_failed) started = true;
  }
  if (got) changed.insert(changed.end(), got->changed.begin(), got->changed.end());
  if (got && got->backend_runs > 0) wake_refresher();   // new values may bring a renewal forward
  return got;
}

void Resolver::Impl::pause_before_retry(int failures, const Error& why) {
  const auto& retry = options.startup_retry;
  const std::chrono::milliseconds pause = full_jitter_backoff(failures, retry.base_delay, retry.max_delay, random());
  log::warn("startup retry " + std::to_string(failures) + " of " + std::to_string(retry.attempts - 1) +
            " in " + std::to_string(pause.count()) + " ms: a secret backend run failed (" + code_name(why.code) +
            "): " + why.message);
  {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.startup_retries;
  }
  clock->sleep_for(pause);
}

// Makes every handle of `uses` available with at most one fetch per attempt; while the Resolver
// has not yet started, repeats the runs that failed (startup retry). A whole-run error of a run
// for every handle is the result's error; one of a retry of some of them is their failure.
Result<ResolveReport> Resolver::Impl::lookup(const std::vector<HandleUse>& uses, std::vector<std::string>& changed) {
  ResolveReport report;
  std::vector<std::string> pending = unique_handles(uses);
  report.handles = pending.size();
  if (pending.empty()) return report;
  std::map<std::string, Error, std::less<>> failed;
  for (int attempt = 1;; ++attempt) {
    std::size_t hits = 0;
    auto got = lookup_once(pending, attempt == 1, hits, changed);
    if (attempt == 1) report.from_cache = hits;
    report.backend_runs += got ? got->backend_runs : 1;
    std::vector<std::string> retry;
    if (!got) {
      if (run_failed(got.error().code)) retry = pending;
    } else {
      for (auto& [h, e] : got->failures) {
        if (run_failed(e.code)) retry.push_back(h);
        failed.insert_or_assign(h, std::move(e));
      }
    }
    const bool again = !retry.empty() && attempt < options.startup_retry.attempts && !has_started();
    if (!again) {
      if (!got) {
        if (pending.size() == report.handles) return std::move(got).error();
        for (const auto& h : pending) failed.insert_or_assign(h, got.error());
      }
      break;
    }
    const Error why = got ? failed.at(retry.front()) : got.error();
    for (const auto& h : retry) failed.erase(h);
    pause_before_retry(attempt, why);
    pending = std::move(retry);
  }
  for (auto& [h, e] : failed) report.failures.push_back(HandleFailure{h, uses_of(h, uses), std::move(e)});
  return report;
}

// lookup(), then use(snapshot, report) with the values pinned, so none can vanish in between;
// when some vanished before they could be pinned, looks up again (at most kMaxLookups times).
template <class Use>
Result<ResolveReport> Resolver::Impl::lookup_pinned(const std::vector<HandleUse>& uses,
                                                    std::vector<std::string>& changed, Use&& use) {
  std::optional<ResolveReport> total;
  std::vector<std::string> handles;   // sorted, unique: computed once
  for (int i = 0; i < kMaxLookups; ++i) {
    auto report = lookup(uses, changed);
    if (!report) return report;
    if (!total) {
      total = std::move(*report);
    } else {
      total->backend_runs += report->backend_runs;
      total->failures = std::move(report->failures);
    }
    if (!total->failures.empty() || total->handles == 0) return std::move(*total);
    if (handles.empty()) handles = unique_handles(uses);
    const CacheSnapshot snapshot = cache.snapshot(handles);
    if (snapshot.missing().empty()) {
      if (Status st = use(snapshot, *total); !st) return std::move(st).error();
      return std::move(*total);
    }
  }
  return dropped_error("substituted");
}

// ---- refresh -------------------------------------------------------------------------------------

Result<RefreshReport> Resolver::Impl::refresh_locked(std::vector<std::string>& changed) {
  {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.refreshes;
  }
  auto got = cache.refresh(*fetcher);
  bool backend_failed = !got;
  {
    std::lock_guard<std::mutex> lock(stats_mu);
    backend_failed = count_failures(got) || backend_failed;
    if (backend_failed) ++stats.refresh_failures;
    else started = true;
  }
  if (schedule) {
    std::lock_guard<std::mutex> lock(sched_mu);
    schedule->ran(clock->steady_now(), !backend_failed, [this] { return random(); });
  }
  if (!got) return std::move(got).error();
  RefreshReport out;
  out.changed = std::move(got->changed);
  for (auto& [handle, error] : got->failures) out.failures.push_back({handle, seen_uses(handle), std::move(error)});
  changed.insert(changed.end(), out.changed.begin(), out.changed.end());
  if (!out.changed.empty()) {
    std::string names;
    for (const auto& n : out.changed) names += (names.empty() ? "\"" : ", \"") + quote_text(n) + "\"";
    log::info("refresh: changed handles: " + names);
  }
  return out;
}

// The schedule's due time, with the cached values' earliest renewal point moved onto the
// steady clock. Only its relation to the schedule's times matters, so it is clamped to one
// interval either way (no overflow for expirations decades away).
std::chrono::steady_clock::time_point Resolver::Impl::due() {
  const auto renewal_wall = cache.earliest_renewal();
  std::optional<std::chrono::steady_clock::time_point> renewal;
  if (renewal_wall) {
    const auto span = std::chrono::duration_cast<std::chrono::system_clock::duration>(config.refresh_interval);
    const auto delta = std::clamp(*renewal_wall - clock->now(), -span, span);
    renewal = clock->steady_now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(delta);
  }
  std::lock_guard<std::mutex> lock(sched_mu);
  return schedule->due(renewal);
}

ScheduledRefresh Resolver::Impl::refresh_if_due() {
  ScheduledRefresh out;
  out.next = std::chrono::steady_clock::time_point::max();
  if (!schedule) return out;
  std::vector<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(refresh_mu);
    const auto now = clock->steady_now();
    if (now < due()) {
      out.next = due();
      return out;
    }
    if (cache.size() == 0) {
      std::lock_guard<std::mutex> sched_lock(sched_mu);
      schedule->skipped(now);
    } else {
      out.ran = true;
      out.result = refresh_locked(changed);
    }
    out.next = due();
  }
  notify(std::move(changed));
  if (out.ran && !*out.result) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(out.next - clock->steady_now());
    log::warn("scheduled refresh failed, old values kept, next attempt in " + std::to_string(wait.count()) +
              " ms: " + out.result->error().message);
  }
  return out;
}

// The refresh thread: runs what is due, then sleeps until the next due time, a wake-up (a
// lookup cached new values) or the destructor.
void Resolver::Impl::refresh_loop() {
  std::unique_lock<std::mutex> lock(sched_mu);
  while (!stopping) {
    wake = false;
    lock.unlock();
    const ScheduledRefresh tick = refresh_if_due();
    lock.lock();
    if (stopping || wake) continue;
    const auto wait = tick.next - clock->steady_now();
    if (wait <= std::chrono::steady_clock::duration::zero()) continue;
    // Never one wait longer than an interval: wait_for with a far deadline could overflow.
    sched_cv.wait_for(lock, std::min<std::chrono::steady_clock::duration>(wait, config.refresh_interval),
                      [this] { return stopping || wake; });
  }
}

// ---- Resolver ------------------------------------------------------------------------------------

Resolver::Resolver(Config config, FetcherOptions options)
    : Resolver(std::move(config), with_fetcher_options(options)) {}

Resolver::Resolver(Config config, ResolverOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options))) {
  Impl* impl = impl_.get();
  impl_->start(make_fetcher(impl_->config, impl_->options.fetcher,
                            [impl](const std::string& backend) { impl->count_backend_run(backend); }));
}

Resolver::Resolver(Config config, std::unique_ptr<Fetcher> fetcher, ResolverOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options))) {
  impl_->start(std::move(fetcher));
}

Resolver::~Resolver() { impl_->stop(); }

Result<ResolveReport> Resolver::resolve(std::vector<Document>& docs) {
  ScanResult scan = scan_inputs(docs, nullptr, EnvScan::none, &impl_->config);
  if (!scan.errors.empty()) return scan_failure(scan.errors);
  impl_->record_uses(scan.uses);
  std::vector<std::string> changed;
  auto report = impl_->lookup_pinned(scan.uses, changed, [&](const CacheSnapshot& values, ResolveReport& out) -> Status {
    auto not_utf8 = substitute_documents(docs, values);
    if (!not_utf8) return std::move(not_utf8).error();
    for (const auto& handle : *not_utf8) {
      out.failures.push_back(HandleFailure{
          handle, uses_of(handle, scan.uses),
          make_error(Code::handle_value_invalid, "handle \"" + sanitize_backend_text(handle) +
                                                     "\": its value is not valid UTF-8, so it cannot be written into a "
                                                     "YAML document; store the secret as UTF-8 text")});
    }
    return ok();
  });
  impl_->notify(std::move(changed));
  return report;
}

Result<ResolveReport> Resolver::resolve_environment(Environment& env, EnvScan mode) {
  ScanResult scan = scan_inputs({}, &env, mode, &impl_->config);
  if (!scan.errors.empty()) return scan_failure(scan.errors);
  impl_->record_uses(scan.uses);
  std::vector<std::string> changed;
  auto report = impl_->lookup_pinned(scan.uses, changed, [&](const CacheSnapshot& values, ResolveReport&) -> Status {
    if (!substitute_environment(env, scan.uses, values)) {
      return make_error(Code::internal, "the environment changed while it was being resolved; retry");
    }
    return ok();
  });
  impl_->notify(std::move(changed));
  return report;
}

Result<ResolveReport> Resolver::with_values(
    const std::vector<std::string>& handles,
    const std::function<void(std::string_view handle, std::string_view value)>& fn) {
  std::vector<HandleUse> uses;
  std::vector<Error> errors;
  for (const auto& h : handles) {
    if (Status st = validate_handle(h, "api", "with_values"); !st) {
      errors.push_back(std::move(st).error());
      continue;
    }
    uses.push_back(HandleUse{HandleUse::Kind::api, h, "api", "with_values", {}});
  }
  if (!errors.empty()) return scan_failure(errors);
  impl_->record_uses(uses);
  std::vector<std::string> changed;
  std::optional<ResolveReport> total;
  std::vector<HandleUse> pending = uses;
  // Hands out each value that is fresh now; the ones that vanished since the lookup (clear(),
  // expiry) are looked up again, at most kMaxLookups times in all.
  for (int i = 0; i < kMaxLookups && !pending.empty(); ++i) {
    auto report = impl_->lookup(pending, changed);
    if (!report) {
      if (!total) {
        impl_->notify(std::move(changed));
        return report;
      }
      for (const auto& h : unique_handles(pending)) {
        total->failures.push_back(HandleFailure{h, uses_of(h, uses), report.error()});
      }
      pending.clear();
      break;
    }
    if (!total) {
      total = std::move(*report);
    } else {
      total->backend_runs += report->backend_runs;
      std::move(report->failures.begin(), report->failures.end(), std::back_inserter(total->failures));
    }
    std::vector<std::string> vanished;
    for (const auto& h : unique_handles(pending)) {
      const bool failed = std::any_of(total->failures.begin(), total->failures.end(),
                                      [&](const HandleFailure& f) { return f.handle == h; });
      if (!failed && !impl_->cache.with_value(h, [&](std::string_view v) { fn(h, v); })) vanished.push_back(h);
    }
    pending = uses_for(vanished, uses);
  }
  for (const auto& h : unique_handles(pending)) {
    total->failures.push_back(HandleFailure{h, uses_of(h, uses), dropped_error("handed out")});
  }
  impl_->notify(std::move(changed));
  if (!total) return ResolveReport{};
  return std::move(*total);
}

Result<RefreshReport> Resolver::refresh() {
  std::vector<std::string> changed;
  Result<RefreshReport> out = RefreshReport{};
  {
    std::lock_guard<std::mutex> lock(impl_->refresh_mu);
    if (impl_->cache.size() == 0) return out;
    out = impl_->refresh_locked(changed);
  }
  impl_->notify(std::move(changed));
  return out;
}

ScheduledRefresh Resolver::refresh_if_due() { return impl_->refresh_if_due(); }

Subscription Resolver::subscribe(ChangeCallback callback) {
  const std::uint64_t id = impl_->registry->add(std::move(callback));
  return Subscription(impl_->registry, id);
}

void Resolver::clear() {
  impl_->cache.clear();
  std::lock_guard<std::mutex> lock(impl_->uses_mu);
  impl_->uses_seen.clear();
}

ResolverStats Resolver::stats() const {
  const std::size_t cache_size = impl_->cache.size();
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  ResolverStats s = impl_->stats;
  s.cache_size = cache_size;
  return s;
}

const Config& Resolver::config() const { return impl_->config; }

}  // namespace sts
