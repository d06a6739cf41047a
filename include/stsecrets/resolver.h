// File: stsecrets/resolver.h
//
// The whole pipe of DESIGN.md for a host program: scan the documents, look the handles up in
// the zeroizing cache, fetch every miss with one run per backend, validate, cache, substitute.
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
// Ownership: the Resolver owns its cache and fetcher; values are zeroed on clear() and on
// destruction. Substituted values in YAML nodes are the host's copies (a documented residual
// risk: yaml-cpp strings are ordinary heap memory); with_values() hands out views into the
// locked cache instead.
// Thread-safety: all methods may be called concurrently; concurrent misses on the same handle
// share one backend run. Callbacks (with_values) run outside the library's locks: they may log,
// call sts::redact(), or call back into the Resolver.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/documents.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/handles.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
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
  std::size_t from_cache = 0;       // of those, served from the cache
  std::size_t backend_runs = 0;     // fetches this call caused (0 or 1; each is one run per backend)
  std::vector<HandleFailure> failures;
};

struct RefreshReport {
  std::vector<std::string> changed;     // handle names whose value changed; never values
  std::vector<HandleFailure> failures;  // handles the refresh could not fetch (old value kept)
};

// Counters for hosts and benchmarks (the CLI shows none of this).
struct ResolverStats {
  std::size_t runs = 0;                          // fetches started (each is one run per backend involved)
  std::size_t hits = 0;                          // handles served from the cache
  std::size_t misses = 0;                        // handles that needed a fetch
  std::size_t cache_size = 0;                    // values cached now
  std::chrono::milliseconds last_run_duration{0};
  std::map<std::string, std::size_t> failures_by_code;   // code_name() -> count, whole runs and handles
};

class Resolver {
 public:
  explicit Resolver(Config config, FetcherOptions options = {});
  // For hosts and tests that bring their own fetcher.
  Resolver(Config config, std::unique_ptr<Fetcher> fetcher);
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
  // backend); the others are the report's failures. The view is valid only during the call, and
  // fn runs outside every lock of the library.
  Result<ResolveReport> with_values(const std::vector<std::string>& handles,
                                    const std::function<void(std::string_view handle, std::string_view value)>& fn);
  // Re-fetches every cached handle in one run per backend; reports changed handle names.
  Result<RefreshReport> refresh();
  // Zeroes and drops every cached value.
  void clear();
  ResolverStats stats() const;
  const Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sts
