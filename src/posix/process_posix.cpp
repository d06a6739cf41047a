// File: process_posix.cpp
//
// The hardened backend run of SPEC 4 for Linux, the caller's side (process.h): it builds the
// plan, starts a supervisor (supervisor_posix.cpp) that starts and contains the backend and
// writes the request to it, reads both output streams in one poll loop with per-stream caps and
// a deadline that bounds the reads as well as the wait, and reports facts in a RunEnd.
// run_outcome.cpp words the errors.
//
// The spawn, and why it is shaped like this:
//   - Containment (SPEC 4 "No descendant survives"): the strongest the host permits, decided per
//     run and cached: a PID namespace whose init is the supervisor (CAP_SYS_ADMIN), else a
//     subreaper supervisor (any uid; needs /proc/thread-self/children), else the backend's
//     process group. platform::containment() says which, with what it guarantees; the reasons
//     for each are at the top of supervisor_posix.cpp.
//   - Cost independent of the host's heap: the supervisor is cloned with CLONE_VM on a stack of
//     its own, and the backend child with CLONE_VM | CLONE_VFORK: no page tables are copied, as
//     with posix_spawn. fork() copied them and made every page copy-on-write (17.9x a bare
//     posix_spawn from a host with 256 MiB of touched heap, see bench/README.md). Everything
//     the tasks read is built here before the clone; they allocate nothing and call no libc
//     (the DANGER note of supervisor_posix.cpp). Not on x86-64, or under valgrind, the
//     supervisor is a fork-style copy instead: correct, but its cost grows with the heap again.
//   - Host signal state: the supervisor's exit signal is 0 and it is waited for through a pidfd
//     with __WALL, and the backend is the supervisor's child: a host that ignores SIGCHLD or
//     reaps with waitpid(-1) takes nothing from the run. This side never signals by pid: it
//     writes to the control pipe ('T': SIGTERM to the tree; 'K': SIGKILL to it and finish), and
//     kills the supervisor only through its pidfd.
//   - A host that forks (without exec) while a run is in flight copies every fd of the caller.
//     So the caller holds no write end the run waits on: the supervisor makes the backend's
//     stdin pipe itself; the caller learns the supervisor's end from its pidfd, not from the
//     report pipe's end of file; and once the supervisor is gone it reads what the pipes hold
//     without waiting for end of file.
//
// Why not Boost.Process v2 (DESIGN allows the smallest correct replacement with a reason):
// Boost 1.81's posix::default_launcher cannot be bent to this cleanly.
//   - It calls execve() on a path. Executing the checked fd would mean doing the whole child
//     side ourselves inside on_exec_setup, leaving Boost only the fork and its error pipe.
//   - That error pipe is made with pipe() and then fcntl(FD_CLOEXEC) on the write end only: a
//     fork elsewhere in the host in between inherits the write end across exec, and the parent
//     then blocks in an unbounded read() until that unrelated process exits. The timeout cannot
//     bound it.
//   - In the child it calls io_context::notify_fork(fork_child), which recreates the reactor's
//     epoll/timer fds under a mutex: not async-signal-safe in a threaded host.
//   - Its close_all() (close_handles.ipp) compares whitelist[idx] with itself, so the fds between
//     2 and its error pipe are never closed; on exec failure it calls exit(), not _exit(), which
//     runs the host's atexit handlers and flushes its stdio buffers a second time.
//   - It forks: no containment of setsid() descendants, and the page-table copy above.
//
// Thread-safety: run_process may run in several threads at once. Every fd it makes is
// close-on-exec from birth (pipe2(O_CLOEXEC)), and signal masks are changed per thread only.
#if defined(_WIN32)
#error "process_posix.cpp is the POSIX backend run; Windows builds use src/windows/process_windows.cpp"
#endif
#if !defined(__linux__)
#error "process_posix.cpp needs Linux (execveat, pidfd, prctl); port it before building on this platform"
#endif

#include "common/process.h"
#include "common/run_outcome.h"
#include "common/text.h"
#include "posix/supervisor_posix.h"
#include "posix/unique_fd.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

namespace sts {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using posix::UniqueFd;

// After SIGTERM the tree gets this long before SIGKILL.
constexpr milliseconds kTermGrace{500};
// At deadline + grace + this the run stops whatever holds it up, and the supervisor gets
// kSupervisorGrace more to finish before it is SIGKILLed: SPEC 4 promises timeout + 2 s.
constexpr milliseconds kHardStopSlack{750};
constexpr milliseconds kSupervisorGrace{500};
constexpr milliseconds kLongestTimeout{24LL * 3600 * 1000 * 365};
constexpr std::size_t kReadChunk = 64 * 1024;
// stdout's first buffer: one page, which most responses fit and which comes from the arena's
// shared first chunk. A first buffer of kReadChunk got a locked mapping of its own on every run
// (mmap, two madvise, mlock faulting in 16 pages, then munlock and munmap): about 100 us of a
// 1.1 ms run in the benchmark VM (bench/README.md). Larger answers grow from there as before.
constexpr std::size_t kFirstRead = 4096;

// ---- containment: what this host permits -----------------------------------------------------

enum class Availability : int { unknown, yes, no };
std::atomic<int> g_pid_namespace{static_cast<int>(Availability::unknown)};
std::atomic<int> g_pid_namespace_errno{0};

bool pid_namespace_ruled_out() {
  return g_pid_namespace.load(std::memory_order_relaxed) == static_cast<int>(Availability::no);
}

void remember_pid_namespace(int error) {
  g_pid_namespace_errno.store(error, std::memory_order_relaxed);
  g_pid_namespace.store(static_cast<int>(error == 0 ? Availability::yes : Availability::no), std::memory_order_relaxed);
}

bool children_listable() {
  static const bool listable = posix::can_list_children();
  return listable;
}

// The errnos with which clone(CLONE_NEWPID) says "not here" (rather than "out of memory").
bool namespace_refused(int error) {
  return error == EPERM || error == EINVAL || error == ENOSPC || error == EUSERS || error == EACCES;
}

ContainmentKind strongest_without_namespace() {
  return children_listable() ? ContainmentKind::subreaper : ContainmentKind::process_group;
}

// ---- small helpers -----------------------------------------------------------------------------

Status make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error{Code::spawn_failed, errno, "pipe2"};
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return ok();
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// SIGPIPE must never kill the caller (SPEC 4), and the process-wide disposition belongs to the
// host. This side writes only to the control pipe (the supervisor writes the request), which a
// dead supervisor leaves without a reader. So SIGPIPE is blocked in this thread for the run; a
// SIGPIPE our write raised is consumed with sigtimedwait before the old mask comes back.
class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_set_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

Environment allowed_process_environment(const std::vector<std::string>& allow) {
  // Only the allow-listed names are copied out of the process environment: copying it whole
  // would put the caller's secrets (STS_API_KEY...) into more heap memory for nothing.
  Environment env;
  for (const auto& name : allow) {
    if (name.empty() || name.find('=') != std::string::npos) continue;
    if (const char* value = std::getenv(name.c_str())) env.emplace(name, value);
  }
  if (const char* path = std::getenv("PATH")) env.emplace("PATH", path);
  return env;
}

enum class Failure { none, spawn, stdout_cap, stderr_cap, timeout };

posix::ChildStacks& thread_stacks() {
  thread_local posix::ChildStacks stacks;
  return stacks;
}

// ---- one run ---------------------------------------------------------------------------------

// One run. The destructor never leaves anything behind (STYLE 7): whatever path leaves early,
// the supervisor is told to kill the tree and finish, and is reaped before its stacks are
// unmapped.
class BackendRun {
 public:
  explicit BackendRun(const RunOptions& options) : options_(options) {}
  BackendRun(const BackendRun&) = delete;
  BackendRun& operator=(const BackendRun&) = delete;

  ~BackendRun() {
    stop_supervisor(false);
    secure_zero(scratch_, sizeof scratch_);
    // Allow-listed values may be sensitive.
    for (auto& e : env_storage_) secure_zero(e.data(), e.size());
  }

  RunEnd run() {
    const Clock::time_point started = Clock::now();
    if (start()) {
      pump();
      stop_supervisor(false);
    }
    end_.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    end_.stderr_tail = tail_.take();
    conclude();
    return std::move(end_);
  }

 private:
  // ---- starting ----

  bool start() {
    build_argv_envp();
    if (!make_pipes()) return false;
    if (!stacks_.mapped()) {
      if (const int error = stacks_.allocate(); error != 0) return spawn_failed(SpawnStage::supervisor, error);
    }
    fill_plan();

    ContainmentKind kind = options_.containment.value_or(
        pid_namespace_ruled_out() ? strongest_without_namespace() : ContainmentKind::pid_namespace);
    const bool share = options_.share_address_space && posix::can_share_address_space();
    plan_.kind = kind;
    supervisor_ = posix::start_supervisor(plan_, stacks_, share, kind == ContainmentKind::pid_namespace);
    if (supervisor_.pid < 0 && kind == ContainmentKind::pid_namespace && !options_.containment &&
        namespace_refused(supervisor_.error)) {
      // No PID namespace here (no CAP_SYS_ADMIN, a seccomp policy, a nesting limit): remember
      // it, and fall back to the strongest other containment.
      remember_pid_namespace(supervisor_.error);
      kind = strongest_without_namespace();
      plan_.kind = kind;
      supervisor_ = posix::start_supervisor(plan_, stacks_, share, false);
    } else if (supervisor_.pid > 0 && kind == ContainmentKind::pid_namespace) {
      remember_pid_namespace(0);
    }
    end_.containment = kind;
    if (supervisor_.pid < 0) {
      return spawn_failed(kind == ContainmentKind::pid_namespace ? SpawnStage::containment : SpawnStage::supervisor,
                          supervisor_.error);
    }
    started_ = Clock::now();
    // The supervisor has its copies; ours must go, or the report pipe would never end.
    for (UniqueFd* fd : {&stdout_write_, &stderr_write_, &control_read_, &report_write_}) fd->reset();
    return true;
  }

  void build_argv_envp() {
    const int exe_fd = static_cast<int>(options_.executable->native());
    // Script or ELF: only a #! file gets fd 3 (see backend_main). pread leaves the offset alone.
    char magic[2] = {0, 0};
    script_ = ::pread(exe_fd, magic, sizeof magic, 0) == 2 && magic[0] == '#' && magic[1] == '!';

    // Built here, before the clone: the tasks after it may not allocate.
    arg_storage_.reserve(options_.arguments.size() + 1);
    arg_storage_.push_back(options_.executable->path());  // argv[0] is the configured path
    for (const auto& a : options_.arguments) arg_storage_.push_back(a);
    if (options_.caller_environment != nullptr) {
      env_storage_ = platform::child_environment(options_.environment_allow, *options_.caller_environment);
    } else {
      env_storage_ = platform::child_environment(options_.environment_allow,
                                                 allowed_process_environment(options_.environment_allow));
    }
    for (auto& a : arg_storage_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    for (auto& e : env_storage_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }

  bool make_pipes() {
    // The backend's stdin pipe is the supervisor's own (SupervisorPlan::input).
    for (auto [r, w] : {std::pair<UniqueFd*, UniqueFd*>{&out_, &stdout_write_}, {&err_, &stderr_write_},
                        {&control_read_, &control_}, {&report_, &report_write_}}) {
      if (Status s = make_pipe(*r, *w); !s) return spawn_failed(SpawnStage::pipes, s.error().os_error);
    }
    for (const UniqueFd* fd : {&out_, &err_, &report_}) {
      if (!set_nonblocking(fd->get())) return spawn_failed(SpawnStage::pipes, errno);
    }
    return true;
  }

  void fill_plan() {
    plan_.argv = argv_.data();
    plan_.envp = envp_.data();
    plan_.exe_fd = static_cast<int>(options_.executable->native());
    plan_.script = script_;
    plan_.stdout_fd = stdout_write_.get();
    plan_.stderr_fd = stderr_write_.get();
    plan_.input = options_.input.data();
    plan_.input_size = options_.input.size();
    plan_.control_fd = control_read_.get();
    plan_.report_fd = report_write_.get();
    const int kept[] = {plan_.exe_fd, plan_.stdout_fd, plan_.stderr_fd, plan_.control_fd, plan_.report_fd};
    plan_.keep_count = 0;
    for (int fd : kept) plan_.keep[plan_.keep_count++] = fd;
    std::sort(plan_.keep, plan_.keep + plan_.keep_count);
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    plan_.fd_limit = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;
  }

  bool spawn_failed(SpawnStage stage, int error) {
    failure_ = Failure::spawn;
    end_.stage = stage;
    end_.os_error = error;
    return false;
  }

  // ---- the supervisor ----

  void send(char command) {
    if (!control_.valid()) return;
    ssize_t n;
    do n = ::write(control_.get(), &command, 1);
    while (n < 0 && errno == EINTR);
  }

  // SIGKILL to the tree, and the end: the supervisor reaps it all, reports and exits.
  void send_kill() {
    if (kill_sent_ || supervisor_gone_) return;
    send(posix::kControlKill);
    kill_sent_ = true;
  }

  // Ends the run on the supervisor's side and reaps it; its stacks may go only after that.
  // `force` (past the hard stop): SIGKILL through its pidfd if it does not end in time; as a
  // namespace's init its death still takes the namespace.
  void stop_supervisor(bool force) {
    send_kill();
    control_.reset();
    if (supervisor_.pid <= 0 || supervisor_reaped_) return;
    if (force && supervisor_.pidfd.valid()) {
      pollfd p{supervisor_.pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kSupervisorGrace.count())) == 0) {
        ::syscall(SYS_pidfd_send_signal, supervisor_.pidfd.get(), SIGKILL, nullptr, 0);
      }
    }
    posix::reap_supervisor(supervisor_);
    supervisor_reaped_ = true;
  }

  void read_reports() {
    while (report_.valid()) {
      const ssize_t n = ::read(report_.get(), report_buf_ + report_len_, sizeof report_buf_ - report_len_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        // End of file: the supervisor has exited (unless a host's fork holds a copy: then the
        // pidfd says it).
        supervisor_gone_ = true;
        report_.reset();
        return;
      }
      report_len_ += static_cast<std::size_t>(n);
      std::size_t used = 0;
      while (report_len_ - used >= sizeof(posix::Report)) {
        posix::Report r;
        std::memcpy(&r, report_buf_ + used, sizeof r);
        take_report(r);
        used += sizeof r;
      }
      std::memmove(report_buf_, report_buf_ + used, report_len_ - used);
      report_len_ -= used;
    }
  }

  void take_report(const posix::Report& r) {
    if (r.kind == posix::ReportKind::spawn_failed && failure_ == Failure::none) {
      spawn_failed(static_cast<SpawnStage>(r.a), r.b);
    } else if (r.kind == posix::ReportKind::exited) {
      backend_ended_ = true;
      have_status_ = true;
      if (r.a == CLD_EXITED) {
        end_.exit_code = r.b;
      } else {
        end_.signal = r.b;
      }
    }
  }

  // ---- output ----

  std::size_t stream_limit() const noexcept {
    const std::size_t max = options_.output_max_size;
    return max == static_cast<std::size_t>(-1) ? max : max + 1;  // one byte past the cap detects it
  }

  // Reads what stdout has now; false when nothing was there (or it ended). The stdout cap
  // stops the run when it is passed (with `enforce_cap`).
  bool read_stdout(bool enforce_cap = true) {
    SecureBuffer& out = end_.out;
    const std::size_t limit = stream_limit();
    if (out.spare_size() == 0 && out.size() < limit) {
      const std::size_t want = out.size() == 0 ? kFirstRead : std::max(out.size() * 2, out.size() + kReadChunk);
      out.reserve(std::min(limit, want));
    }
    const std::size_t room = std::min({out.spare_size(), limit - out.size(), kReadChunk});
    // Straight into the locked arena: stdout holds secrets, so no plain heap copy.
    const ssize_t n = ::read(out_.get(), out.spare(), room);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) out_.reset();
      return false;
    }
    out.commit(static_cast<std::size_t>(n));
    end_.stdout_bytes += static_cast<std::size_t>(n);
    if (enforce_cap && end_.stdout_bytes > options_.output_max_size) over_cap(Failure::stdout_cap);
    return true;
  }

  bool read_stderr() {
    const ssize_t n = ::read(err_.get(), scratch_, sizeof scratch_);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) err_.reset();
      return false;
    }
    const auto len = static_cast<std::size_t>(n);
    end_.stderr_bytes += len;
    tail_.append(std::string_view(scratch_, len));
    secure_zero(scratch_, len);  // stderr may echo secrets (echo-secret-to-stderr)
    if (end_.stderr_bytes > options_.output_max_size) over_cap(Failure::stderr_cap);
    return true;
  }

  void over_cap(Failure which) {
    if (failure_ == Failure::none) failure_ = which;
    // Killed as soon as the cap is hit, and nothing more is read. Our read ends stay open (and
    // unpolled) until the supervisor is done: closing them first would let the backend die of
    // SIGPIPE before our SIGKILL reaches it, which reports the wrong signal.
    send_kill();
    reading_ = false;
  }

  // After the supervisor is gone everything the run started is dead (process-group
  // containment aside), so what the pipes hold now is all there is: read it without waiting
  // for end of file, which a host's fork holding a copy of a write end could delay forever.
  // The caps bound it against a writer that escaped the process group.
  void drain() {
    while (reading_ && (out_.valid() || err_.valid())) {
      bool got = false;
      if (out_.valid()) got = read_stdout() || got;
      if (reading_ && err_.valid()) got = read_stderr() || got;
      if (!got) break;
    }
    // A run stopped by the stderr cap may have left stdout in its pipe: read it (up to one byte
    // past the stdout cap, where read_stdout stops taking more), so that the strings it held are
    // known values when the stderr tail is logged (SPEC 6 "Logs": a failed run's stderr is
    // scrubbed of every string value its stdout held).
    if (failure_ == Failure::stderr_cap) {
      while (out_.valid() && end_.stdout_bytes <= options_.output_max_size && read_stdout(false)) {
      }
    }
    out_.reset();
    err_.reset();
  }

  // The I/O loop: read both streams until the supervisor is gone, or the deadline forces an
  // end. The supervisor writes the request.
  void pump() {
    // Clamped so that absurd configured timeouts cannot overflow the clock arithmetic.
    const Clock::time_point deadline = started_ + std::min(options_.timeout, kLongestTimeout);
    const Clock::time_point hard_stop = deadline + kTermGrace + kHardStopSlack;
    Clock::time_point kill_at = Clock::time_point::max();
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (supervisor_gone_) break;
      if (!backend_ended_ && !term_sent_ && !kill_sent_ && now >= deadline) {
        if (failure_ == Failure::none) failure_ = Failure::timeout;
        send(posix::kControlTerm);
        term_sent_ = true;
        kill_at = now + kTermGrace;
      }
      if (!backend_ended_ && now >= kill_at) send_kill();
      if (now >= hard_stop) {
        // Whatever holds things up, the deadline bounds the call (SPEC 4: timeout + 2 s).
        stop_supervisor(true);
        read_reports();
        break;
      }
      // Wake for the next thing to do; reports, exits and output wake us earlier.
      Clock::time_point wake = hard_stop;
      if (!backend_ended_ && !kill_sent_) wake = term_sent_ ? kill_at : deadline;
      poll_once(now, wake);
    }
    drain();
  }

  void poll_once(Clock::time_point now, Clock::time_point wake) {
    pollfd fds[4];
    nfds_t count = 0;
    auto add = [&](const UniqueFd& fd, short events) -> int {
      if (!fd.valid()) return -1;
      fds[count] = pollfd{fd.get(), events, 0};
      return static_cast<int>(count++);
    };
    const int i_report = add(report_, POLLIN);
    const int i_exit = add(supervisor_.pidfd, POLLIN);  // readable once the supervisor has exited
    const int i_out = reading_ ? add(out_, POLLIN) : -1;
    const int i_err = reading_ ? add(err_, POLLIN) : -1;
    auto wait = std::chrono::duration_cast<milliseconds>(wake - now) + milliseconds(1);
    wait = std::min(wait, milliseconds(60000));  // fits poll's int
    const int ready = ::poll(fds, count, static_cast<int>(std::max<milliseconds::rep>(0, wait.count())));
    if (ready < 0) {
      if (errno != EINTR) ::poll(nullptr, 0, 10);  // unexpected: don't spin
      return;
    }
    auto has = [&](int i) { return i >= 0 && fds[i].revents != 0; };
    if (has(i_out) && out_.valid()) read_stdout();
    if (has(i_err) && err_.valid()) read_stderr();
    if (has(i_report)) read_reports();
    if (has(i_exit)) {
      read_reports();  // everything it wrote is in the pipe by now
      supervisor_gone_ = true;
    }
  }

  // ---- the facts ----

  void conclude() {
    switch (failure_) {
      case Failure::spawn:
        end_.how = RunEndHow::spawn_failed;
        return;
      case Failure::stdout_cap:
      case Failure::stderr_cap:
        end_.how = RunEndHow::output_capped;
        end_.capped = failure_ == Failure::stdout_cap ? OutputStream::stdout_stream : OutputStream::stderr_stream;
        return;
      case Failure::timeout:
        end_.how = RunEndHow::timed_out;
        return;
      case Failure::none:
        break;
    }
    if (!have_status_) {
      // The supervisor ended without saying how the backend did: killed from outside.
      end_.how = RunEndHow::lost;
      end_.stage = SpawnStage::wait;
      return;
    }
    end_.how = end_.signal != 0 ? RunEndHow::signaled : RunEndHow::exited;
  }

  const RunOptions& options_;
  RunEnd end_;
  StderrTail tail_;
  bool script_ = false;
  std::vector<std::string> arg_storage_;
  std::vector<std::string> env_storage_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  // Ours: stdout, stderr, control (write), report (read). The rest are the supervisor's ends,
  // closed here once it has started.
  UniqueFd out_, err_, control_, report_;
  UniqueFd stdout_write_, stderr_write_, control_read_, report_write_;
  // This thread's supervisor stacks, mapped once and reused: runs are synchronous and each reaps
  // its supervisor before it returns, so no task is on them between runs.
  posix::ChildStacks& stacks_ = thread_stacks();
  posix::SupervisorPlan plan_;
  posix::StartedSupervisor supervisor_;
  bool supervisor_reaped_ = false;
  Clock::time_point started_ = Clock::now();
  bool backend_ended_ = false;
  bool supervisor_gone_ = false;
  bool have_status_ = false;
  bool term_sent_ = false;
  bool kill_sent_ = false;
  bool reading_ = true;  // false once a stream went over the cap
  Failure failure_ = Failure::none;
  char report_buf_[4 * sizeof(posix::Report)] = {};
  std::size_t report_len_ = 0;
  char scratch_[16 * 1024] = {};  // stderr read buffer, zeroed after every read
};

// ---- what check prints --------------------------------------------------------------------------

Containment describe(ContainmentKind kind, int namespace_error) {
  const std::string no_namespace =
      "a PID namespace needs CAP_SYS_ADMIN, and clone(CLONE_NEWPID) was refused here (" +
      errno_text(namespace_error) +
      "); as non-root it would also need a user namespace, where root-owned files look owned by "
      "nobody to the backend (ssh, git and other backends that check ownership break)";
  switch (kind) {
    case ContainmentKind::pid_namespace:
      return {kind, "pid-namespace",
              "each run gets a PID namespace whose init is a supervisor; when the run ends (exit, timeout, output "
              "cap) or the caller dies, even by SIGKILL, the kernel kills every process in it, setsid() ones too",
              ""};
    case ContainmentKind::subreaper:
      return {kind, "subreaper",
              "a supervisor (PR_SET_CHILD_SUBREAPER) adopts every orphaned descendant and kills the whole tree when "
              "the run ends (exit, timeout, output cap) or the caller dies, even by SIGKILL (lifeline pipe and "
              "PR_SET_PDEATHSIG), setsid() ones too",
              no_namespace + "; a subreaper does not survive a SIGKILL sent to it by someone else, and a fork "
              "bomb can race its kill rounds"};
    case ContainmentKind::process_group:
      return {kind, "process-group",
              "the backend's process group is killed at the timeout and when the backend ends (its members are "
              "not waited for), and the backend dies with the caller (PR_SET_PDEATHSIG); descendants that call "
              "setsid() can survive",
              no_namespace + "; and /proc/thread-self/children cannot be read (no /proc, or a kernel without "
              "CONFIG_PROC_CHILDREN), so a subreaper could not find orphans"};
    case ContainmentKind::job_object:
      break;
  }
  return {kind, "unknown", "", ""};
}

}  // namespace

RunEnd platform::run_process(const RunOptions& options) {
  if (options.executable == nullptr || !options.executable->valid()) {
    RunEnd end;
    end.how = RunEndHow::spawn_failed;
    end.stage = SpawnStage::none;
    end.os_error = EBADF;
    return end;
  }
  SigpipeBlock sigpipe_block;  // outlives the run: writes happen inside
  BackendRun run(options);
  return run.run();
}

Containment platform::containment() {
  // Probed afresh on every call (a trial clone, ~50 us): a host may have dropped privileges
  // since the last run. Runs then use what this probe found.
  const int error = posix::probe_pid_namespace();
  remember_pid_namespace(error);
  if (error == 0) return describe(ContainmentKind::pid_namespace, 0);
  return describe(strongest_without_namespace(), error);
}

std::vector<std::string> platform::child_environment(const std::vector<std::string>& allow, const Environment& caller) {
  std::vector<std::string> env;
  const bool path_allowed = std::find(allow.begin(), allow.end(), "PATH") != allow.end();
  const auto path = caller.find("PATH");
  // The caller's PATH only when allow-listed and set; otherwise a fixed system PATH.
  env.push_back(path_allowed && path != caller.end() ? "PATH=" + path->second : std::string("PATH=/usr/bin:/bin"));
  std::vector<std::string_view> seen{"PATH"};
  for (const auto& name : allow) {
    if (name.empty() || name.find('=') != std::string::npos) continue;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    const auto it = caller.find(name);
    if (it != caller.end()) env.push_back(name + "=" + it->second);
  }
  return env;
}

std::string platform::os_error_text(int error) { return errno_text(error); }

std::string platform::signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::string("unknown signal");
}

}  // namespace sts
