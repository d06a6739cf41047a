// The executable backend's Source (backend_source.h): DESIGN step 4 for one executable run.
//   (main config check, SPEC 2: backend_fetcher.cpp, for every type) -> executable check (SPEC 5) -> hardened run (SPEC 4)
//   -> strict validation (SPEC 3) -> the backend's stderr tail, redacted, to the log (SPEC 6).
// The platform parts are platform::check_executable / run_backend.
#include "common/backend_source.h"

#include "common/executable_check.h"
#include "common/log.h"
#include "common/process.h"
#include "common/protocol.h"
#include "common/redaction.h"
#include "common/test_hooks.h"

#include <string>

namespace sts {
namespace {

class ExecutableSource final : public Source {
 public:
  ExecutableSource(const Backend& backend, const FetcherOptions& options)
      : exec_(backend.exec), options_(options) {}

  Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) override {
    CheckOptions check{exec_.command, exec_.allow_group_exec, exec_.sha256};
    // `#!/usr/bin/env NAME` is checked in the PATH the backend will get.
    check.child_path = backend_search_path(exec_.environment, options_.caller_environment);
    auto exe = platform::check_executable(check);
    if (!exe) return std::move(exe).error();
    facts.sha256 = exe->sha256();
    test_hooks::after_check();

    const std::string request = encode_request(Request{exec_.protocol, keys, exec_.timeout});
    RunOptions ro;
    ro.executable = &exe.value();
    ro.arguments = exec_.arguments;
    ro.environment_allow = exec_.environment;
    ro.caller_environment = options_.caller_environment;
    ro.timeout = exec_.timeout;
    ro.output_max_size = exec_.output_max_size;
    ro.input = request;
    RunStats stats;
    Result<RunOutput> out = run_backend(ro, stats);
    facts.exit_code = stats.exit_code;
    facts.signal = stats.signal;
    facts.stdout_bytes = stats.stdout_bytes;
    facts.stderr_bytes = stats.stderr_bytes;

    Result<FetchResult> validated = out ? validate_response(out->out.view(), keys, {false}, exec_.command)
                                        : Result<FetchResult>(std::move(out).error());
    log_stderr(stats, out ? out->out.view() : stats.failed_stdout.view(), validated);
    return validated;
  }

 private:
  // Logs the backend's stderr tail (SPEC 6 "Logs"). Every string value its stdout held, whether
  // the run succeeded or failed (non-zero exit, duplicate key, cap, bad JSON), is a known value
  // for the duration of the log call: a backend that echoes its answer to stderr gets it masked.
  // The tail may start inside a value: its fragment is masked too (stream_start). When the
  // strings cannot all be collected (out of secure memory), the tail is not logged at all.
  void log_stderr(const RunStats& stats, std::string_view stdout_bytes, const Result<FetchResult>& validated) const {
    if (stats.stderr_tail.empty()) return;
    std::vector<SecureBuffer> seen;
    const bool collected = for_each_response_string(stdout_bytes, [&](std::string_view v) { seen.emplace_back(v); });
    const std::string prefix = "backend " + exec_.command + " stderr (last " + std::to_string(stats.stderr_tail.size()) +
                               " of " + std::to_string(stats.stderr_bytes) + " bytes): ";
    if (!collected) {
      log::warn(prefix + "not logged: its stdout could not be scanned for values to mask");
      return;
    }
    const FetchResult* fetched = validated ? &validated.value() : nullptr;
    const std::size_t token = redaction::register_source([&](const std::function<void(std::string_view)>& emit) {
      for (const auto& v : seen) emit(v.view());
      if (fetched != nullptr) {
        for (const auto& [h, v] : fetched->values) emit(v.view());
      }
    });
    std::string line = prefix;
    // Room for every mask up front, so scrubbing never reallocates and leaves an unzeroed copy.
    line.reserve(2 * (line.size() + stats.stderr_tail.size()) + 16);
    line.append(stats.stderr_tail.view());
    redaction::ScrubOptions options;
    if (stats.stderr_bytes > stats.stderr_tail.size()) options.stream_start = prefix.size();   // the tail was cut
    redaction::scrub(line, options);
    redaction::unregister_source(token);
    if (validated) {
      log::info(line);
    } else {
      log::warn(line);
    }
    secure_zero(line.data(), line.size());
  }

  ExecutableSettings exec_;
  FetcherOptions options_;
};

}  // namespace

std::unique_ptr<Source> make_executable_source(const Backend& backend, const FetcherOptions& options) {
  return std::make_unique<ExecutableSource>(backend, options);
}

}  // namespace sts
