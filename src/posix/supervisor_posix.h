// File: supervisor_posix.h
//
// The code that runs after the clone, for process_posix.cpp (the caller's side of a run). Two
// tasks run it, both without the caller's heap, locks or libc state (see supervisor_posix.cpp):
//   - the supervisor: one per run, the caller's child. It contains the run (init of a PID
//     namespace, or a child subreaper, or only the backend's process group), starts the backend,
//     writes the request to its stdin, reaps everything the backend starts, obeys the caller
//     over the control pipe, reports over the report pipe, and kills the whole tree before it
//     exits;
//   - the backend child: the supervisor's vfork-style child that sets itself up and execs the
//     checked descriptor.
//
//   SupervisorPlan plan = ...;                 // built before the clone: argv, envp, fds, stacks
//   StartedSupervisor s = start_supervisor(plan, stacks, can_share_address_space(), true);
//   // read Report messages from the report pipe; write kControlTerm / kControlKill
//
// Ownership: the caller owns every fd and buffer the plan names, and keeps them (and the
// ChildStacks) unchanged until the supervisor has been reaped. Thread-safety: one plan per run;
// the probes are safe from any thread.
#pragma once

#if defined(_WIN32)
#error "supervisor_posix.h is POSIX-only; Windows uses src/windows/process_windows.cpp"
#endif

#include "common/process.h"
#include "posix/unique_fd.h"

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

namespace sts::posix {

// Caller -> supervisor, one byte on the control pipe: SIGTERM to the whole tree, or SIGKILL to
// it and the end (reap it all, report, exit). End of file on the control pipe means the caller
// died (it holds the only write end): the same as kControlKill. The caller never relies on
// end of file itself: a host that forks meanwhile (without exec) holds a copy of the write end.
constexpr char kControlTerm = 'T';
constexpr char kControlKill = 'K';

// Supervisor (or backend child) -> caller, one write of one message each (atomic: < PIPE_BUF).
enum class ReportKind : std::int32_t {
  spawn_failed = 1,  // a = SpawnStage, b = errno
  exited = 2,        // a = si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED), b = si_status
};
struct Report {
  ReportKind kind;
  std::int32_t a;
  std::int32_t b;
};

constexpr int kMaxKeptFds = 8;

// Everything the supervisor and the backend child read. Built by the caller before the clone
// (argv/envp included: after the clone nothing may allocate), untouched until the supervisor
// has been reaped.
struct SupervisorPlan {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int exe_fd = -1;             // the checked descriptor
  bool script = false;         // a #! script: the exe fd stays open as fd 3 across exec
  int stdout_fd = -1;          // the backend's ends of the caller's pipes
  int stderr_fd = -1;
  // The request. The supervisor makes the backend's stdin pipe itself and writes this into it:
  // no write end of it ever exists in the caller, where a host thread's fork (without exec)
  // could copy it and keep the backend waiting for an end of file that never comes.
  const char* input = nullptr;
  std::size_t input_size = 0;
  int control_fd = -1;         // read end of the control pipe
  int report_fd = -1;          // write end of the report pipe
  int keep[kMaxKeptFds] = {};  // the fds above, ascending: the supervisor closes every other
  int keep_count = 0;
  int fd_limit = 1024;         // for the close loops when close_range is missing
  ContainmentKind kind = ContainmentKind::process_group;
  char* child_stack_top = nullptr;  // 16-byte aligned: the backend child's stack
};

// Two stacks with a guard page below each: the supervisor's and the backend child's. Mapped by
// the caller; unmapped only after the supervisor has been reaped.
class ChildStacks {
 public:
  ChildStacks() = default;
  ~ChildStacks();
  ChildStacks(const ChildStacks&) = delete;
  ChildStacks& operator=(const ChildStacks&) = delete;

  int allocate() noexcept;  // 0 or errno
  bool mapped() const noexcept { return base_ != nullptr; }
  char* supervisor_top() const noexcept;
  char* child_top() const noexcept;

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t page_ = 4096;
};

struct StartedSupervisor {
  pid_t pid = -1;
  UniqueFd pidfd;  // may be invalid on kernels before 5.2 (no CLONE_PIDFD)
  int error = 0;   // errno of the clone when pid < 0
};

// Starts the supervisor for `plan` with every signal blocked across the clone (the supervisor
// resets dispositions before it unblocks anything). Its exit signal is 0: invisible to a host's
// waitpid(-1) and never reaped automatically when the host ignores SIGCHLD; wait for it with
// __WALL. `share_address_space`: CLONE_VM on a stack of its own (no page-table copy) or a
// fork-style copy. `new_pid_namespace` adds CLONE_NEWPID (the supervisor is its init).
StartedSupervisor start_supervisor(SupervisorPlan& plan, const ChildStacks& stacks, bool share_address_space,
                                   bool new_pid_namespace) noexcept;

// Whether the supervisor may share the caller's address space: x86-64 (where its system calls
// are issued without libc, so it never writes the caller thread's errno) and not under valgrind
// (which cannot run a CLONE_VM task that is not a thread).
bool can_share_address_space() noexcept;

// 0 when a PID namespace can be created here (a trial clone), else its errno (EPERM without
// CAP_SYS_ADMIN, ENOSPC at the nesting or count limit, EINVAL under some seccomp policies).
int probe_pid_namespace() noexcept;

// Whether /proc/thread-self/children can be read: the subreaper needs it to find orphans.
bool can_list_children() noexcept;

// Waits for the supervisor to end (pidfd, __WALL) and reaps it. ECHILD (a host thread that
// reaps with __WALL took it) is fine: the report pipe already said how the backend ended.
void reap_supervisor(const StartedSupervisor& supervisor) noexcept;

}  // namespace sts::posix
