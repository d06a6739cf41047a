// stsecrets/host.h on POSIX: the command line, process hardening, the command's own
// containment (subreaper, end_children), raw stdout/stderr writes, stdin, output files, exec with
// a PATH search, the default config path.
#if defined(_WIN32)
#error "host_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "stsecrets/host.h"

#include "common/file_io.h"
#include "common/text.h"
#include "posix/written_folder.h"
#include "stsecrets/check.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sts {
namespace {

constexpr const char* kDefaultPath = "/usr/bin:/bin";
constexpr const char* kDefaultConfig = "/etc/stackstate-agent/stackstate.yaml";

Status write_fd(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return make_error(Code::io_failed, "cannot write to " + std::string(what) + ": " + errno_text(err), err);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

// True while this process has a child, running or a zombie (waitid leaves it unreaped).
bool has_children() {
  siginfo_t info{};
  for (;;) {
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0) return true;
    if (errno != EINTR) return false;  // ECHILD
  }
}

// The pids of this process's children, from every thread's /proc children list (a child
// belongs to the thread that created it; an adopted orphan to any of them).
Result<std::vector<pid_t>> list_children() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) {
    const int err = errno;
    return make_error(Code::internal, "cannot list this process's children (/proc/self/task): " + errno_text(err) +
                                          "; mount /proc", err);
  }
  std::vector<pid_t> pids;
  while (const dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    for (long pid = 0; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(tasks);
  return pids;
}

// Reaps one child, whatever its exit signal (__WALL: a supervisor's is 0).
void reap(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL) != 0 && errno == EINTR) {
  }
}


}  // namespace

std::vector<std::string> command_line(int argc, char** argv) {
  // POSIX arguments are bytes already; they are taken as the UTF-8 they usually are.
  return argc > 0 ? std::vector<std::string>(argv, argv + argc) : std::vector<std::string>();
}

Status harden_process() {
  // Not dumpable: no core file even through a piped core_pattern (which RLIMIT_CORE does not
  // stop), and no ptrace or /proc/PID/mem access by other processes of the same user.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    const int err = errno;
    return make_error(Code::internal, "cannot make the process non-dumpable: " + errno_text(err), err);
  }
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    const int err = errno;
    return make_error(Code::internal, "cannot disable core dumps: " + errno_text(err), err);
  }
  return ok();
}

Status adopt_orphans() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    const int err = errno;
    return make_error(Code::internal, "cannot make the process a child subreaper: " + errno_text(err), err);
  }
  return ok();
}

Status end_children(bool stop_adopting) {
  // Each round kills and reaps the children there are; a killed child's own children are
  // re-parented here and are the next round's. The pids are safe to signal: a child is not
  // reaped before we reap it, so its pid cannot have been reused.
  while (has_children()) {
    auto pids = list_children();
    if (!pids) return std::move(pids).error();
    for (pid_t pid : *pids) (void)::kill(pid, SIGKILL);
    for (pid_t pid : *pids) reap(pid);
    if (pids->empty()) {
      // Only zombies the lists do not show (or none at all): reap one without blocking, and
      // stop when nothing was there to reap, rather than spin.
      siginfo_t info{};
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WALL) != 0 || info.si_pid == 0) {
        return make_error(Code::internal, "cannot find this process's remaining children in /proc/self/task");
      }
    }
  }
  // Only now, with no child left (so no descendant at all): cleared before the rounds, a
  // grandchild orphaned by a kill would go to init instead of to the next round.
  if (stop_adopting) (void)::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  return ok();
}

Status write_stdout(std::string_view bytes) { return write_fd(STDOUT_FILENO, bytes, "standard output"); }
Status write_stderr(std::string_view bytes) { return write_fd(STDERR_FILENO, bytes, "standard error"); }

Result<std::string> read_stdin(std::size_t max_bytes) {
  std::string bytes;
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return make_error(Code::io_failed, "cannot read standard input: " + errno_text(err), err);
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<std::size_t>(n));
    if (bytes.size() > max_bytes) {
      return make_error(Code::request_invalid,
                        "the request on standard input is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return bytes;
}

Status write_private_file(const std::string& path, std::string_view bytes, OutputFolder folder) {
  return platform::write_file_atomic(path, bytes, folder == OutputFolder::private_only);
}

Status make_private_dir(const std::string& path) {
  // Reached as written_folder.h says: a link another user planted in /tmp is not followed.
  auto walk = platform::walk_written_folder(path, posix::Role::output_folder, "--output-dir " + quote_text(path, 512),
                                            Code::usage);
  if (!walk) return std::move(walk).error();
  const posix::WalkEnd& end = walk->end;
  if (walk->state == posix::WalkState::missing) {
    // Created in the folder the walk holds, not by name again.
    if (end.missing_last && ::mkdirat(end.dir.get(), end.name.c_str(), 0700) == 0) return ok();
    const int err = end.missing_last ? errno : ENOENT;
    return make_error(Code::io_failed, "cannot create the folder " + quote_text(path, 512) + ": " + errno_text(err),
                      err);
  }
  if (!S_ISDIR(end.st.st_mode)) {
    return make_error(Code::usage, quote_text(path, 512) + " is not a directory; give --output-dir a folder");
  }
  for (const CheckRule& rule : platform::output_dir_rules(end.st, path)) {
    if (!rule.ok) return make_error(Code::usage, rule.detail + "; " + rule.fix);
  }
  return ok();
}

std::optional<std::string> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

Result<int> run_command(const std::vector<std::string>& argv, const Environment& env, const Environment& caller_env) {
  if (argv.empty()) return make_error(Code::usage, "no command to run");
  std::vector<std::string> entries;
  entries.reserve(env.size());
  for (const auto& [name, value] : env) entries.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const std::string& command = argv.front();
  // The subreaper flag survives execve: COMMAND must not inherit this process's adopting.
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  int err = ENOENT;
  if (command.find('/') != std::string::npos) {
    ::execve(command.c_str(), cargv.data(), envp.data());
    err = errno;
  } else {
    // execvp's search, with the caller's PATH: EACCES wins over ENOENT, as in execvp.
    const auto it = caller_env.find("PATH");
    const std::string path = it != caller_env.end() ? it->second : kDefaultPath;
    for (std::size_t start = 0; start <= path.size();) {
      const std::size_t colon = path.find(':', start);
      std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (dir.empty()) dir = ".";
      const std::string candidate = dir + "/" + command;
      ::execve(candidate.c_str(), cargv.data(), envp.data());
      if (errno == EACCES) {
        err = EACCES;
      } else if (errno != ENOENT && errno != ENOTDIR) {
        err = errno;
        break;
      }
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  // Nothing ran: the values built for COMMAND go now.
  for (auto& e : entries) secure_zero(e.data(), e.size());
  const std::string shown = quote_text(command, 256);
  if (err == ENOENT || err == ENOTDIR) {
    return make_error(Code::usage, "cannot execute " + shown + ": no such command (searched PATH); check its name", err);
  }
  return make_error(Code::io_failed, "cannot execute " + shown + ": " + errno_text(err), err);
}

std::string default_config_path(const Environment& env) {
  if (auto it = env.find("STS_CONFIG"); it != env.end() && !it->second.empty()) return it->second;
  return kDefaultConfig;
}

}  // namespace sts
