// make_fetcher(): the backend run of DESIGN step 4 for an executable backend, glued together
// from the platform check (executable_check.h) and spawn (process.h), the strict validator
// (protocol.h) and the audit log (audit.h). The file backend lives in file_backend.cpp.
#include "stsecrets/fetcher.h"

#include "common/audit.h"
#include "common/executable_check.h"
#include "common/file_backend.h"
#include "common/log.h"
#include "common/process.h"
#include "common/protocol.h"
#include "common/redaction.h"

#include <chrono>
#include <string>

namespace sts {
namespace {

class ExecutableFetcher final : public Fetcher {
 public:
  ExecutableFetcher(const BackendConfig& config, FetcherOptions options)
      : config_(config), options_(std::move(options)) {}

  Result<FetchResult> fetch(const std::vector<std::string>& handles) override {
    AuditRecord rec;
    rec.time = std::chrono::system_clock::now();
    rec.executable = config_.command;
    rec.handles = handles;
    auto started = std::chrono::steady_clock::now();

    Result<FetchResult> result = run(handles, rec);

    rec.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (result) {
      rec.resolved = result->values.size();
      rec.failed = result->failures.size();
      rec.outcome = "ok";
    } else {
      rec.failed = handles.size();
      rec.outcome = code_name(result.error().code);
    }
    if (!config_.audit_file.empty()) {
      // Fail closed: when an audit log is configured, secrets are not released unrecorded.
      auto st = append_audit(config_.audit_file, rec);
      if (!st) return st.error();
    }
    return result;
  }

 private:
  Result<FetchResult> run(const std::vector<std::string>& handles, AuditRecord& rec) {
    CheckOptions check{config_.command, config_.allow_group_exec, config_.sha256};
    // `#!/usr/bin/env NAME` is checked in the PATH the backend will get.
    check.child_path = backend_search_path(config_.environment, options_.caller_environment);
    auto exe = platform::check_executable(check);
    if (!exe) return std::move(exe).error();
    rec.sha256 = exe->sha256();
    if (options_.after_check_for_test) options_.after_check_for_test();

    const std::string request = encode_request(handles);
    RunOptions ro;
    ro.executable = &exe.value();
    ro.arguments = config_.arguments;
    ro.environment_allow = config_.environment;
    ro.caller_environment = options_.caller_environment;
    ro.timeout = config_.timeout;
    ro.output_max_size = config_.output_max_size;
    ro.input = request;
    RunStats stats;
    Result<RunOutput> out = platform::run_backend(ro, stats);
    rec.exit_code = stats.exit_code;
    rec.signal = stats.signal;
    rec.stdout_bytes = stats.stdout_bytes;
    rec.stderr_bytes = stats.stderr_bytes;

    Result<FetchResult> validated = out ? validate_response(out->out.view(), handles,
                                                            {config_.remove_trailing_line_break}, config_.command)
                                        : Result<FetchResult>(std::move(out).error());
    log_stderr(stats, validated);
    return validated;
  }

  // Logs the backend's stderr tail. The values just fetched are not in a cache yet, so they are
  // registered as a redaction source for the duration of the log call.
  void log_stderr(const RunStats& stats, const Result<FetchResult>& validated) const {
    if (stats.stderr_tail.empty()) return;
    std::size_t token = 0;
    if (validated) {
      const FetchResult* fr = &validated.value();
      token = redaction::register_source([fr](const std::function<void(std::string_view)>& emit) {
        for (const auto& [h, v] : fr->values) emit(v.view());
      });
    }
    std::string line = "backend " + config_.command + " stderr (last " + std::to_string(stats.stderr_tail.size()) +
                       " of " + std::to_string(stats.stderr_bytes) + " bytes): ";
    // Room for every mask up front, so scrubbing never reallocates and leaves an unzeroed copy.
    line.reserve(2 * (line.size() + stats.stderr_tail.size()) + 16);
    line.append(stats.stderr_tail.view());
    redaction::scrub(line);
    if (validated) {
      redaction::unregister_source(token);
      log::info(line);
    } else {
      log::warn(line);
    }
    secure_zero(line.data(), line.size());
  }

  BackendConfig config_;
  FetcherOptions options_;
};

}  // namespace

Result<std::unique_ptr<Fetcher>> make_fetcher(const BackendConfig& config, FetcherOptions options) {
  if (config.backend_type == "file") {
    return std::unique_ptr<Fetcher>(make_file_fetcher(config.file_root, config.remove_trailing_line_break, config.audit_file));
  }
  if (!config.command.empty()) {
    return std::unique_ptr<Fetcher>(std::make_unique<ExecutableFetcher>(config, std::move(options)));
  }
  std::string where = config.source.empty() ? "the main config" : config.source;
  return make_error(Code::config_no_backend,
                    "ENC[] handles are used but no secret backend is configured: set secret_backend_command "
                    "(or secret_backend_type) in " + where + "; handles are never passed through literally");
}

}  // namespace sts
