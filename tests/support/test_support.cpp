#include "support/test_support.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sts::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/sts-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  ::chmod(path_.c_str(), 0700);
}

TempDir::~TempDir() {
  std::vector<std::string> argv{"/bin/rm", "-rf", path_};
  run_command(argv);
}

void write_file(const std::string& path, std::string_view bytes, unsigned mode) {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) { ::close(fd); throw std::runtime_error("write failed"); }
    off += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, static_cast<mode_t>(mode));
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> dir_entries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw std::runtime_error("cannot list " + dir + ": " + std::strerror(errno));
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != self) fds.insert(fd);
  }
  ::closedir(d);
  return fds;
}

namespace {
// Fields of /proc/PID/stat after the command: state ppid pgrp ...
bool read_stat(pid_t pid, pid_t& ppid, pid_t& pgrp) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  char state = 0;
  rest >> state >> ppid >> pgrp;
  return static_cast<bool>(rest);
}

template <class Pred>
std::vector<pid_t> scan_procs(Pred pred) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    pid_t ppid = 0, pgrp = 0;
    if (read_stat(static_cast<pid_t>(pid), ppid, pgrp) && pred(ppid, pgrp)) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}
}  // namespace

std::vector<pid_t> child_pids() {
  pid_t self = ::getpid();
  return scan_procs([self](pid_t ppid, pid_t) { return ppid == self; });
}

std::vector<pid_t> pids_in_group(pid_t pgid) {
  return scan_procs([pgid](pid_t, pid_t pgrp) { return pgrp == pgid; });
}

std::optional<std::string> peek_memory(const void* p, std::size_t n) {
  int fd = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out(n, '\x55');
  ssize_t got = ::pread(fd, out.data(), n, static_cast<off_t>(reinterpret_cast<std::uintptr_t>(p)));
  ::close(fd);
  if (got != static_cast<ssize_t>(n)) return std::nullopt;
  return out;
}

MaskedNeedle::MaskedNeedle(std::initializer_list<std::string_view> pieces) {
  for (std::string_view piece : pieces) {
    // Volatile byte loads: the compiler may not widen them into vector loads of the piece.
    const volatile char* src = piece.data();
    for (std::size_t i = 0; i < piece.size(); ++i) {
      const std::size_t at = masked_.size();
      masked_.push_back(static_cast<unsigned char>(static_cast<unsigned char>(src[i]) ^ key(at)));
    }
  }
}

unsigned char MaskedNeedle::key(std::size_t i) noexcept {
  // Never 0 (a 0 key byte would store that byte in plain); varies with the position, so the masked
  // form is not the plain text under one constant XOR.
  return static_cast<unsigned char>(0x80u | ((i * 37u + 11u) & 0x7fu));
}

char MaskedNeedle::plain_at(std::size_t i) const noexcept {
  return static_cast<char>(masked_[i] ^ key(i));
}

void MaskedNeedle::write_plain(char* out) const noexcept {
  volatile char* dst = out;
  for (std::size_t i = 0; i < masked_.size(); ++i) dst[i] = plain_at(i);
}

bool MaskedNeedle::matches(const volatile unsigned char* p) const noexcept {
  if (masked_.empty()) return false;
  for (std::size_t i = 0; i < masked_.size(); ++i) {
    if (static_cast<unsigned char>(p[i] ^ key(i)) != masked_[i]) return false;
  }
  return true;
}

namespace {

// One readable mapping of /proc/self/maps.
struct Mapping {
  unsigned long lo = 0;
  unsigned long hi = 0;
  std::string line;
};

// The readable mappings worth scanning, listed before the scan starts (the list itself is not
// secret; vvar/vsyscall cannot be read through /proc/self/mem).
std::vector<Mapping> readable_mappings() {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    Mapping m;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &m.lo, &m.hi, perms) != 3) continue;
    if (perms[0] != 'r') continue;
    if (line.find("[vvar]") != std::string::npos || line.find("[vsyscall]") != std::string::npos) continue;
    m.line = line;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::size_t count_in_own_memory(const MaskedNeedle& needle, const void* ignore_begin, std::size_t ignore_size) {
  const std::size_t n = needle.size();
  if (n == 0) return 0;
  const std::vector<Mapping> mappings = readable_mappings();
  int mem = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  if (mem < 0) return 0;
  // The scan buffer is a private mapping, skipped by address (the kernel may merge it with a
  // neighbouring anonymous mapping, so the address range, not the mapping, is skipped), wiped
  // and unmapped at the end: it holds copies of whatever it read.
  const std::size_t window = 1 << 20;
  const std::size_t cap = window + n - 1;  // windows overlap by n - 1 bytes
  void* mapped = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    ::close(mem);
    return 0;
  }
  char* buf = static_cast<char*>(mapped);
  const volatile unsigned char* bytes = static_cast<const volatile unsigned char*>(mapped);
  const auto ignored = [&](const char* addr) {
    const char* ig_lo = static_cast<const char*>(ignore_begin);
    return (addr >= buf && addr < buf + cap) || (ig_lo != nullptr && addr >= ig_lo && addr < ig_lo + ignore_size);
  };
  const bool debug = std::getenv("STS_TEST_SCAN_DEBUG") != nullptr;
  std::size_t hits = 0;
  for (const Mapping& m : mappings) {
    for (unsigned long at = m.lo; at < m.hi; at += window) {
      const std::size_t len = std::min<std::size_t>(cap, m.hi - at);
      const ssize_t got = ::pread(mem, buf, len, static_cast<off_t>(at));
      if (got <= 0) break;
      const std::size_t have = static_cast<std::size_t>(got);
      // Positions past `window` are the next window's; a match must fit in what was read.
      for (std::size_t pos = 0; pos < window && pos + n <= have; ++pos) {
        if (!needle.matches(bytes + pos)) continue;
        const char* addr = reinterpret_cast<const char*>(at + pos);
        if (ignored(addr)) continue;
        ++hits;
        // Where, never what: the address and its mapping line, for hunting a residue down.
        if (debug) std::fprintf(stderr, "residue hit at %p in mapping: %s\n", static_cast<const void*>(addr), m.line.c_str());
      }
    }
  }
  ::explicit_bzero(buf, cap);
  ::munmap(buf, cap);
  ::close(mem);
  return hits;
}

std::size_t count_in_own_memory(std::string_view needle, const void* ignore_begin, std::size_t ignore_size) {
  return count_in_own_memory(MaskedNeedle({needle}), ignore_begin, ignore_size);
}

CommandResult run_command(const std::vector<std::string>& argv, std::string_view input,
                          const std::optional<std::vector<std::string>>& env, std::chrono::seconds timeout,
                          std::optional<unsigned> umask_value, const std::string& cwd) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  if (env) {
    for (auto& e : *env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (umask_value) ::umask(static_cast<mode_t>(*umask_value));
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    if (env) ::execve(cargv[0], cargv.data(), cenv.data());
    else ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult r;
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) { ::close(in_fd); in_fd = -1; }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::signal(SIGPIPE, SIG_IGN);
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { ::kill(pid, SIGKILL); break; }
    if (::poll(fds, n, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 || written == input.size()) { ::close(in_fd); in_fd = -1; }
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        ::close(fds[i].fd);
        if (fds[i].fd == out_fd) out_fd = -1; else err_fd = -1;
      } else {
        (fds[i].fd == out_fd ? r.out : r.err).append(buf, static_cast<std::size_t>(got));
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace sts::test
