// File: child_process.h
//
// What every process stsecrets starts on Windows shares: the backend run (process_windows.cpp)
// and `stsecrets exec` (host_windows.cpp, sts::run_command).
//
//   std::wstring cmd;
//   append_argument(cmd, app);                 // quoted for the MSVC runtime's argv parsing
//   ChildSpec spec{app, cmd, &env_block, nullptr, {in, out, err}, CREATE_NO_WINDOW};
//   StartedChild child;
//   if (auto failure = start_in_job(spec, child)) return report(failure->stage, failure->error);
//   ::WaitForSingleObject(child.process.get(), INFINITE);   // closing child.job kills the tree
//
// start_in_job: a new job object with KILL_ON_JOB_CLOSE (and DIE_ON_UNHANDLED_EXCEPTION: no
// error dialog keeps a crashed child alive), the process created suspended and in that job
// before its first instruction (PROC_THREAD_ATTRIBUTE_JOB_LIST where supported, otherwise
// AssignProcessToJobObject while it is suspended), inheriting only the listed standard handles
// (PROC_THREAD_ATTRIBUTE_HANDLE_LIST; each must be inheritable), then resumed. No PATH search:
// lpApplicationName is always given.
//
// Ownership: StartedChild owns the job and the process handle; destroying the job handle kills
// every process in the job. Thread-safety: free functions; a StartedChild is not shared.
#pragma once

#if !defined(_WIN32)
#error "child_process.h is for Windows; CMake should have picked src/posix"
#endif

#include "common/process.h"
#include "windows/scoped_handle.h"

#include <windows.h>

#include <optional>
#include <string>
#include <string_view>

namespace sts::win {

// Appends arg to a command line as the MSVC runtime (and CommandLineToArgvW) will split it:
// quoted when it is empty or holds a space, tab, newline or quote; backslashes doubled only
// before a quote. Adds the separating space itself when cmd is not empty.
void append_argument(std::wstring& cmd, std::wstring_view arg);

struct ChildSpec {
  const std::wstring& application;   // full path of the .exe (lpApplicationName)
  std::wstring& command_line;        // modified in place by CreateProcessW
  std::wstring* environment;         // CREATE_UNICODE_ENVIRONMENT block; nullptr: ours
  const wchar_t* directory;          // working folder; nullptr: ours
  HANDLE std_handles[3];             // stdin, stdout, stderr: inheritable, or nullptr for none
  DWORD extra_flags;                 // e.g. CREATE_NO_WINDOW, CREATE_DEFAULT_ERROR_MODE
};

struct StartedChild {
  ScopedHandle job;       // KILL_ON_JOB_CLOSE: closing it ends the whole tree
  ScopedHandle process;
  DWORD pid = 0;
};

struct StartFailure {
  SpawnStage stage;       // containment, attributes, create_process, resume
  DWORD error;            // GetLastError() of that stage
};

// Starts the child in a fresh job (see the banner); nullopt on success.
std::optional<StartFailure> start_in_job(const ChildSpec& spec, StartedChild& out);

}  // namespace sts::win
