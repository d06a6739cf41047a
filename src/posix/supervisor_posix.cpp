// File: supervisor_posix.cpp
//
// What runs after the clone (supervisor_posix.h): the supervisor, which contains one backend
// run, and the backend child, which execs the checked descriptor.
//
// DANGER, read before changing anything below the "after the clone" line:
//   - Both tasks usually share the caller's address space (CLONE_VM: no page-table copy, so the
//     spawn costs the same in a host with a 10 GiB heap as in a small one) while other host
//     threads keep running. They may touch only the plan (read-only), their own stacks and
//     kernel objects: no malloc, no locks, no libc (STYLE 6).
//   - They also run on the caller thread's TLS (the fs register is inherited). Every libc system
//     call wrapper writes errno there on failure, racing with the caller thread. So on x86-64
//     every system call below is issued by `sys` (inline assembly, returns -errno) and the
//     backend child is started by `raw_clone` (our own clone trampoline), never by libc. Other
//     CPUs run the supervisor as a fork-style copy (can_share_address_space), where the libc
//     wrappers are harmless; so does valgrind, which cannot run a CLONE_VM task that is not a
//     thread.
//   - Nothing here may be instrumented: ASan and TSan keep per-thread state in TLS too. Every
//     function carries STS_AFTER_CLONE (no sanitizer instrumentation), and none does anything
//     a compiler would turn into a memset/memcpy call (no zero-initialised arrays, no struct
//     copies): the interceptors behind those touch the sanitizers' thread state.
//
// Why a supervisor at all (SPEC 4 "No descendant survives", "Host signal state"):
//   - PID namespace (when the caller has CAP_SYS_ADMIN): the supervisor is the namespace's init;
//     when it dies (at the end of the run, or with the caller: PR_SET_PDEATHSIG SIGKILL), the
//     kernel kills everything in the namespace, setsid() or not. Our own init, not the backend:
//     an init ignores every signal it has no handler for, so a backend as init would shrug off
//     SIGTERM, its own raise(SIGKILL), and SIGPIPE. As non-root a PID namespace needs a user
//     namespace too, where root-owned files look owned by nobody (ssh, git and other backends
//     that check ownership break), so that is not done.
//   - Subreaper (any uid): PR_SET_CHILD_SUBREAPER makes every orphaned descendant the
//     supervisor's child; at the end it kills its children and reaps them until none is left
//     (re-parented grandchildren show up as new children). The caller's death reaches it through
//     PR_SET_PDEATHSIG (SIGHUP, read from a signalfd) and the control pipe's end of file, so
//     the tree dies even when the caller is SIGKILLed.
//   - Process group (no /proc/thread-self/children to find orphans): the backend's group only.
//   - Host signal state: the supervisor's exit signal is 0, so a host that ignores SIGCHLD does
//     not auto-reap it and a host's waitpid(-1) never sees it; the backend is the supervisor's
//     child, which the host cannot reap at all. The caller never signals a pid: it talks to the
//     supervisor over pipes (and SIGKILLs it only through a pidfd), and the supervisor signals
//     only its own unreaped children, its backend's group while the backend is unreaped, or
//     (as init) kill(-1), which cannot leave the namespace. So no pid that may have been reused
//     is ever signalled.
#if defined(_WIN32)
#error "supervisor_posix.cpp is POSIX-only; Windows uses src/windows/process_windows.cpp"
#endif
#if !defined(__linux__)
#error "supervisor_posix.cpp needs Linux (clone, pidfd, PR_SET_CHILD_SUBREAPER, signalfd); port it first"
#endif

#include "posix/supervisor_posix.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define STS_HAVE_VALGRIND_H 1
#endif
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// clang 14 needs both: no_sanitize drops ASan/UBSan checks (and ASan's stack poisoning), but
// keeps TSan's function entry/exit hooks, which disable_sanitizer_instrumentation drops.
#if defined(__clang__)
#define STS_AFTER_CLONE \
  __attribute__((disable_sanitizer_instrumentation, no_sanitize("address", "thread", "undefined")))
#else
#define STS_AFTER_CLONE __attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize_undefined))
#endif

namespace sts::posix {
namespace {

constexpr std::size_t kSupervisorStack = 64 * 1024;
constexpr std::size_t kChildStack = 32 * 1024;
constexpr int kLastSignal = 64;  // the kernel's _NSIG on Linux
constexpr unsigned long kSigsetBytes = 8;

// ======================= after the clone: see the DANGER note at the top =======================

// One system call, -errno on failure, never touching errno.
STS_AFTER_CLONE inline long sys6(long number, long a0, long a1, long a2, long a3, long a4, long a5) noexcept {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = a3;
  register long r8 asm("r8") = a4;
  register long r9 asm("r9") = a5;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(number), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#else
  // Only reached in a fork-style copy (can_share_address_space() is false here): errno is ours.
  const long ret = ::syscall(number, a0, a1, a2, a3, a4, a5);
  return ret == -1 ? -errno : ret;
#endif
}

template <class... Args>
STS_AFTER_CLONE inline long sys(long number, Args... args) noexcept {
  static_assert(sizeof...(Args) <= 6, "at most six arguments");
  if constexpr (sizeof...(Args) == 0) return sys6(number, 0, 0, 0, 0, 0, 0);
  else if constexpr (sizeof...(Args) == 1) return sys6(number, static_cast<long>(args)..., 0, 0, 0, 0, 0);
  else if constexpr (sizeof...(Args) == 2) return sys6(number, static_cast<long>(args)..., 0, 0, 0, 0);
  else if constexpr (sizeof...(Args) == 3) return sys6(number, static_cast<long>(args)..., 0, 0, 0);
  else if constexpr (sizeof...(Args) == 4) return sys6(number, static_cast<long>(args)..., 0, 0);
  else if constexpr (sizeof...(Args) == 5) return sys6(number, static_cast<long>(args)..., 0);
  else return sys6(number, static_cast<long>(args)...);
}

template <class T>
STS_AFTER_CLONE inline long ptr(T* p) noexcept {
  return reinterpret_cast<long>(p);
}

[[noreturn]] STS_AFTER_CLONE void exit_now(int status) noexcept {
  for (;;) sys(SYS_exit_group, status);
}

// Starts fn(arg) in a new task on `stack_top` (16-byte aligned) and returns its pid, or -errno.
// The new task never comes back here: it exits with fn's value. On x86-64 this is our own
// trampoline (libc's clone() sets errno on failure, see the DANGER note).
STS_AFTER_CLONE long raw_clone(unsigned long flags, char* stack_top, int* parent_tid, int (*fn)(void*),
                               void* arg) noexcept {
#if defined(__x86_64__)
  register long rax asm("rax") = SYS_clone;
  register unsigned long rdi asm("rdi") = flags;
  register char* rsi asm("rsi") = stack_top;
  register int* rdx asm("rdx") = parent_tid;
  register long r10 asm("r10") = 0;  // child_tid
  register long r8 asm("r8") = 0;    // tls: unchanged
  register int (*r9)(void*) asm("r9") = fn;
  register void* r12 asm("r12") = arg;
  asm volatile(
      "syscall\n\t"
      "testq %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      // The new task, on its own stack with no frame above: fn(arg), then exit with its value.
      "xorl %%ebp, %%ebp\n\t"
      "movq %%r12, %%rdi\n\t"
      "callq *%%r9\n\t"
      "movl %%eax, %%edi\n\t"
      "movl %[exit_nr], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "+r"(rax)
      : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r9), "r"(r12), [exit_nr] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return rax;
#else
  const int pid = ::clone(fn, stack_top, static_cast<int>(flags), arg, parent_tid);
  return pid < 0 ? -errno : pid;
#endif
}

STS_AFTER_CLONE void report(const SupervisorPlan& plan, ReportKind kind, long a, long b) noexcept {
  Report r;
  r.kind = kind;
  r.a = static_cast<std::int32_t>(a);
  r.b = static_cast<std::int32_t>(b);
  // One write of 12 bytes: atomic on a pipe. EPIPE (the caller is gone) is fine; SIGPIPE is
  // blocked here.
  while (sys(SYS_write, plan.report_fd, ptr(&r), sizeof r) == -EINTR) {
  }
}

[[noreturn]] STS_AFTER_CLONE void fail(int report_fd, SpawnStage stage, long neg_errno) noexcept {
  Report r;
  r.kind = ReportKind::spawn_failed;
  r.a = static_cast<std::int32_t>(stage);
  r.b = static_cast<std::int32_t>(-neg_errno);
  while (sys(SYS_write, report_fd, ptr(&r), sizeof r) == -EINTR) {
  }
  exit_now(127);
}

// Marks [first, ~0] close-on-exec (or closes it, with `close_now`), with a loop up to fd_limit
// on kernels without close_range.
STS_AFTER_CLONE void close_from(unsigned first, unsigned last, bool close_now, int fd_limit) noexcept {
  if (first > last) return;
  if (sys(SYS_close_range, first, last, close_now ? 0U : CLOSE_RANGE_CLOEXEC) == 0) return;
  const unsigned limit = fd_limit > 0 ? static_cast<unsigned>(fd_limit) : 1024U;
  for (unsigned fd = first; fd <= last && fd < limit; ++fd) {
    if (close_now) {
      sys(SYS_close, fd);
    } else {
      sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
    }
  }
}

// --- the backend child -------------------------------------------------------------------

struct ChildContext {
  const SupervisorPlan* plan;
  long parent;   // the supervisor's pid as the child sees it (1 in a PID namespace)
  int stdin_fd;  // the read end of the stdin pipe the supervisor made
};

// The supervisor's vfork-style child: its own process group, death with the supervisor, the
// three pipe ends on 0/1/2, everything else close-on-exec, an empty mask, execveat of the
// checked descriptor. Dispositions are already SIG_DFL and the mask is full (the supervisor's);
// no new privileges and no core dumps are inherited from the supervisor.
STS_AFTER_CLONE int backend_main(void* arg) noexcept {
  const ChildContext& ctx = *static_cast<const ChildContext*>(arg);
  const SupervisorPlan& plan = *ctx.plan;

  // Own process group, so SIGTERM at the timeout reaches the backend's whole group at once.
  if (long r = sys(SYS_setpgid, 0, 0); r < 0) fail(plan.report_fd, SpawnStage::process_group, r);

  // Dies with the supervisor. The getppid() re-check closes the race where it died first.
  sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sys(SYS_getppid) != ctx.parent) exit_now(127);

  // Everything we need moves above 10 first, so the dup3 onto 0..3 cannot clobber one of them.
  const long report_fd = sys(SYS_fcntl, plan.report_fd, F_DUPFD_CLOEXEC, 10);
  if (report_fd < 0) fail(plan.report_fd, SpawnStage::descriptors, report_fd);
  const int rfd = static_cast<int>(report_fd);
  const long in = sys(SYS_fcntl, ctx.stdin_fd, F_DUPFD_CLOEXEC, 10);
  const long out = sys(SYS_fcntl, plan.stdout_fd, F_DUPFD_CLOEXEC, 10);
  const long err = sys(SYS_fcntl, plan.stderr_fd, F_DUPFD_CLOEXEC, 10);
  long exe = sys(SYS_fcntl, plan.exe_fd, F_DUPFD_CLOEXEC, 10);
  if (in < 0) fail(rfd, SpawnStage::descriptors, in);
  if (out < 0) fail(rfd, SpawnStage::descriptors, out);
  if (err < 0) fail(rfd, SpawnStage::descriptors, err);
  if (exe < 0) fail(rfd, SpawnStage::descriptors, exe);
  if (long r = sys(SYS_dup3, in, 0, 0); r < 0) fail(rfd, SpawnStage::descriptors, r);
  if (long r = sys(SYS_dup3, out, 1, 0); r < 0) fail(rfd, SpawnStage::descriptors, r);
  if (long r = sys(SYS_dup3, err, 2, 0); r < 0) fail(rfd, SpawnStage::descriptors, r);

  // fd 3 is the only extra descriptor a backend may see, and only a #! script: its interpreter
  // opens /dev/fd/3 (execveat of a close-on-exec script fd fails with ENOENT, DESIGN pitfall).
  if (plan.script) {
    if (long r = sys(SYS_dup3, exe, 3, 0); r < 0) fail(rfd, SpawnStage::descriptors, r);
    exe = 3;
  }
  // The rest becomes close-on-exec rather than closed now: the report pipe and (ELF) the exe fd
  // must live until execveat itself.
  close_from(plan.script ? 4U : 3U, ~0U, false, plan.fd_limit);

  // Unblock everything last: a SIGTERM/SIGKILL sent to the group meanwhile lands now, by default.
  unsigned long none = 0;
  sys(SYS_rt_sigprocmask, SIG_SETMASK, ptr(&none), 0, kSigsetBytes);

  // Execute the checked descriptor itself: swapping the path after the check changes nothing.
  static const char kEmpty[] = "";
  const long r = sys(SYS_execveat, exe, ptr(kEmpty), ptr(plan.argv), ptr(plan.envp), AT_EMPTY_PATH);
  fail(rfd, SpawnStage::exec, r);
}

// --- the supervisor ------------------------------------------------------------------------

// No member initialisers: a constructor would be a function of its own, instrumented by the
// sanitizers (see the DANGER note); supervisor_main sets every field.
struct Supervisor {
  const SupervisorPlan* plan;
  long self;               // getpid() in its own namespace
  long backend;            // the backend's pid, once started (else -1)
  bool backend_reaped;
  int code;                // si_code / si_status of the backend's end
  int status;
  int sigfd;
  int input_fd;            // open while request bytes remain (else -1)
  std::size_t written;
};

// Writes what the backend's stdin takes now; closes it when the request is all written or the
// backend stopped reading (EPIPE: not an error, its answer decides; SIGPIPE is blocked here).
STS_AFTER_CLONE void feed_input(Supervisor& s) noexcept {
  const SupervisorPlan& plan = *s.plan;
  while (s.written < plan.input_size) {
    const std::size_t left = plan.input_size - s.written;
    const long n = sys(SYS_write, s.input_fd, ptr(plan.input + s.written), left < 65536 ? left : 65536);
    if (n > 0) {
      s.written += static_cast<std::size_t>(n);
    } else if (n == -EINTR) {
      continue;
    } else if (n == -EAGAIN) {
      return;
    } else {
      break;
    }
  }
  sys(SYS_close, s.input_fd);
  s.input_fd = -1;
}

// Closes every fd but plan.keep (ascending). The supervisor inherited a copy of the caller's
// whole table: holding the caller's other pipes open would break their end-of-file, and
// holding the control pipe's write end would hide the caller's death.
STS_AFTER_CLONE void close_all_but_kept(const SupervisorPlan& plan) noexcept {
  unsigned next = 0;
  for (int i = 0; i < plan.keep_count; ++i) {
    const auto fd = static_cast<unsigned>(plan.keep[i]);
    if (fd > next) close_from(next, fd - 1, true, plan.fd_limit);
    next = fd + 1;
  }
  close_from(next, ~0U, true, plan.fd_limit);
}

// SIG_DFL everywhere: the backend child inherits it (SIG_IGN would survive exec), and no host
// handler can ever run here (all signals stay blocked in the supervisor anyway).
STS_AFTER_CLONE void reset_dispositions() noexcept {
  // The kernel's struct sigaction; all zero is SIG_DFL, no flags, empty mask on every layout.
  unsigned long dfl[4];
  dfl[0] = dfl[1] = dfl[2] = dfl[3] = 0;
  for (int sig = 1; sig <= kLastSignal; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sys(SYS_rt_sigaction, sig, ptr(dfl), 0, kSigsetBytes);
  }
}

constexpr unsigned long bit(int sig) { return 1UL << (sig - 1); }
// The signals the supervisor reads from its signalfd (a constant: no call after the clone).
constexpr unsigned long kSupervisorSignals = bit(SIGCHLD) | bit(SIGHUP);

// Sends sig to every child listed in /proc/thread-self/children (our unreaped children: their
// pids cannot have been reused); false when the list cannot be read.
STS_AFTER_CLONE bool signal_children(int sig) noexcept {
  static const char kChildren[] = "/proc/thread-self/children";
  const long fd = sys(SYS_openat, AT_FDCWD, ptr(kChildren), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  long pid = -1;
  for (;;) {
    const long n = sys(SYS_read, fd, ptr(buf), sizeof buf);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    for (long i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c >= '0' && c <= '9') {
        pid = (pid < 0 ? 0 : pid * 10) + (c - '0');
      } else if (pid > 0) {
        sys(SYS_kill, pid, sig);
        pid = -1;
      }
    }
  }
  if (pid > 0) sys(SYS_kill, pid, sig);
  sys(SYS_close, fd);
  return true;
}

// Signals the whole tree. Only pids that cannot have been reused: the backend's group while the
// backend is unreaped (its pid keeps the group id taken), our own unreaped children, or, as a
// namespace's init, kill(-1), which reaches exactly the namespace.
STS_AFTER_CLONE void signal_tree(Supervisor& s, int sig) noexcept {
  const SupervisorPlan& plan = *s.plan;
  if (plan.kind == ContainmentKind::pid_namespace) {
    sys(SYS_kill, -1, sig);
    return;
  }
  if (s.backend > 0 && !s.backend_reaped) sys(SYS_kill, -s.backend, sig);
  if (plan.kind == ContainmentKind::subreaper) signal_children(sig);
}

STS_AFTER_CLONE void note_reaped(Supervisor& s, const siginfo_t& info) noexcept {
  if (info.si_pid == s.backend && !s.backend_reaped) {
    s.backend_reaped = true;
    s.code = info.si_code;
    s.status = info.si_status;
  }
}

// Reaps every child that has ended. True when the backend is one of them. The backend's group
// is killed before the backend itself is reaped (its pid keeps the group id from reuse).
STS_AFTER_CLONE bool collect(Supervisor& s) noexcept {
  bool backend_ended = false;
  for (;;) {
    siginfo_t info;
    info.si_pid = 0;
    const long r = sys(SYS_waitid, P_ALL, 0, ptr(&info), WEXITED | WNOHANG | WNOWAIT | __WALL, 0);
    if (r < 0 || info.si_pid == 0) return backend_ended;
    if (info.si_pid == s.backend && s.plan->kind != ContainmentKind::pid_namespace) {
      sys(SYS_kill, -s.backend, SIGKILL);
    }
    siginfo_t done;
    done.si_pid = 0;
    if (sys(SYS_waitid, P_PID, info.si_pid, ptr(&done), WEXITED | __WALL, 0) == 0) note_reaped(s, done);
    if (info.si_pid == s.backend) backend_ended = true;
  }
}

// The end of every run: SIGKILL to the whole tree, then reap until nothing is left. Orphans
// re-parented to us by a death are killed on the next round (subreaper); in a namespace
// kill(-1) reaches them all at once. Then the backend's end is reported and we exit.
[[noreturn]] STS_AFTER_CLONE void finish(Supervisor& s) noexcept {
  const SupervisorPlan& plan = *s.plan;
  if (plan.kind == ContainmentKind::pid_namespace) {
    // As init, our exit makes the kernel SIGKILL everything left in the namespace and reap it
    // before that exit completes (zap_pid_namespace); the caller waits for our exit. So only the
    // backend's own end is collected here (kill(-1) would walk every process of the system).
    if (s.backend > 0 && !s.backend_reaped) {
      sys(SYS_kill, s.backend, SIGKILL);  // our unreaped child: its pid is still its own
      siginfo_t info;
      info.si_pid = 0;
      while (sys(SYS_waitid, P_PID, s.backend, ptr(&info), WEXITED | __WALL, 0) == -EINTR) {
      }
      note_reaped(s, info);
    }
    if (s.backend > 0) report(plan, ReportKind::exited, s.code, s.status);
    exit_now(0);
  }
  signal_tree(s, SIGKILL);
  for (;;) {
    siginfo_t info;
    info.si_pid = 0;
    const long r = sys(SYS_waitid, P_ALL, 0, ptr(&info), WEXITED | __WALL, 0);
    if (r == -EINTR) continue;
    if (r < 0) break;  // ECHILD: nothing the backend started is left
    note_reaped(s, info);
    if (plan.kind != ContainmentKind::process_group) signal_tree(s, SIGKILL);
  }
  if (s.backend > 0) report(plan, ReportKind::exited, s.code, s.status);
  exit_now(0);
}

// Reads every pending signal; true when the caller died (PR_SET_PDEATHSIG = SIGHUP).
STS_AFTER_CLONE bool caller_died(const Supervisor& s) noexcept {
  bool died = false;
  for (;;) {
    // struct signalfd_siginfo: 128 bytes, ssi_signo first.
    unsigned int info[32];
    const long n = sys(SYS_read, s.sigfd, ptr(info), sizeof info);
    if (n == -EINTR) continue;
    if (n < static_cast<long>(sizeof info)) return died;
    if (info[0] == SIGHUP) died = true;
  }
}

// Step 1: containment, and what the backend inherits. Failures are reported, then we exit.
STS_AFTER_CLONE void set_up(Supervisor& s) noexcept {
  const SupervisorPlan& plan = *s.plan;
  close_all_but_kept(plan);
  reset_dispositions();
  s.self = sys(SYS_getpid);

  // The caller's death: as init, SIGKILL takes the whole namespace with us. Otherwise SIGHUP,
  // read from the signalfd, so the tree is killed first. The control pipe's end of file says
  // it too, also when the caller died before this prctl.
  const int death = plan.kind == ContainmentKind::pid_namespace ? SIGKILL : SIGHUP;
  if (long r = sys(SYS_prctl, PR_SET_PDEATHSIG, death, 0, 0, 0); r < 0) fail(plan.report_fd, SpawnStage::containment, r);
  // Before the backend exists: an orphan made before this would escape.
  if (plan.kind == ContainmentKind::subreaper) {
    if (long r = sys(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); r < 0) {
      fail(plan.report_fd, SpawnStage::containment, r);
    }
  }
  // Inherited by the backend: no setuid/file-capability escalation, no core dumps.
  if (long r = sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); r < 0) fail(plan.report_fd, SpawnStage::no_new_privs, r);
  unsigned long no_core[2];
  no_core[0] = no_core[1] = 0;
  if (long r = sys(SYS_prlimit64, 0, RLIMIT_CORE, ptr(no_core), 0); r < 0) fail(plan.report_fd, SpawnStage::core_limit, r);

  // Every signal stays blocked here; the two we care about are read from a signalfd.
  unsigned long wanted = kSupervisorSignals;
  s.sigfd = static_cast<int>(sys(SYS_signalfd4, -1, ptr(&wanted), kSigsetBytes, SFD_CLOEXEC | SFD_NONBLOCK));
  if (s.sigfd < 0) fail(plan.report_fd, SpawnStage::signals, s.sigfd);
}

// Step 2: the backend's stdin pipe (made here, see SupervisorPlan::input) and the backend,
// vfork-style on its own stack: this task waits until it has exec'd or failed.
STS_AFTER_CLONE void start_backend(Supervisor& s) noexcept {
  const SupervisorPlan& plan = *s.plan;
  int stdin_pipe[2];
  if (long r = sys(SYS_pipe2, ptr(stdin_pipe), O_CLOEXEC); r < 0) fail(plan.report_fd, SpawnStage::pipes, r);
  if (long r = sys(SYS_fcntl, stdin_pipe[1], F_SETFL, O_NONBLOCK); r < 0) fail(plan.report_fd, SpawnStage::pipes, r);

  ChildContext ctx;
  ctx.plan = &plan;
  ctx.parent = s.self;
  ctx.stdin_fd = stdin_pipe[0];
  const long pid = raw_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, plan.child_stack_top, nullptr, backend_main, &ctx);
  if (pid < 0) fail(plan.report_fd, SpawnStage::none, pid);
  s.backend = pid;

  // Our copy of the read end goes: the backend has its own.
  sys(SYS_close, stdin_pipe[0]);
  s.input_fd = stdin_pipe[1];
  if (plan.input_size == 0) feed_input(s);  // nothing to write: end of file at once
}

// Step 3, until the end: the request in, the caller's commands, the children's deaths.
[[noreturn]] STS_AFTER_CLONE void supervise(Supervisor& s) noexcept {
  const SupervisorPlan& plan = *s.plan;
  for (;;) {
    pollfd fds[3];
    fds[0].fd = plan.control_fd;
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    fds[1].fd = s.sigfd;
    fds[1].events = POLLIN;
    fds[1].revents = 0;
    fds[2].fd = s.input_fd;  // -1 once closed: ignored by poll
    fds[2].events = POLLOUT;
    fds[2].revents = 0;
    const long ready = sys(SYS_ppoll, ptr(fds), 3, 0, 0, kSigsetBytes);
    if (ready == -EINTR) continue;
    if (ready < 0) finish(s);  // cannot wait any more: end it all rather than spin
    if (fds[1].revents != 0) {
      if (caller_died(s)) finish(s);
      if (collect(s)) finish(s);  // the backend ended: nothing it started may outlive it
    }
    if (fds[2].revents != 0 && s.input_fd >= 0) feed_input(s);
    if (fds[0].revents != 0) {
      char command = 0;
      const long n = sys(SYS_read, plan.control_fd, ptr(&command), 1);
      if (n == 1 && command == kControlTerm) {
        signal_tree(s, SIGTERM);
      } else if ((n == 1 && command == kControlKill) || n == 0 || (n < 0 && n != -EINTR && n != -EAGAIN)) {
        finish(s);  // asked to end, or the caller died: end it all
      }
    }
  }
}

STS_AFTER_CLONE int supervisor_main(void* arg) noexcept {
  Supervisor s;
  s.plan = static_cast<const SupervisorPlan*>(arg);
  s.self = 0;
  s.backend = -1;
  s.backend_reaped = false;
  s.code = 0;
  s.status = 0;
  s.sigfd = -1;
  s.input_fd = -1;
  s.written = 0;
  set_up(s);
  start_backend(s);
  supervise(s);
}

STS_AFTER_CLONE int probe_main(void*) noexcept { exit_now(0); }

// ======================= the caller's side (ordinary code) =====================================

bool under_valgrind() noexcept {
#if defined(STS_HAVE_VALGRIND_H)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
  if (RUNNING_ON_VALGRIND) return true;
#pragma GCC diagnostic pop
#endif
  // Valgrind loads its core through LD_PRELOAD: a fallback when its header was not installed.
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "/vgpreload_") != nullptr;
}

// Blocks every signal in the calling thread for its lifetime: no host handler may run in a task
// that has not yet reset its dispositions (STYLE 6).
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() noexcept {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &before_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t before_;
};

}  // namespace

// ---- ChildStacks ------------------------------------------------------------------------------

ChildStacks::~ChildStacks() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

int ChildStacks::allocate() noexcept {
  const long page = ::sysconf(_SC_PAGESIZE);
  page_ = page > 0 ? static_cast<std::size_t>(page) : 4096;
  size_ = page_ + kSupervisorStack + page_ + kChildStack;
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    size_ = 0;
    return errno;
  }
  // A guard page below each stack: an overflow faults instead of writing into the other.
  char* base = static_cast<char*>(p);
  if (::mprotect(base, page_, PROT_NONE) != 0 || ::mprotect(base + page_ + kSupervisorStack, page_, PROT_NONE) != 0) {
    const int error = errno;
    ::munmap(p, size_);
    size_ = 0;
    return error;
  }
  base_ = base;
  return 0;
}

char* ChildStacks::supervisor_top() const noexcept { return base_ + page_ + kSupervisorStack; }
char* ChildStacks::child_top() const noexcept { return base_ + size_; }

// ---- starting, probing, reaping ---------------------------------------------------------------

StartedSupervisor start_supervisor(SupervisorPlan& plan, const ChildStacks& stacks, bool share_address_space,
                                   bool new_pid_namespace) noexcept {
  plan.child_stack_top = stacks.child_top();
  // Exit signal 0 (the low byte): see "Host signal state" at the top.
  const unsigned long flags = CLONE_PIDFD | (new_pid_namespace ? CLONE_NEWPID : 0UL);
  StartedSupervisor started;
  int pidfd = -1;
  long pid;
  {
    const AllSignalsBlocked blocked;
    if (share_address_space) {
      // Our trampoline, not libc's clone(): ThreadSanitizer intercepts that one as a fork.
      pid = raw_clone(flags | CLONE_VM, stacks.supervisor_top(), &pidfd, supervisor_main, &plan);
      started.error = pid < 0 ? static_cast<int>(-pid) : 0;
    } else {
      // Fork-style: the copy continues right here, on its copy of this stack.
      pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, nullptr);
      if (pid == 0) exit_now(supervisor_main(&plan));
      started.error = pid < 0 ? errno : 0;
    }
  }
  started.pid = static_cast<pid_t>(pid);
  if (pid > 0) started.pidfd.reset(pidfd);
  return started;
}

bool can_share_address_space() noexcept {
#if defined(__x86_64__)
  static const bool valgrind = under_valgrind();
  return !valgrind;
#else
  return false;
#endif
}

int probe_pid_namespace() noexcept {
  // A child that exits at once: on x86-64 vfork-style on a small stack of ours (we wait
  // meanwhile), elsewhere fork-style.
  int pidfd = -1;
  int error = 0;
  long pid;
  {
    const AllSignalsBlocked blocked;
#if defined(__x86_64__)
    alignas(16) char stack[16384];
    pid = raw_clone(CLONE_VM | CLONE_VFORK | CLONE_NEWPID | CLONE_PIDFD, stack + sizeof stack, &pidfd, probe_main,
                    nullptr);
    error = pid < 0 ? static_cast<int>(-pid) : 0;
#else
    pid = ::syscall(SYS_clone, CLONE_NEWPID | CLONE_PIDFD, nullptr, &pidfd, nullptr, nullptr);
    if (pid == 0) exit_now(0);
    error = pid < 0 ? errno : 0;
#endif
  }
  if (pid < 0) return error;
  StartedSupervisor probe;
  probe.pid = static_cast<pid_t>(pid);
  probe.pidfd.reset(pidfd);
  reap_supervisor(probe);
  return 0;
}

bool can_list_children() noexcept {
  const int fd = ::open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void reap_supervisor(const StartedSupervisor& supervisor) noexcept {
  if (supervisor.pid <= 0) return;
  siginfo_t info{};
  if (supervisor.pidfd.valid()) {
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(supervisor.pidfd.get()), &info,
                    WEXITED | __WALL) != 0 &&
           errno == EINTR) {
    }
    return;
  }
  // No pidfd (kernel < 5.2): by pid. Safe from reuse unless a host thread reaps with __WALL.
  while (::waitid(P_PID, static_cast<id_t>(supervisor.pid), &info, WEXITED | __WALL) != 0 && errno == EINTR) {
  }
}

}  // namespace sts::posix
