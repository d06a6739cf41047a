// File: stsecrets/host.h
//
// Small operating-system services that the stsecrets command uses and that an agent embedding
// the library needs just the same. Each is implemented per platform (src/posix/host_posix.cpp,
// src/windows/host_windows.cpp).
//
//   sts::harden_process();                          // before the process holds a secret
//   sts::write_stdout(report_text);                 // no stdio buffer keeps a copy
//   sts::write_private_file("/run/agent/pg.yaml", text);
//
// Thread-safety: safe from any thread; harden_process() affects the whole process.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// Makes the process non-dumpable (POSIX: PR_SET_DUMPABLE 0, which also stops a piped
// core_pattern and ptrace by other users, and RLIMIT_CORE 0). Windows: nothing to do (no core
// dumps by default; WER dumps are the system's setting). Call it before holding secrets.
Status harden_process();

// Writes all bytes to standard output / standard error with the OS call itself, never through a
// stdio or iostream buffer. Windows: a console gets the UTF-8 text through WriteConsoleW, a pipe or
// file gets the bytes. Errors: Code::io_failed (EPIPE, a full disk, ...).
Status write_stdout(std::string_view bytes);
Status write_stderr(std::string_view bytes);

// Reads standard input to its end, at most max_bytes (more: Code::request_invalid).
Result<std::string> read_stdin(std::size_t max_bytes);

// An output file (SPEC 6): written owner-only to a temporary file beside it and renamed into
// place; a destination that is a symlink or not a regular file is refused (Code::usage).
Status write_private_file(const std::string& path, std::string_view bytes);
// Creates a folder owner-only if it is missing. Code::usage when it exists and is not a folder,
// Code::io_failed when it cannot be created.
Status make_private_dir(const std::string& path);

// A stable identity of an existing file (device and inode; volume serial and file index on
// Windows), or nullopt when it does not exist. Two paths with one identity name one file.
std::optional<std::string> file_identity(const std::string& path);

// Runs argv[0] (searched on PATH as a shell would, but never through a shell or cmd.exe) with
// exactly `env` as its environment. POSIX: replaces this process (execve), so it returns only
// when the command could not be run. Windows: runs it in a job object (so closing or Ctrl+C kills
// its whole tree), waits, and returns its exit code. `caller_env` gives the PATH to search.
// Errors: Code::usage (no such command; a .bat/.cmd on Windows), Code::io_failed (any other reason).
Result<int> run_command(const std::vector<std::string>& argv, const Environment& env, const Environment& caller_env);

// The main config when none is given: $STS_CONFIG if set, else the platform's default
// (/etc/stackstate-agent/stackstate.yaml; %ProgramData%\StackState\stackstate.yaml on Windows).
std::string default_config_path(const Environment& env);

}  // namespace sts
