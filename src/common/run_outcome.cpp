// run_outcome.cpp: the common half of a backend run (run_outcome.h, process.h). The platform
// files report facts in a RunEnd; the one wording of every failure, with its fix hint, is here.
#include "common/run_outcome.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

namespace sts {
namespace {

using std::chrono::milliseconds;

// The fix hint of each failure kind: one per case, shared by both platforms.
constexpr const char* kFixExec = "run it by hand as the same user to see why, then fix the file or its interpreter";
constexpr const char* kFixSystem = "the system refused it (a limit such as ulimit -n or -u, or a seccomp policy): "
                                   "fix that and retry";
constexpr const char* kFixBackend = "fix the backend (its stderr is logged)";
constexpr const char* kFixTimeout = "raise secret_backend_timeout or fix the backend";
constexpr const char* kFixCap = "raise secret_backend_output_max_size or fix the backend";

std::string stage_text(SpawnStage stage) {
  switch (stage) {
    case SpawnStage::none: return "starting it";
    case SpawnStage::pipes: return "creating its pipes";
    case SpawnStage::supervisor: return "starting its supervisor";
    case SpawnStage::containment: return "setting up its containment";
    case SpawnStage::signals: return "resetting signal dispositions";
    case SpawnStage::process_group: return "setpgid";
    case SpawnStage::no_new_privs: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case SpawnStage::core_limit: return "setrlimit(RLIMIT_CORE)";
    case SpawnStage::descriptors: return "setting up descriptors";
    case SpawnStage::exec: return "exec";
    case SpawnStage::executable_path: return "getting the path of the checked file";
    case SpawnStage::attributes: return "restricting inherited handles";
    case SpawnStage::create_process: return "CreateProcessW";
    case SpawnStage::resume: return "resuming it";
    case SpawnStage::wait: return "waiting for it";
  }
  return "starting it";
}

std::string reason(int os_error) {
  return os_error != 0 ? platform::os_error_text(os_error) : std::string("no reason given");
}

std::string exit_status_text(const RunEnd& end) {
  if (!end.exit_code_is_ntstatus) return std::to_string(end.exit_code);
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto code = static_cast<std::uint32_t>(end.exit_code);
  std::string hex = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) hex += kHex[(code >> shift) & 0xFU];
  return hex;
}

Error spawn_error(const RunEnd& end, const std::string& path) {
  // Executing the file itself failed: the file's fault (mode, format, interpreter).
  if (end.stage == SpawnStage::exec || end.stage == SpawnStage::create_process) {
    return Error{Code::spawn_failed, end.os_error,
                 "failed to execute " + path + ": " + reason(end.os_error) + ": " + kFixExec};
  }
  return Error{Code::spawn_failed, end.os_error,
               "cannot start backend " + path + ": " + stage_text(end.stage) + ": " + reason(end.os_error) + ": " +
                   kFixSystem};
}

}  // namespace

// ---- StderrTail --------------------------------------------------------------------------

void StderrTail::append(std::string_view chunk) {
  if (ring_.spare_size() < kStderrTailBytes) ring_.reserve(kStderrTailBytes);
  // Only the last kStderrTailBytes of a long chunk can survive.
  if (chunk.size() > kStderrTailBytes) chunk.remove_prefix(chunk.size() - kStderrTailBytes);
  char* ring = ring_.spare();
  while (!chunk.empty()) {
    const std::size_t n = std::min(chunk.size(), kStderrTailBytes - next_);
    std::memcpy(ring + next_, chunk.data(), n);
    chunk.remove_prefix(n);
    next_ = (next_ + n) % kStderrTailBytes;
    filled_ = std::min(kStderrTailBytes, filled_ + n);
  }
}

SecureBuffer StderrTail::take() {
  SecureBuffer out;
  if (filled_ == 0) return out;
  out.reserve(filled_);
  const char* ring = ring_.spare();
  // Oldest byte first: when the ring is full it starts at next_, else at 0.
  const std::size_t start = filled_ == kStderrTailBytes ? next_ : 0;
  const std::size_t first = std::min(filled_, kStderrTailBytes - start);
  out.append(std::string_view(ring + start, first));
  out.append(std::string_view(ring, filled_ - first));
  secure_zero(ring_.spare(), kStderrTailBytes);
  next_ = filled_ = 0;
  return out;
}

// ---- the one wording ------------------------------------------------------------------------

std::string format_timeout(milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + "s";
  return std::to_string(timeout.count()) + "ms";
}

std::optional<Error> run_error(const RunEnd& end, std::string_view path_view, const RunOptions& options) {
  const std::string path(path_view);
  switch (end.how) {
    case RunEndHow::spawn_failed:
      return spawn_error(end, path);
    case RunEndHow::timed_out:
      return Error{Code::backend_timeout, 0,
                   "backend " + path + " did not answer within " + format_timeout(options.timeout) +
                       " and was killed: " + kFixTimeout};
    case RunEndHow::output_capped:
      return Error{Code::output_too_large, 0,
                   "backend " + path + " wrote more than " + std::to_string(options.output_max_size) + " bytes to " +
                       (end.capped == OutputStream::stderr_stream ? "stderr" : "stdout") + ": " + kFixCap};
    case RunEndHow::signaled:
      return Error{Code::backend_signal, 0,
                   "backend " + path + " was killed by signal " + std::to_string(end.signal) + " (" +
                       platform::signal_name(end.signal) + "): " + kFixBackend};
    case RunEndHow::lost:
      return Error{Code::internal, end.os_error,
                   "lost track of backend " + path + " while " + stage_text(end.stage) + ": " + reason(end.os_error) +
                       ": its supervisor was killed from outside or the system failed; retry"};
    case RunEndHow::exited:
      if (end.exit_code == 0) return std::nullopt;
      return Error{Code::backend_exit, 0,
                   "backend " + path + " exited with status " + exit_status_text(end) + ": " + kFixBackend};
  }
  return Error{Code::internal, 0, "backend " + path + ": unknown end of run"};
}

Result<RunOutput> run_backend(const RunOptions& options, RunStats& stats) {
  stats = RunStats{};
  if (options.executable == nullptr || !options.executable->valid()) {
    return Error{Code::internal, 0, "run_backend needs a verified executable (check_executable)"};
  }
  const std::string& path = options.executable->path();
  // An argument is a C string on POSIX (cut at the NUL without a word) and on Windows alike.
  for (const std::string& argument : options.arguments) {
    if (argument.find('\0') != std::string::npos) {
      return Error{Code::config_invalid, 0,
                   "an argument of backend " + path + " contains a NUL byte: remove it from secret_backend_arguments"};
    }
  }
  try {
    RunEnd end = platform::run_process(options);
    stats.exit_code = end.exit_code;
    stats.signal = end.signal;
    stats.stdout_bytes = end.stdout_bytes;
    stats.stderr_bytes = end.stderr_bytes;
    stats.duration = end.duration;
    stats.stderr_tail = std::move(end.stderr_tail);
    stats.containment = end.containment;
    if (std::optional<Error> error = run_error(end, path, options)) {
      stats.failed_stdout = std::move(end.out);
      return std::move(*error);
    }
    return RunOutput{std::move(end.out)};
  } catch (const std::exception& e) {
    // Out of (secure) memory: the platform's run object has already ended and reaped the tree.
    return Error{Code::internal, 0, "running backend " + path + ": " + e.what()};
  }
}

}  // namespace sts
