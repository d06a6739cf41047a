// The Resolver: DESIGN's pipe for a host program. scan (scan_inputs) -> cache lookup -> one
// fetch for all misses (one run per backend, inside the fetcher) -> validation -> cache ->
// all-or-nothing substitution.
#include "stsecrets/resolver.h"

#include "common/log.h"
#include "common/secret_cache.h"
#include "common/substitution.h"
#include "common/text.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sts {
namespace {

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

}  // namespace

struct Resolver::Impl {
  Config config;
  std::unique_ptr<Fetcher> fetcher;
  SecretCache cache;

  mutable std::mutex stats_mu;
  ResolverStats stats;

  std::mutex refresh_mu;
  std::condition_variable refresh_cv;
  bool stopping = false;
  std::thread refresher;

  Impl(Config c, std::unique_ptr<Fetcher> f) : config(std::move(c)), fetcher(std::move(f)) {}

  void count_failure(Code code) {
    std::lock_guard<std::mutex> lock(stats_mu);
    ++stats.failures_by_code[code_name(code)];
  }

  // The shared middle of every resolve: make `uses` available in the cache with at most one fetch.
  Result<ResolveReport> lookup(const std::vector<HandleUse>& uses) {
    ResolveReport report;
    const std::vector<std::string> handles = unique_handles(uses);
    report.handles = handles.size();
    if (handles.empty()) return report;
    const auto started = std::chrono::steady_clock::now();
    auto got = cache.get_or_fetch(handles, *fetcher);
    {
      std::lock_guard<std::mutex> lock(stats_mu);
      const std::size_t runs = got ? got->backend_runs : 1;
      stats.runs += runs;
      if (runs > 0) {
        stats.last_run_duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      }
      if (got) {
        stats.hits += got->from_cache;
        stats.misses += handles.size() - got->from_cache;
      }
    }
    if (!got) {
      count_failure(got.error().code);
      return std::move(got).error();
    }
    report.from_cache = got->from_cache;
    report.backend_runs = got->backend_runs;
    for (auto& [handle, error] : got->failures) {
      count_failure(error.code);
      report.failures.push_back(HandleFailure{handle, uses_of(handle, uses), error});
    }
    return report;
  }

  void refresh_loop(Resolver& owner) {
    std::unique_lock<std::mutex> lock(refresh_mu);
    while (!refresh_cv.wait_for(lock, config.refresh_interval, [this] { return stopping; })) {
      lock.unlock();
      auto r = owner.refresh();
      if (!r) log::warn("periodic refresh failed: " + r.error().message);
      lock.lock();
    }
  }
};

Resolver::Resolver(Config config, FetcherOptions options) {
  auto fetcher = make_fetcher(config, options);
  impl_ = std::make_unique<Impl>(std::move(config), std::move(fetcher));
  if (impl_->config.refresh_interval.count() > 0) impl_->refresher = std::thread([this] { impl_->refresh_loop(*this); });
}

Resolver::Resolver(Config config, std::unique_ptr<Fetcher> fetcher)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(fetcher))) {
  if (impl_->config.refresh_interval.count() > 0) impl_->refresher = std::thread([this] { impl_->refresh_loop(*this); });
}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(impl_->refresh_mu);
    impl_->stopping = true;
  }
  impl_->refresh_cv.notify_all();
  if (impl_->refresher.joinable()) impl_->refresher.join();
}

Result<ResolveReport> Resolver::resolve(std::vector<Document>& docs) {
  ScanResult scan = scan_inputs(docs, nullptr, EnvScan::none, &impl_->config);
  if (!scan.errors.empty()) return scan_failure(scan.errors);
  auto report = impl_->lookup(scan.uses);
  if (!report || !report->failures.empty() || report->handles == 0) return report;
  auto not_utf8 = substitute_documents(docs, impl_->cache);
  if (!not_utf8) return std::move(not_utf8).error();
  for (const auto& handle : *not_utf8) {
    report->failures.push_back(HandleFailure{
        handle, uses_of(handle, scan.uses),
        make_error(Code::handle_value_invalid, "handle \"" + sanitize_backend_text(handle) +
                                                   "\": its value is not valid UTF-8, so it cannot be written into a "
                                                   "YAML document; store the secret as UTF-8 text")});
  }
  return report;
}

Result<ResolveReport> Resolver::resolve_environment(Environment& env, EnvScan mode) {
  ScanResult scan = scan_inputs({}, &env, mode, &impl_->config);
  if (!scan.errors.empty()) return scan_failure(scan.errors);
  auto report = impl_->lookup(scan.uses);
  if (!report || !report->failures.empty() || report->handles == 0) return report;
  if (!substitute_environment(env, scan.uses, impl_->cache)) {
    return make_error(Code::internal, "a secret was evicted while substituting (concurrent clear()); retry");
  }
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
  auto report = impl_->lookup(uses);
  if (!report) return report;
  for (const auto& h : unique_handles(uses)) {
    const bool failed = std::any_of(report->failures.begin(), report->failures.end(),
                                    [&](const HandleFailure& f) { return f.handle == h; });
    if (!failed) impl_->cache.with_value(h, [&](std::string_view v) { fn(h, v); });
  }
  return report;
}

Result<RefreshReport> Resolver::refresh() {
  RefreshReport out;
  if (impl_->cache.size() == 0) return out;
  auto r = impl_->cache.refresh(*impl_->fetcher);
  {
    std::lock_guard<std::mutex> lock(impl_->stats_mu);
    ++impl_->stats.runs;
  }
  if (!r) return std::move(r).error();
  out.changed = std::move(r->changed);
  for (auto& [handle, error] : r->failures) out.failures.push_back({handle, {}, error});
  if (!out.changed.empty()) {
    std::string names;
    for (const auto& n : out.changed) names += (names.empty() ? "" : ", ") + n;
    log::info("refresh: changed handles: " + names);
  }
  return out;
}

void Resolver::clear() { impl_->cache.clear(); }

ResolverStats Resolver::stats() const {
  std::lock_guard<std::mutex> lock(impl_->stats_mu);
  ResolverStats s = impl_->stats;
  s.cache_size = impl_->cache.size();
  return s;
}

const Config& Resolver::config() const { return impl_->config; }

}  // namespace sts
