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
    keep_stderr(stats, out ? out->out.view() : stats.failed_stdout.view(), validated.has_value(), facts);
    return validated;
  }

 private:
  // The backend's stderr tail (SPEC 6 "Logs"), kept for the router to log once every backend of
  // the resolution has answered. Every string value its stdout held, whether the run succeeded
  // or failed (non-zero exit, duplicate key, cap, bad JSON), goes with it: a backend that echoes
  // its answer to stderr gets it masked. When the strings cannot all be collected (out of secure
  // memory), the tail is not logged at all.
  void keep_stderr(const RunStats& stats, std::string_view stdout_bytes, bool ok, RunFacts& facts) const {
    if (stats.stderr_tail.empty()) return;
    StderrLog log;
    log.prefix = "backend " + exec_.command + " stderr (last " + std::to_string(stats.stderr_tail.size()) + " of " +
                 std::to_string(stats.stderr_bytes) + " bytes): ";
    if (!for_each_response_string(stdout_bytes, [&](std::string_view v) { log.seen.emplace_back(v); })) {
      log::warn(log.prefix + "not logged: its stdout could not be scanned for values to mask");
      return;
    }
    log.tail = stats.stderr_tail.copy();
    log.cut = stats.stderr_bytes > stats.stderr_tail.size();
    log.warn = !ok;
    facts.stderr_log = std::move(log);
  }

  ExecutableSettings exec_;
  FetcherOptions options_;
};

}  // namespace

void emit_stderr_log(StderrLog& log) {
  const std::size_t token = redaction::register_source([&](const std::function<void(std::string_view)>& emit) {
    for (const auto& v : log.seen) emit(v.view());
  });
  std::string line = log.prefix;
  // Room for every mask up front, so scrubbing never reallocates and leaves an unzeroed copy.
  line.reserve(2 * (line.size() + log.tail.size()) + 16);
  line.append(log.tail.view());
  redaction::ScrubOptions options;
  if (log.cut) options.stream_start = log.prefix.size();
  redaction::scrub(line, options);
  redaction::unregister_source(token);
  if (log.warn) {
    log::warn(line);
  } else {
    log::info(line);
  }
  secure_zero(line.data(), line.size());
}

std::unique_ptr<Source> make_executable_source(const Backend& backend, const FetcherOptions& options) {
  return std::make_unique<ExecutableSource>(backend, options);
}

}  // namespace sts
