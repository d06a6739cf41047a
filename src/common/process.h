// File: process.h
//
// The hardened backend run (SPEC 4): runs exactly a VerifiedExecutable with the request on
// stdin, a scrubbed environment, capped stdout/stderr and a deadline, contains everything it
// starts, and reports how it ended.
//
//   RunOptions o;                       // deny-by-default, see the fields
//   o.executable = &verified;  o.input = request;
//   RunStats stats;
//   Result<RunOutput> r = run_backend(o, stats);   // Error names the executable and the fix
//
// Two layers (DESIGN "platform files report facts"):
//   - platform::run_process (process_posix.cpp, process_windows.cpp) runs the backend and
//     returns a RunEnd: facts only (how it ended, status, the stream that hit the cap, the spawn
//     stage and OS error, byte counts, stdout and the raw stderr tail in secure memory);
//   - run_backend (run_outcome.cpp, common) turns a RunEnd into the one Error wording both
//     platforms share, with one fix hint per case.
//
// Containment (SPEC 4 "No descendant survives"): platform::containment() says which mechanism
// runs are contained by and what it guarantees; `stsecrets check` prints it.
//
// Options are deny-by-default (STYLE 5): empty environment plus an allow-list, no PATH search,
// no shell, only the three pipe ends inherited.
//
// Thread-safety: run_backend / run_process may be called from several threads at once;
// containment() too (it probes once and caches).
#pragma once

#include "executable_check.h"
#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// The backend's stderr is kept (raw, in secure memory) as its last this many bytes.
constexpr std::size_t kStderrTailBytes = 4096;

// How a run keeps everything the backend starts from outliving it, strongest first.
enum class ContainmentKind {
  pid_namespace,  // POSIX: a PID namespace whose init is our supervisor; the kernel kills it all
  subreaper,      // POSIX: a supervisor that adopts orphans (PR_SET_CHILD_SUBREAPER) and kills them
  process_group,  // POSIX: the backend's process group only; setsid() escapes
  job_object,     // Windows: a job object with KILL_ON_JOB_CLOSE
};

struct Containment {
  ContainmentKind kind = ContainmentKind::process_group;
  std::string name;                // "pid-namespace", "subreaper", "process-group", "job-object"
  std::string what_it_guarantees;  // one sentence, for `stsecrets check`
  std::string why_not_stronger;    // why a stronger mechanism is not in force; empty when none is
};

struct RunOptions {
  const VerifiedExecutable* executable = nullptr;  // required; what runs
  std::vector<std::string> arguments;              // argv[1..]; default none; never a shell
  std::vector<std::string> environment_allow;      // names copied from caller_environment; default none
  const Environment* caller_environment = nullptr; // default: the process environment
  std::chrono::milliseconds timeout{30000};        // whole tree killed after this
  std::size_t output_max_size = 1048576;           // cap per stream; the tree is killed when hit
  std::string_view input;                          // the request; stdin is closed after it

  // Test seams; production leaves both alone.
  std::optional<ContainmentKind> containment;      // default: the strongest the host permits (POSIX)
  bool share_address_space = true;                 // POSIX: false starts the supervisor as a copy
                                                   // of the caller (fork-style), as under valgrind
};

// ---- facts (platform) ------------------------------------------------------------------------

enum class RunEndHow {
  exited,         // the backend exited by itself: exit_code (0 is success)
  signaled,       // POSIX: a signal the run did not send killed it: signal
  timed_out,      // the deadline passed and the tree was killed (signal: what it died of, POSIX)
  output_capped,  // `capped` went over output_max_size and the tree was killed
  spawn_failed,   // it never ran: stage + os_error
  lost,           // the run's own machinery failed after the start: stage + os_error
};

enum class OutputStream { none, stdout_stream, stderr_stream };

// Where starting (or supervising) the backend failed. Each has its own wording in
// run_outcome.cpp; the platform only names it.
enum class SpawnStage {
  none,
  pipes,            // creating the pipes
  supervisor,       // POSIX: starting the supervisor process (clone)
  containment,      // POSIX: PID namespace / subreaper setup; Windows: the job object
  signals,          // POSIX: signal dispositions, signalfd
  process_group,    // POSIX: setpgid
  no_new_privs,     // POSIX: PR_SET_NO_NEW_PRIVS
  core_limit,       // POSIX: RLIMIT_CORE
  descriptors,      // POSIX: stdin/stdout/stderr onto 0/1/2
  exec,             // POSIX: execveat of the checked descriptor
  executable_path,  // Windows: the final path of the held file
  attributes,       // Windows: the handle list / job list attributes
  create_process,   // Windows: CreateProcessW
  resume,           // Windows: resuming the suspended process
  wait,             // waiting for the backend or its supervisor failed (RunEndHow::lost)
};

struct RunEnd {
  RunEndHow how = RunEndHow::lost;
  int exit_code = -1;                 // exited (or the status after the kill): 0-255 on POSIX;
                                      // the DWORD on Windows
  bool exit_code_is_ntstatus = false; // Windows: exit_code is an NTSTATUS (>= 0xC0000000): shown in hex
  int signal = 0;                     // POSIX: the signal it died of (also after a timeout or cap)
  OutputStream capped = OutputStream::none;
  SpawnStage stage = SpawnStage::none;
  int os_error = 0;                   // errno / GetLastError() of the failing stage
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
  std::chrono::milliseconds duration{0};
  SecureBuffer out;                   // all of stdout up to the cap, in the locked arena
  SecureBuffer stderr_tail;           // last kStderrTailBytes of stderr, raw: redact before logging
  ContainmentKind containment = ContainmentKind::process_group;  // what contained this run
};

namespace platform {
// Runs the backend; never throws for the environment's failures (they are RunEnd facts).
RunEnd run_process(const RunOptions& options);

// The containment runs get on this host, in force for run_process's default options.
Containment containment();

// The environment block the child gets (SPEC 4), as NAME=VALUE strings, built before any spawn.
// Platform-specific (POSIX: PATH=/usr/bin:/bin unless allow-listed; Windows: SystemRoot,
// SystemDrive, TEMP, TMP, a system PATH), implemented beside run_process and tested directly.
std::vector<std::string> child_environment(const std::vector<std::string>& allow, const Environment& caller);

// The OS's text for an error number of RunEnd::os_error (strerror / FormatMessage), and the
// name of a signal of RunEnd::signal ("SIGKILL"; POSIX only).
std::string os_error_text(int error);
std::string signal_name(int signal);
}  // namespace platform

// ---- the result callers use (common, run_outcome.cpp) -----------------------------------------

struct RunStats {
  int exit_code = -1;                 // when it exited
  int signal = 0;                     // when a signal killed it (POSIX)
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
  std::chrono::milliseconds duration{0};
  SecureBuffer stderr_tail;           // last kStderrTailBytes of stderr, raw: redact before logging
  SecureBuffer failed_stdout;         // when the run failed: what stdout held (its strings are known
                                      // values for redaction, SPEC 6 "Logs"); empty on success
  ContainmentKind containment = ContainmentKind::process_group;
};

struct RunOutput {
  SecureBuffer out;                   // all of stdout, in the locked arena
};

// Errors: spawn_failed, backend_exit, backend_signal, backend_timeout, output_too_large,
// internal. Each names the executable. `stats` is filled on every path (for the audit record).
Result<RunOutput> run_backend(const RunOptions& options, RunStats& stats);

}  // namespace sts
