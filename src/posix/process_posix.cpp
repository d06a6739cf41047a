// File: process_posix.cpp
//
// The hardened backend run of SPEC 4 for Linux: fork + execveat of the verified descriptor,
// a scrubbed environment, only 0/1/2 open in the child (plus 3 for #! scripts), its own process
// group, no new privileges, no core dumps, death with the caller, concurrent request/response
// I/O with per-stream caps, and a deadline that bounds the reads as well as the wait.
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
// So this file forks and execs itself; the I/O is a poll() loop over the pipes and a pidfd,
// which needs no io_context, no SIGCHLD handler and no process-wide state.
//
// Thread-safety: run_backend may run in several threads at once. Every fd it makes is
// close-on-exec from birth (pipe2(O_CLOEXEC)), and signal masks are changed per thread only.
#if defined(_WIN32)
#error "process_posix.cpp is the POSIX backend run; Windows builds use src/windows/process_windows.cpp"
#endif
#if !defined(__linux__)
#error "process_posix.cpp needs Linux (execveat, pidfd, prctl); port it before building on this platform"
#endif

#include "common/process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace sts {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After SIGTERM the group gets this long before SIGKILL.
constexpr milliseconds kTermGrace{500};
// After the child exits, the pipes are drained this long at most: a grandchild (or a process
// that left the group) may hold them open forever (golang/go#23019).
constexpr milliseconds kDrainAfterExit{250};
// Reads stop at deadline + grace + this, whatever holds the pipes: SPEC 4 promises timeout + 2 s.
constexpr milliseconds kHardStopSlack{1000};
constexpr milliseconds kLongestTimeout{24LL * 3600 * 1000 * 365};
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kWriteChunk = 64 * 1024;

// ---- small owners ----------------------------------------------------------------------

// Move-only fd owner (STYLE 2); close preserves errno.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) { reset(); fd_ = o.fd_; o.fd_ = -1; }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { int f = fd_; fd_ = -1; return f; }
  void reset() noexcept {
    if (fd_ >= 0) { int saved = errno; ::close(fd_); errno = saved; }
    fd_ = -1;
  }
 private:
  int fd_ = -1;
};

std::string os_reason(int err) { return std::system_category().message(err); }

Status make_pipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error{Code::spawn_failed, errno, "pipe2: " + os_reason(errno)};
  read_end = Fd(p[0]);
  write_end = Fd(p[1]);
  return ok();
}

bool set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// SIGPIPE must never kill the caller (SPEC 4), and the process-wide disposition belongs to the
// host. So SIGPIPE is blocked in this thread only while we write; a SIGPIPE our write raised is
// consumed with sigtimedwait before the old mask comes back. EPIPE is then handled as "the
// backend stopped reading".
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

// ---- the child side ----------------------------------------------------------------------

// What the child reports over the status pipe when it cannot reach exec.
enum class Stage : int { exec = 0, process_group, no_new_privs, core_limit, descriptors };

struct ChildReport {
  Stage stage;
  int error;
};

// Everything the child needs, prepared before fork. DANGER: after fork, in a host that may have
// other threads, only async-signal-safe calls are allowed: no malloc, no locks, no iostreams,
// no std::string. Another thread may have held the malloc lock at fork time, and the child has
// only the forking thread. So argv/envp are built in the parent, and the child touches only this
// struct, raw syscalls and stack memory.
struct ChildPlan {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int exe_fd = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int status_fd = -1;
  bool script = false;
  pid_t parent = 0;
  int fd_limit = 1024;  // for the close-on-exec fallback when close_range is missing
};

[[noreturn]] void child_fail(int status_fd, Stage stage, int err) noexcept {
  ChildReport report{stage, err};
  ssize_t written = ::write(status_fd, &report, sizeof report);
  (void)written;
  ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& plan) noexcept {
  // Signal dispositions back to default: SIG_IGN survives exec (a host ignoring SIGPIPE or
  // SIGTERM would otherwise make the backend ignore them too), and a host handler must not run
  // here. The mask stays fully blocked (the parent blocked everything across fork) until just
  // before exec, so nothing of the host runs in this half-process.
  struct sigaction dfl{};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // EINVAL for glibc-reserved signals: fine
  }

  // Own process group, so the timeout can kill the whole tree with kill(-pgid).
  if (::setpgid(0, 0) != 0) child_fail(plan.status_fd, Stage::process_group, errno);

  // Die with the caller. PDEATHSIG fires when the parent *thread* exits (DESIGN pitfall), not
  // the process: that is fine here because run_backend is synchronous, so the forking thread
  // stays inside run_backend until this child is dead and reaped. The getppid() re-check closes
  // the race where the caller died between fork and prctl.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() != plan.parent) ::_exit(127);

  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(plan.status_fd, Stage::no_new_privs, errno);

  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) child_fail(plan.status_fd, Stage::core_limit, errno);

  // Move every fd we need above 10 first, so the dup2 onto 0..3 cannot clobber one of them (a
  // host with fd 0 closed gets pipe ends numbered 0..2).
  const int status_fd = ::fcntl(plan.status_fd, F_DUPFD_CLOEXEC, 10);
  if (status_fd < 0) child_fail(plan.status_fd, Stage::descriptors, errno);
  const int in = ::fcntl(plan.stdin_fd, F_DUPFD_CLOEXEC, 10);
  const int out = ::fcntl(plan.stdout_fd, F_DUPFD_CLOEXEC, 10);
  const int err = ::fcntl(plan.stderr_fd, F_DUPFD_CLOEXEC, 10);
  int exe = ::fcntl(plan.exe_fd, F_DUPFD_CLOEXEC, 10);
  if (in < 0 || out < 0 || err < 0 || exe < 0) child_fail(status_fd, Stage::descriptors, errno);
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) child_fail(status_fd, Stage::descriptors, errno);

  // fd 3 is the only extra descriptor a backend may see, and only a #! script: the kernel runs
  // its interpreter with /dev/fd/3 as the script path, so the fd must survive exec
  // (execveat of a close-on-exec fd of a script fails with ENOENT, DESIGN pitfall). An ELF
  // backend keeps the fd close-on-exec, so it starts with exactly 0, 1 and 2.
  if (plan.script) {
    if (::dup2(exe, 3) < 0) child_fail(status_fd, Stage::descriptors, errno);
    exe = 3;
  }
  const unsigned first_closed = plan.script ? 4U : 3U;
  // Everything else becomes close-on-exec rather than closed now: the status pipe and (for ELF)
  // the exe fd must live until execveat itself.
#ifdef SYS_close_range
  const bool marked = ::syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#else
  const bool marked = false;
#endif
  if (!marked) {
    for (int fd = static_cast<int>(first_closed); fd < plan.fd_limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }

  // Unblock everything last: a SIGTERM/SIGKILL sent to the group meanwhile is delivered now,
  // with its default action.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Execute the checked descriptor itself: swapping the path after the check changes nothing.
  ::syscall(SYS_execveat, exe, "", plan.argv, plan.envp, AT_EMPTY_PATH);
  child_fail(status_fd, Stage::exec, errno);
}

// ---- the parent side ---------------------------------------------------------------------

std::string format_timeout(milliseconds t) {
  if (t.count() % 1000 == 0) return std::to_string(t.count() / 1000) + "s";
  return std::to_string(t.count()) + "ms";
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::string("unknown signal");
}

// Keeps the last kStderrTailBytes of stderr, in secure storage only.
void append_tail(SecureBuffer& tail, std::string_view chunk) {
  if (chunk.size() >= kStderrTailBytes) {
    SecureBuffer fresh;
    fresh.reserve(kStderrTailBytes);
    fresh.append(chunk.substr(chunk.size() - kStderrTailBytes));
    tail = std::move(fresh);
  } else if (tail.size() + chunk.size() <= kStderrTailBytes) {
    tail.reserve(kStderrTailBytes);
    tail.append(chunk);
  } else {
    const std::size_t keep = kStderrTailBytes - chunk.size();
    SecureBuffer fresh;
    fresh.reserve(kStderrTailBytes);
    fresh.append(tail.view().substr(tail.size() - keep));
    fresh.append(chunk);
    tail = std::move(fresh);  // the old storage is zeroed by the move-assignment
  }
}

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

// One run. The destructor never leaves a child behind (STYLE 7): whatever path leaves early,
// an unreaped child gets SIGKILL (itself and its group) and is reaped.
class BackendRun {
 public:
  BackendRun(const RunOptions& options, RunStats& stats)
      : options_(options), stats_(stats), path_(options.executable->path()) {}
  BackendRun(const BackendRun&) = delete;
  BackendRun& operator=(const BackendRun&) = delete;

  ~BackendRun() {
    if (pid_ > 0 && !reaped_) {
      signal_tree(SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    secure_zero(scratch_, sizeof scratch_);
    // Allow-listed values may be sensitive.
    for (auto& e : env_storage_) secure_zero(e.data(), e.size());
  }

  Result<RunOutput> run() {
    if (Status s = spawn(); !s) return std::move(s).error();
    pump();
    reap();
    return finish();
  }

 private:
  Status spawn() {
    const int exe_fd = static_cast<int>(options_.executable->native());

    // Script or ELF: only a #! file gets fd 3 (see run_child). pread leaves the offset alone.
    char magic[2] = {0, 0};
    script_ = ::pread(exe_fd, magic, sizeof magic, 0) == 2 && magic[0] == '#' && magic[1] == '!';

    // argv/envp are built here, before fork: the child may not allocate (see ChildPlan).
    arg_storage_.reserve(options_.arguments.size() + 1);
    arg_storage_.push_back(path_);  // argv[0] is the configured path
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

    Fd child_in, child_out, child_err, status_w;
    for (auto [r, w] : {std::pair<Fd*, Fd*>{&child_in, &in_}, {&out_, &child_out}, {&err_, &child_err},
                        {&status_, &status_w}}) {
      if (Status s = make_pipe(*r, *w); !s) return spawn_error(s.error().os_error, s.error().message);
    }
    if (!set_nonblocking(in_.get()) || !set_nonblocking(out_.get()) || !set_nonblocking(err_.get())) {
      return spawn_error(errno, std::string("fcntl(O_NONBLOCK): ") + os_reason(errno));
    }

    ChildPlan plan;
    plan.argv = argv_.data();
    plan.envp = envp_.data();
    plan.exe_fd = exe_fd;
    plan.stdin_fd = child_in.get();
    plan.stdout_fd = child_out.get();
    plan.stderr_fd = child_err.get();
    plan.status_fd = status_w.get();
    plan.script = script_;
    plan.parent = ::getpid();
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    plan.fd_limit = open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;

    // Block every signal across fork: a host handler must never run in the child before it has
    // reset the dispositions. The child unblocks right before exec; the parent restores now.
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    const pid_t pid = ::fork();
    if (pid == 0) run_child(plan);
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    if (pid < 0) return spawn_error(fork_errno, "fork: " + os_reason(fork_errno));

    pid_ = pid;
    started_ = Clock::now();
    // Both sides set the group, so kill(-pid) works whichever runs first.
    ::setpgid(pid_, pid_);
#ifdef SYS_pidfd_open
    // A pidfd tells us when the child exits (poll) without SIGCHLD, and signals it without any
    // PID-reuse risk. Without one (old kernel), the pid is only signalled while it is unreaped.
    pidfd_ = Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
#endif
    child_in.reset();
    child_out.reset();
    child_err.reset();
    status_w.reset();
    return ok();
  }

  Status spawn_error(int err, const std::string& what) {
    return Error{Code::spawn_failed, err, "cannot start backend " + path_ + ": " + what};
  }

  // Signals the child and its group. Only while the child is unreaped: until then its pid (and
  // so its group id) cannot be reused by an unrelated process.
  void signal_tree(int sig) noexcept {
    if (pid_ <= 0 || reaped_) return;
#ifdef SYS_pidfd_send_signal
    if (!pidfd_.valid() || ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) != 0) ::kill(pid_, sig);
#else
    ::kill(pid_, sig);
#endif
    ::kill(-pid_, sig);
  }

  bool child_has_exited() noexcept {
    if (exited_) return true;
    siginfo_t info{};
    // WNOWAIT: look, don't reap, so the group can still be signalled safely afterwards.
    const int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) {
      exited_ = true;
    } else if (r < 0 && errno == ECHILD) {
      // The host sets SIGCHLD to SIG_IGN, so the kernel reaped the child: its pid is no longer
      // ours to signal, and its status is lost.
      exited_ = reaped_ = true;
      wait_errno_ = ECHILD;
    }
    return exited_;
  }

  void read_status_pipe() {
    ChildReport report{};
    ssize_t n;
    do n = ::read(status_.get(), &report, sizeof report);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof report)) {
      failure_ = Failure::spawn;
      report_ = report;
    }
    status_.reset();  // EOF (exec happened) or a report: either way, done
  }

  void write_request() {
    const std::string_view input = options_.input;
    while (written_ < input.size()) {
      const std::size_t n = std::min(kWriteChunk, input.size() - written_);
      const ssize_t w = ::write(in_.get(), input.data() + written_, n);
      if (w > 0) { written_ += static_cast<std::size_t>(w); continue; }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) return;
      // EPIPE (the backend closed stdin or exited) and anything else: the backend stopped
      // reading. Not an error of the caller; its answer decides.
      break;
    }
    in_.reset();  // the whole request is written: stdin is closed after it
  }

  std::size_t stream_limit() const noexcept {
    const std::size_t max = options_.output_max_size;
    return max == static_cast<std::size_t>(-1) ? max : max + 1;  // one byte past the cap detects it
  }

  void read_stdout() {
    SecureBuffer& out = output_.out;
    const std::size_t limit = stream_limit();
    if (out.spare_size() == 0 && out.size() < limit) {
      const std::size_t want = std::max(out.size() * 2, out.size() + kReadChunk);
      out.reserve(std::min(limit, want));
    }
    const std::size_t room = std::min({out.spare_size(), limit - out.size(), kReadChunk});
    // Straight into the locked arena: stdout holds secrets, so no plain heap copy.
    const ssize_t n = ::read(out_.get(), out.spare(), room);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) out_.reset();
      return;
    }
    if (n == 0) { out_.reset(); return; }
    out.commit(static_cast<std::size_t>(n));
    stats_.stdout_bytes += static_cast<std::size_t>(n);
    if (stats_.stdout_bytes > options_.output_max_size) over_cap(Failure::stdout_cap);
  }

  void read_stderr() {
    const ssize_t n = ::read(err_.get(), scratch_, sizeof scratch_);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) err_.reset();
      return;
    }
    if (n == 0) { err_.reset(); return; }
    const auto len = static_cast<std::size_t>(n);
    stats_.stderr_bytes += len;
    append_tail(stats_.stderr_tail, std::string_view(scratch_, len));
    secure_zero(scratch_, len);  // stderr may echo secrets (echo-secret-to-stderr)
    if (stats_.stderr_bytes > options_.output_max_size) over_cap(Failure::stderr_cap);
  }

  void over_cap(Failure which) {
    if (failure_ == Failure::none) failure_ = which;
    // Killed as soon as the cap is hit; nothing more is read.
    signal_tree(SIGKILL);
    killed_ = true;
    in_.reset();
    out_.reset();
    err_.reset();
  }

  // The I/O loop: write the request and read both streams concurrently, until the streams are
  // closed and the child has exited, or the deadline forces an end.
  void pump() {
    // Clamped so that absurd configured timeouts cannot overflow the clock arithmetic.
    const Clock::time_point deadline = started_ + std::min(options_.timeout, kLongestTimeout);
    const Clock::time_point hard_stop = deadline + kTermGrace + kHardStopSlack;
    Clock::time_point kill_at = Clock::time_point::max();
    Clock::time_point drain_until = Clock::time_point::max();
    if (options_.input.empty()) in_.reset();

    for (;;) {
      const Clock::time_point now = Clock::now();
      if (!exited_ && child_has_exited()) {
        // The child is gone but not reaped: its group id is still ours to kill. Whatever it
        // left in the group (daemons, pipe holders) dies now, and the pipes are drained only
        // briefly after that.
        if (!reaped_) ::kill(-pid_, SIGKILL);
        drain_until = std::min(now + kDrainAfterExit, hard_stop);
        in_.reset();
      }
      if (!exited_ && !term_sent_ && !killed_ && now >= deadline) {
        if (failure_ == Failure::none) failure_ = Failure::timeout;
        signal_tree(SIGTERM);
        term_sent_ = true;
        kill_at = now + kTermGrace;
        in_.reset();
      }
      if (!exited_ && !killed_ && now >= kill_at) {
        signal_tree(SIGKILL);
        killed_ = true;
      }
      if ((exited_ && now >= drain_until) || now >= hard_stop) {
        // Stop reading whatever still holds the pipes: the deadline bounds the reads too.
        in_.reset();
        out_.reset();
        err_.reset();
        status_.reset();
      }
      if (exited_ && !out_.valid() && !err_.valid() && !status_.valid()) return;
      if (now >= hard_stop) {
        // SIGKILL was sent at deadline + grace; the final waitpid collects it.
        signal_tree(SIGKILL);
        return;
      }

      pollfd fds[5];
      nfds_t count = 0;
      auto add = [&](const Fd& fd, short events) -> int {
        if (!fd.valid()) return -1;
        fds[count] = pollfd{fd.get(), events, 0};
        return static_cast<int>(count++);
      };
      const int i_status = add(status_, POLLIN);
      // The request is written at once, even before exec: a failed exec still wins in finish().
      const int i_in = add(in_, POLLOUT);
      const int i_out = add(out_, POLLIN);
      const int i_err = add(err_, POLLIN);
      const int i_pid = exited_ ? -1 : add(pidfd_, POLLIN);

      Clock::time_point wake = hard_stop;
      if (!exited_) wake = std::min(wake, term_sent_ ? kill_at : deadline);
      if (exited_) wake = std::min(wake, drain_until);
      auto wait = std::chrono::duration_cast<milliseconds>(wake - now) + milliseconds(1);
      // Without a pidfd, the child's exit is noticed by looking every 10 ms.
      if (i_pid < 0 && !exited_) wait = std::min(wait, milliseconds(10));
      wait = std::min(wait, milliseconds(60000));  // fits poll's int
      const int ready = ::poll(fds, count, static_cast<int>(std::max<milliseconds::rep>(0, wait.count())));
      if (ready < 0) {
        if (errno == EINTR) continue;
        ::poll(nullptr, 0, 10);  // unexpected: don't spin
        continue;
      }
      auto has = [&](int i) { return i >= 0 && fds[i].revents != 0; };
      if (has(i_status)) read_status_pipe();
      if (has(i_in) && in_.valid()) write_request();
      if (has(i_out) && out_.valid()) read_stdout();
      if (has(i_err) && err_.valid()) read_stderr();
      if (i_pid >= 0 && (fds[i_pid].revents & POLLNVAL) != 0) pidfd_.reset();
    }
  }

  void reap() {
    // Grandchildren left in the group die with the child; signal before reaping (see
    // signal_tree), then collect the status. SIGKILL was sent if the child could still run.
    if (reaped_) return;  // SIGCHLD ignored by the host: nothing to collect
    if (!exited_ && (failure_ != Failure::none)) signal_tree(SIGKILL);
    ::kill(-pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid_, &status, 0);
    while (r < 0 && errno == EINTR);
    reaped_ = true;
    if (r == pid_) {
      if (WIFEXITED(status)) stats_.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) stats_.signal = WTERMSIG(status);
    } else {
      wait_errno_ = errno;  // ECHILD: the host ignores SIGCHLD, so the kernel reaped it
    }
  }

  Result<RunOutput> finish() {
    switch (failure_) {
      case Failure::spawn:
        return spawn_failure();
      case Failure::stdout_cap:
      case Failure::stderr_cap:
        return Error{Code::output_too_large, 0,
                     "backend " + path_ + " wrote more than " + std::to_string(options_.output_max_size) +
                         " bytes to " + (failure_ == Failure::stdout_cap ? "stdout" : "stderr") +
                         ": raise secret_backend_output_max_size or fix the backend"};
      case Failure::timeout:
        return Error{Code::backend_timeout, 0,
                     "backend " + path_ + " did not answer within " + format_timeout(options_.timeout) +
                         " and was killed: raise secret_backend_timeout or fix the backend"};
      case Failure::none:
        break;
    }
    if (wait_errno_ != 0) {
      return Error{Code::internal, wait_errno_,
                   "cannot collect the exit status of backend " + path_ + ": " + os_reason(wait_errno_) +
                       " (does the host set SIGCHLD to SIG_IGN?)"};
    }
    if (stats_.signal != 0) {
      return Error{Code::backend_signal, 0,
                   "backend " + path_ + " was killed by signal " + std::to_string(stats_.signal) + " (" +
                       signal_name(stats_.signal) + ")"};
    }
    if (stats_.exit_code != 0) {
      return Error{Code::backend_exit, 0,
                   "backend " + path_ + " exited with status " + std::to_string(stats_.exit_code)};
    }
    return std::move(output_);
  }

  Error spawn_failure() const {
    const int err = report_.error;
    switch (report_.stage) {
      case Stage::exec:
        return Error{Code::spawn_failed, err, "failed to execute " + path_ + ": " + os_reason(err)};
      case Stage::process_group:
        return Error{Code::spawn_failed, err, "cannot start backend " + path_ + ": setpgid: " + os_reason(err)};
      case Stage::no_new_privs:
        return Error{Code::spawn_failed, err,
                     "cannot start backend " + path_ + ": prctl(PR_SET_NO_NEW_PRIVS): " + os_reason(err)};
      case Stage::core_limit:
        return Error{Code::spawn_failed, err,
                     "cannot start backend " + path_ + ": setrlimit(RLIMIT_CORE): " + os_reason(err)};
      case Stage::descriptors:
        return Error{Code::spawn_failed, err,
                     "cannot start backend " + path_ + ": setting up descriptors: " + os_reason(err)};
    }
    return Error{Code::spawn_failed, err, "failed to execute " + path_ + ": " + os_reason(err)};
  }

  const RunOptions& options_;
  RunStats& stats_;
  const std::string& path_;
  bool script_ = false;
  std::vector<std::string> arg_storage_;
  std::vector<std::string> env_storage_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  Fd in_, out_, err_, status_, pidfd_;
  pid_t pid_ = -1;
  Clock::time_point started_ = Clock::now();
  bool exited_ = false;
  bool reaped_ = false;
  bool term_sent_ = false;
  bool killed_ = false;
  int wait_errno_ = 0;
  Failure failure_ = Failure::none;
  ChildReport report_{Stage::exec, 0};
  std::size_t written_ = 0;
  RunOutput output_;
  char scratch_[16 * 1024] = {};  // stderr read buffer, zeroed after every read
};

}  // namespace

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

Result<RunOutput> platform::run_backend(const RunOptions& options, RunStats& stats) {
  stats = RunStats{};
  if (options.executable == nullptr || !options.executable->valid()) {
    return Error{Code::internal, 0, "run_backend needs a verified executable (check_executable)"};
  }
  const auto started = Clock::now();
  SigpipeBlock sigpipe_block;  // outlives the run: writes happen inside
  try {
    Result<RunOutput> result = [&] {
      BackendRun run(options, stats);
      return run.run();
    }();
    stats.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    return result;
  } catch (const std::exception& e) {
    // Out of (secure) memory: the BackendRun destructor has killed and reaped the child.
    stats.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    return Error{Code::internal, 0, "running backend " + options.executable->path() + ": " + e.what()};
  }
}

}  // namespace sts
