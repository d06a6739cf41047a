// File: stsecrets/resolver.h
//
// The whole pipe of DESIGN.md for a host program: scan the documents, look the handles up in
// the zeroizing cache, fetch every miss with ONE backend run, validate, cache, substitute.
//
//   auto cfg = sts::load_config_file(path, env);
//   sts::Resolver resolver(*cfg);
//   std::vector<sts::Document> docs{{"conf.d/pg.yaml", YAML::LoadFile("conf.d/pg.yaml")}};
//   auto report = resolver.resolve(docs);
//   if (!report) { /* whole-run error: report.error() */ }
//   else if (!report->failures.empty()) { /* docs untouched; each failure names a handle */ }
//
// All-or-nothing: documents are changed only when every handle resolved. Fail closed: handles
// without a configured backend are Code::config_no_backend, never passed through literally.
//
// Ownership: the Resolver owns its cache and fetcher; values are zeroed on clear() and on
// destruction. Substituted values in YAML nodes are the host's copies (a documented residual
// risk: yaml-cpp strings are ordinary heap memory).
// Thread-safety: all methods may be called concurrently; concurrent misses on the same handle
// share one backend run.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/handles.h"

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

class SecretCache;

struct Document {
  std::string origin;   // file name, for messages
  YAML::Node root;
};

struct HandleFailure {
  std::string handle;
  std::vector<HandleUse> uses;   // where it is used
  Error error;                   // why it failed (Code::handle_*), never a value
};

struct ResolveReport {
  std::size_t handles = 0;          // distinct handles found
  std::size_t from_cache = 0;       // of those, served from the cache
  std::size_t backend_runs = 0;     // runs this call caused (0 or 1, or more only under refresh races)
  std::vector<HandleFailure> failures;
};

struct RefreshReport {
  std::vector<std::string> changed;     // handle names whose value changed; never values
  std::vector<HandleFailure> failures;  // handles the refresh could not fetch (old value kept)
};

class Resolver {
 public:
  explicit Resolver(BackendConfig config, FetcherOptions options = {});
  // For hosts and tests that bring their own fetcher.
  Resolver(BackendConfig config, std::unique_ptr<Fetcher> fetcher);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Resolves every handle in every document with at most one backend run for all misses.
  // Scan errors (bad handles) -> Code::handle_invalid with all of them in the message lines.
  Result<ResolveReport> resolve(std::vector<Document>& docs);
  // Resolves handles in environment values (mode as in scan_environment) in place.
  Result<ResolveReport> resolve_environment(Environment& env, EnvScan mode);
  // Calls fn with the value of each handle (fetching misses in one run). The view is valid only
  // during the call.
  Result<ResolveReport> with_values(const std::vector<std::string>& handles,
                                    const std::function<void(std::string_view handle, std::string_view value)>& fn);
  // Re-fetches every cached handle in one run; reports changed handle names.
  Result<RefreshReport> refresh();
  // With secret_refresh_interval > 0 the constructor starts a background thread that calls
  // refresh() every interval and logs changed handle names at info level; the destructor stops it.
  // Zeroes and drops every cached value.
  void clear();
  // Backend runs so far, for tests and benchmarks.
  std::size_t backend_runs() const;
  const BackendConfig& config() const { return config_; }

 private:
  Result<ResolveReport> lookup(const std::vector<HandleUse>& uses);
  void refresh_loop();

  BackendConfig config_;
  Result<std::unique_ptr<Fetcher>> fetcher_;
  std::unique_ptr<SecretCache> cache_;
  std::atomic<std::size_t> runs_{0};
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace sts
