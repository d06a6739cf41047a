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
//   int main(int argc, char** argv) { auto args = sts::command_line(argc, argv); ... }
//
// Text is UTF-8 everywhere, on Windows too: command_line() gives UTF-8 arguments, and every
// function here takes UTF-8 paths and maps them to the wide Win32 calls.
//
// Thread-safety: safe from any thread; harden_process() affects the whole process.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// The program's arguments, argv[0] included, as UTF-8. POSIX: argv as it is (bytes). Windows:
// the wide command line (GetCommandLineW, split by CommandLineToArgvW), since the narrow argv of
// main() is in the ANSI code page and loses every character outside it.
std::vector<std::string> command_line(int argc, char** argv);

// UTF-8 text <-> std::filesystem::path. std::filesystem::path(std::string) and path::string()
// use the ANSI code page on Windows (MSVC; libstdc++ converts only one way); these are UTF-8 on
// every platform.
inline std::filesystem::path path_from_utf8(std::string_view utf8) {
  return std::filesystem::path(std::u8string(utf8.begin(), utf8.end()));
}
inline std::string path_to_utf8(const std::filesystem::path& path) {
  const std::u8string text = path.u8string();
  return std::string(text.begin(), text.end());
}

// Before the process holds a secret. POSIX: makes the process non-dumpable (PR_SET_DUMPABLE 0,
// which also stops a piped core_pattern and ptrace by other users, and RLIMIT_CORE 0).
// Windows has no core dumps; a crash goes to Windows Error Reporting, whose dumps the system's
// settings decide (LocalDumps). There it turns off the error dialogs that would keep a crashed
// or blocked process alive (SetErrorMode) and limits DLL loading to System32
// (SetDefaultDllDirectories), so a DLL planted beside the data the command reads is never
// loaded; the secure arena's pages are excluded from WER dumps where Windows supports it.
Status harden_process();

// The command's own containment (SPEC 4 "No descendant survives": the CLI guarantees all four
// cases). POSIX: adopt_orphans() makes the process a child subreaper (PR_SET_CHILD_SUBREAPER),
// so a backend descendant whose supervisor was killed or stopped by the backend itself is
// re-parented to this process instead of to init, and end_children() kills it. A host that
// embeds the library and wants the same guarantee does the same. Windows: nothing to do (the
// job object holds the whole tree); both succeed.
//
//   if (auto st = sts::adopt_orphans(); !st) ...;     // first thing in main
//   int rc = run(...);
//   (void)sts::end_children();                          // wherever the process exits or execs
//
// end_children() SIGKILLs and reaps every child this process has, again and again until none
// is left (the children of a killed child are re-parented here). Only unreaped children are
// signalled, so no pid that may have been reused is. Call it only when no backend run is in
// progress: it would kill that run's supervisor. `stop_adopting` also clears the subreaper flag,
// which survives execve (before replacing the process with another program).
// Errors: Code::internal (the list of children cannot be read, /proc missing).
Status adopt_orphans();
Status end_children(bool stop_adopting = false);

// Writes all bytes to standard output / standard error with the OS call itself, never through a
// stdio or iostream buffer. Windows: a console gets the UTF-8 text through WriteConsoleW, a pipe or
// file gets the bytes. Errors: Code::io_failed (EPIPE, a full disk, ...).
Status write_stdout(std::string_view bytes);
Status write_stderr(std::string_view bytes);

// Reads standard input to its end, at most max_bytes (more: Code::request_invalid).
Result<std::string> read_stdin(std::size_t max_bytes);

// An output file (SPEC 6): written owner-only (0600; Windows: a protected DACL for the current
// user) to a temporary file beside it and renamed into place (Windows: MoveFileExW with
// MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH); a destination that is a symlink (a reparse
// point) or not a regular file is refused (Code::usage). POSIX: the folder is reached from "/"
// with the kernel's protected_symlinks rule applied whatever the sysctl says (a link in a sticky
// folder such as /tmp is followed only when owned by the effective user, root or the folder's
// owner; else Code::usage), and the file is written relative to that folder's descriptor.
// OutputFolder::private_only (a file of --output-dir): the folder must also pass
// make_private_dir's rules at the time of the write, so a folder swapped after that check is
// refused (POSIX: judged on the very descriptor written through; Windows: by path, just before).
enum class OutputFolder { any, private_only };
Status write_private_file(const std::string& path, std::string_view bytes,
                          OutputFolder folder = OutputFolder::any);
// The --output-dir folder: created owner-only if it is missing. Code::usage when it exists and
// is not a folder; POSIX: also when it is reached through a link the protected_symlinks rule
// refuses, and when it exists but is owned by another user than root or the effective user, or
// is writable by group or others (sticky or not). Windows: also when it is a reparse point, or
// its owner or DACL lets anyone but the user, SYSTEM or Administrators add, delete or
// re-permission files in it. Code::io_failed when it cannot be created.
Status make_private_dir(const std::string& path);

// A stable identity of an existing file (device and inode; volume serial and file index on
// Windows), or nullopt when it does not exist. Two paths with one identity name one file.
std::optional<std::string> file_identity(const std::string& path);

// Runs argv[0] (searched on PATH as a shell would, but never through a shell or cmd.exe) with
// exactly `env` as its environment. POSIX: replaces this process (execve), so it returns only
// when the command could not be run. Windows: a name without a folder is searched in each folder
// of Path (any case), trying the name and then each PATHEXT extension in turn, as cmd.exe does,
// but never in the current folder (write .\name for that); the first match runs, created with
// CreateProcessW in a job object (KILL_ON_JOB_CLOSE: Ctrl+C or closing the console ends this
// process and with it COMMAND's whole tree; so does COMMAND's own exit), with this process's
// standard handles and `env` as a sorted block; it waits and returns COMMAND's exit code.
// `caller_env` gives the PATH (and PATHEXT) to search.
// Errors: Code::usage (no such command; a .bat/.cmd on Windows, which would run through cmd.exe),
// Code::io_failed (any other reason).
Result<int> run_command(const std::vector<std::string>& argv, const Environment& env, const Environment& caller_env);

// The main config when none is given: $STS_CONFIG if set, else the platform's default
// (/etc/stackstate-agent/stackstate.yaml; %ProgramData%\StackState\stackstate.yaml on Windows).
std::string default_config_path(const Environment& env);

}  // namespace sts
