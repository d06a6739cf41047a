// File: process.h
//
// The hardened backend run (SPEC 4): runs exactly a VerifiedExecutable with the request on
// stdin, a scrubbed environment, capped stdout/stderr and a deadline, and returns the bytes and
// the exit status. process_posix.cpp (our own spawn + execveat of the checked fd) and
// process_windows.cpp (CreateProcessW + handle list + job object) implement it.
//
// Options are deny-by-default (STYLE 5): empty environment plus an allow-list, no PATH search,
// no shell, only the three pipe ends inherited.
//
// Thread-safety: run_backend may be called from several threads at once.
#pragma once

#include "executable_check.h"
#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

constexpr std::size_t kStderrTailBytes = 4096;

struct RunOptions {
  const VerifiedExecutable* executable = nullptr;  // required; what runs
  std::vector<std::string> arguments;              // argv[1..]; default none; never a shell
  std::vector<std::string> environment_allow;      // names copied from caller_environment; default none
  const Environment* caller_environment = nullptr; // default: the process environment
  std::chrono::milliseconds timeout{30000};        // whole tree killed after this
  std::size_t output_max_size = 1048576;           // cap per stream; the child is killed when hit
  std::string_view input;                          // the request; stdin is closed after it
};

struct RunStats {
  int exit_code = -1;                 // when it exited
  int signal = 0;                     // when a signal killed it (POSIX)
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
  std::chrono::milliseconds duration{0};
  SecureBuffer stderr_tail;           // last kStderrTailBytes of stderr, raw: redact before logging
};

struct RunOutput {
  SecureBuffer out;                   // all of stdout, in the locked arena
};

// Errors: spawn_failed, backend_exit, backend_signal, backend_timeout, output_too_large. Each
// names the executable. `stats` is filled on every path (for the audit record).
namespace platform {
Result<RunOutput> run_backend(const RunOptions& options, RunStats& stats);

// The environment block the child gets (SPEC 4), as NAME=VALUE strings, built before any fork.
// Platform-specific (POSIX: PATH=/usr/bin:/bin unless allow-listed; Windows: SystemRoot,
// SystemDrive, TEMP, TMP, a system PATH), implemented beside run_backend and tested directly.
std::vector<std::string> child_environment(const std::vector<std::string>& allow, const Environment& caller);
}  // namespace platform

}  // namespace sts
