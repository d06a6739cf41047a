// The Resolver: DESIGN's pipe for a host program. scan -> cache lookup -> one backend run for
// all misses -> validation (inside the fetcher) -> cache -> all-or-nothing substitution.
#include "stsecrets/resolver.h"

#include "common/log.h"
#include "common/secret_cache.h"
#include "common/substitution.h"

#include <chrono>

namespace sts {
namespace {

// Joins located scan errors into one Error, one problem per line.
Error scan_failure(const std::vector<Error>& errors) {
  std::string message;
  for (const auto& e : errors) {
    if (!message.empty()) message += '\n';
    message += e.message;
  }
  return make_error(Code::handle_invalid, std::move(message));
}

}  // namespace

Resolver::Resolver(BackendConfig config, FetcherOptions options)
    : config_(std::move(config)),
      fetcher_(make_fetcher(config_, std::move(options))),
      cache_(std::make_unique<SecretCache>()) {
  if (config_.refresh_interval.count() > 0) refresher_ = std::thread([this] { refresh_loop(); });
}

Resolver::Resolver(BackendConfig config, std::unique_ptr<Fetcher> fetcher)
    : config_(std::move(config)), fetcher_(std::move(fetcher)), cache_(std::make_unique<SecretCache>()) {
  if (config_.refresh_interval.count() > 0) refresher_ = std::thread([this] { refresh_loop(); });
}

Resolver::~Resolver() {
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    stopping_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void Resolver::refresh_loop() {
  std::unique_lock<std::mutex> lock(refresh_mu_);
  while (!refresh_cv_.wait_for(lock, config_.refresh_interval, [this] { return stopping_; })) {
    lock.unlock();
    auto r = refresh();
    if (!r) log::warn("periodic refresh failed: " + r.error().message);
    lock.lock();
  }
}

// The shared middle of every resolve: make `uses` available in the cache with at most one run.
Result<ResolveReport> Resolver::lookup(const std::vector<HandleUse>& uses) {
  ResolveReport report;
  const std::vector<std::string> handles = unique_handles(uses);
  report.handles = handles.size();
  if (handles.empty()) return report;
  // Fail closed: handles without a backend are an error, never passed through (CVE-2021-41092).
  if (!fetcher_) return fetcher_.error();
  auto got = cache_->get_or_fetch(handles, *fetcher_.value());
  if (!got) {
    runs_ += 1;
    return std::move(got).error();
  }
  report.from_cache = got->from_cache;
  report.backend_runs = got->backend_runs;
  runs_ += got->backend_runs;
  for (auto& [handle, error] : got->failures) {
    HandleFailure f;
    f.handle = handle;
    for (const auto& u : uses) {
      if (u.handle == handle) f.uses.push_back(u);
    }
    f.error = error;
    report.failures.push_back(std::move(f));
  }
  return report;
}

Result<ResolveReport> Resolver::resolve(std::vector<Document>& docs) {
  std::vector<HandleUse> uses;
  std::vector<Error> errors;
  for (const auto& doc : docs) {
    ScanResult r = scan_document(doc.root, doc.origin);
    uses.insert(uses.end(), r.uses.begin(), r.uses.end());
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
  }
  if (!errors.empty()) return scan_failure(errors);
  auto report = lookup(uses);
  if (!report || !report->failures.empty() || report->handles == 0) return report;
  if (!substitute_documents(docs, *cache_)) {
    return make_error(Code::internal, "a secret was evicted while substituting (concurrent clear()); retry");
  }
  return report;
}

Result<ResolveReport> Resolver::resolve_environment(Environment& env, EnvScan mode) {
  ScanResult r = scan_environment(env, mode);
  if (!r.errors.empty()) return scan_failure(r.errors);
  auto report = lookup(r.uses);
  if (!report || !report->failures.empty() || report->handles == 0) return report;
  if (!substitute_environment(env, r.uses, *cache_)) {
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
    auto st = validate_handle(h, "api", "with_values");
    if (!st) {
      errors.push_back(std::move(st).error());
      continue;
    }
    HandleUse u;
    u.handle = h;
    u.origin = "api";
    uses.push_back(std::move(u));
  }
  if (!errors.empty()) return scan_failure(errors);
  auto report = lookup(uses);
  if (!report || !report->failures.empty()) return report;
  for (const auto& h : unique_handles(uses)) {
    cache_->with_value(h, [&](std::string_view v) { fn(h, v); });
  }
  return report;
}

Result<RefreshReport> Resolver::refresh() {
  RefreshReport out;
  if (cache_->size() == 0) return out;
  if (!fetcher_) return fetcher_.error();
  auto r = cache_->refresh(*fetcher_.value());
  runs_ += 1;
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

void Resolver::clear() { cache_->clear(); }

std::size_t Resolver::backend_runs() const { return runs_.load(); }

}  // namespace sts
