// make_fetcher() (stsecrets/fetcher.h): the one wrapper every backend goes through, and the
// router in front of them.
//
// BackendFetcher wraps one Source (backend_source.h) in what every backend shares: the main
// config check (SPEC 2), the trailing-line-break rule, the empty-value rule, and the audit record (one JSON line per run;
// when an audit log is configured and cannot be written, the run fails: secrets are not
// released unrecorded).
//
// Router sends each handle to its backend (route_handle), one batch per backend. Several
// backends run in parallel (one thread each beside the caller's), so a resolution takes as long
// as its slowest backend. Its handles are mapped to backend keys and back, their expirations
// with them. Each backend run is reported to the observer (backend_runs.h), if there is one.
#include "stsecrets/fetcher.h"

#include "common/audit.h"
#include "common/backend_runs.h"
#include "common/backend_source.h"
#include "common/executable_check.h"
#include "common/log.h"
#include "common/redaction.h"
#include "common/text.h"

#include <chrono>
#include <exception>
#include <map>
#include <thread>

namespace sts {
namespace {

// Once every backend of a resolution has answered: each error text is scrubbed again, now that
// all the resolution's values are known (another backend's value may be quoted in it, escaped
// or cut by the message's cap: redaction reads both), and the stderr tails are logged (SPEC 6),
// each also with every string its own run's stdout held. (Those strings are not used for the
// error texts: they include the error strings themselves.)
void settle_messages(const std::vector<Result<FetchResult>*>& results, std::vector<StderrLog>& logs) {
  const std::size_t token = redaction::register_source([&](const std::function<void(std::string_view)>& emit) {
    for (const Result<FetchResult>* r : results) {
      if (*r) {
        for (const auto& [h, v] : (*r)->values) emit(v.view());
      }
    }
  });
  for (Result<FetchResult>* r : results) {
    if (!*r) {
      Error e = std::move(*r).error();
      redaction::scrub(e.message);
      *r = std::move(e);
      continue;
    }
    for (auto& [h, e] : (*r)->failures) redaction::scrub(e.message);
  }
  for (StderrLog& log : logs) emit_stderr_log(log);
  redaction::unregister_source(token);
}

class BackendFetcher final : public Fetcher {
 public:
  BackendFetcher(const Backend& backend, const Config& config, std::unique_ptr<Source> source)
      : backend_(backend), config_file_(config.file), audit_file_(config.audit_file),
        audit_max_(config.audit_file_max_size), source_(std::move(source)) {}

  Result<FetchResult> fetch(const std::vector<std::string>& keys) override {
    std::vector<StderrLog> logs;
    Result<FetchResult> result = fetch_keeping_logs(keys, logs);
    settle_messages({&result}, logs);
    return result;
  }

  // fetch(), with the backend's stderr tail left in `logs` for the caller to settle.
  Result<FetchResult> fetch_keeping_logs(const std::vector<std::string>& keys, std::vector<StderrLog>& logs) {
    AuditRecord rec;
    rec.time = std::chrono::system_clock::now();
    rec.executable = backend_.describe();
    rec.handles = keys;
    const auto started = std::chrono::steady_clock::now();
    RunFacts facts;
    Result<FetchResult> result = read_guarded(keys, facts);
    if (result) apply_value_rules(*result);
    if (facts.stderr_log) logs.push_back(std::move(*facts.stderr_log));

    rec.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    rec.sha256 = facts.sha256;
    rec.exit_code = facts.exit_code;
    rec.signal = facts.signal;
    rec.stdout_bytes = facts.stdout_bytes;
    rec.stderr_bytes = facts.stderr_bytes;
    if (result) {
      rec.resolved = result->values.size();
      rec.failed = result->failures.size();
      rec.outcome = "ok";
    } else {
      rec.failed = keys.size();
      rec.outcome = code_name(result.error().code);
    }
    if (!audit_file_.empty()) {
      auto st = append_audit(audit_file_, rec, audit_max_);
      if (!st) return st.error();   // fail closed
    }
    return result;
  }

 private:
  // A Source may throw (bad_alloc). The exception text is not used: it could carry response bytes.
  Result<FetchResult> read_guarded(const std::vector<std::string>& keys, RunFacts& facts) {
    // SPEC 2: the file that names the backend is checked like the executable before every
    // read, whatever the type: it chooses what runs and with which arguments, and equally which
    // document, folder or variables a provider serves (a config built in code has no file).
    if (!config_file_.empty()) {
      if (Status st = platform::check_config_file(config_file_); !st) return std::move(st).error();
    }
    try {
      return source_->read(keys, facts);
    } catch (const std::bad_alloc&) {
      return make_error(Code::internal, "out of memory while reading secrets from " + backend_.describe());
    } catch (...) {
      return make_error(Code::internal, "reading secrets from " + backend_.describe() + " failed unexpectedly");
    }
  }

  // SPEC 2 secret_backend_remove_trailing_line_break, then SPEC 3 "value is empty".
  void apply_value_rules(FetchResult& result) const {
    for (auto it = result.values.begin(); it != result.values.end();) {
      if (backend_.remove_trailing_line_break) strip_trailing_line_breaks(it->second);
      if (!it->second.empty()) {
        ++it;
        continue;
      }
      result.failures.insert_or_assign(
          it->first, make_error(Code::handle_value_empty,
                                "backend " + backend_.describe() + ": handle \"" + sanitize_backend_text(it->first) +
                                    "\": its value is empty" +
                                    (backend_.remove_trailing_line_break ? " (after removing trailing line breaks)" : "")));
      result.expirations.erase(it->first);
      it = result.values.erase(it);
    }
  }

  const Backend& backend_;
  std::string config_file_;
  std::string audit_file_;
  std::uint64_t audit_max_;   // secret_audit_file_max_size: append_audit rotates past it
  std::unique_ptr<Source> source_;
};

class Router final : public Fetcher {
 public:
  Router(Config config, FetcherOptions options, BackendRunObserver observer)
      : config_(std::move(config)), observer_(std::move(observer)) {
    for (const Backend* b : config_.backends()) {
      std::unique_ptr<Source> source = b->type == BackendType::executable
                                           ? make_executable_source(*b, options)
                                           : make_provider_source(*b, options);
      fetchers_.emplace(b, std::make_unique<BackendFetcher>(*b, config_, std::move(source)));
    }
  }

  Result<FetchResult> fetch(const std::vector<std::string>& handles) override {
    // handle -> key, grouped by backend.
    std::map<const Backend*, Batch> batches;
    FetchResult out;
    for (const auto& h : handles) {
      auto route = route_handle(config_, h);
      if (!route) {
        if (route.error().code == Code::config_no_backend) return std::move(route).error();   // fail closed
        out.failures.emplace(h, std::move(route).error());
        continue;
      }
      Batch& b = batches[route->backend];
      b.keys.emplace_back(route->key);
      b.handles.emplace(std::string(route->key), h);
    }
    if (batches.empty()) return out;
    run_batches(batches);
    {
      std::vector<Result<FetchResult>*> results;
      std::vector<StderrLog> logs;
      for (auto& [backend, batch] : batches) {
        results.push_back(&batch.result);
        for (auto& log : batch.logs) logs.push_back(std::move(log));
      }
      settle_messages(results, logs);
    }
    if (batches.size() == 1 && !batches.begin()->second.result) {
      return std::move(batches.begin()->second.result).error();   // one backend: its run error is the run's
    }
    for (auto& [backend, batch] : batches) merge(batch, out);
    return out;
  }

 private:
  struct Batch {
    std::vector<std::string> keys;                         // sorted: handles sort the same way per backend
    std::map<std::string, std::string, std::less<>> handles;   // key -> handle
    Result<FetchResult> result = Error{};
    std::vector<StderrLog> logs;   // settled by fetch() once every batch is in
  };

  void run_batches(std::map<const Backend*, Batch>& batches) {
    std::vector<std::thread> threads;
    auto run = [this](const Backend* backend, Batch& batch) {
      std::sort(batch.keys.begin(), batch.keys.end());
      batch.result = fetchers_.at(backend)->fetch_keeping_logs(batch.keys, batch.logs);
      if (observer_) observer_(backend->name);
    };
    auto first = batches.begin();
    try {
      for (auto it = std::next(first); it != batches.end(); ++it) {
        threads.emplace_back([&run, it] { run(it->first, it->second); });
      }
    } catch (const std::system_error&) {
      // No thread for this batch: the ones without a thread run in this thread below.
    }
    run(first->first, first->second);
    for (auto& t : threads) t.join();
    // Batches whose thread could not start have no result yet.
    std::size_t started = threads.size();
    for (auto it = std::next(first); it != batches.end(); ++it) {
      if (started > 0) {
        --started;
        continue;
      }
      run(it->first, it->second);
    }
  }

  static void merge(Batch& batch, FetchResult& out) {
    for (const auto& [key, handle] : batch.handles) {
      if (!batch.result) {
        out.failures.emplace(handle, batch.result.error());
        continue;
      }
      FetchResult& r = *batch.result;
      if (auto v = r.values.find(key); v != r.values.end()) {
        out.values.emplace(handle, std::move(v->second));
        if (auto x = r.expirations.find(key); x != r.expirations.end()) out.expirations.emplace(handle, x->second);
      } else if (auto e = r.failures.find(key); e != r.failures.end()) {
        out.failures.emplace(handle, std::move(e->second));
      }
      // Neither: the cache reports the handle as missing from the run.
    }
  }

  Config config_;
  BackendRunObserver observer_;
  std::map<const Backend*, std::unique_ptr<BackendFetcher>> fetchers_;
};

}  // namespace

std::unique_ptr<Fetcher> make_fetcher(const Config& config, FetcherOptions options) {
  return std::make_unique<Router>(config, options, nullptr);
}

std::unique_ptr<Fetcher> make_fetcher(const Config& config, FetcherOptions options, BackendRunObserver observer) {
  return std::make_unique<Router>(config, options, std::move(observer));
}

}  // namespace sts
