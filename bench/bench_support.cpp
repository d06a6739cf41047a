// The shared half of the harness (bench_support.h).
#include "bench_support.h"

#include <openssl/evp.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#ifndef STS_BENCH_BACKEND
#error "STS_BENCH_BACKEND (path of the compiled bench_backend) must be defined by the build"
#endif
#ifndef STS_BENCH_MIN_BACKEND
#error "STS_BENCH_MIN_BACKEND (path of the minimal C backend) must be defined by the build"
#endif

namespace bench {

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

Dist dist(std::vector<double> v) {
  Dist d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  d.median = n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  d.min = v.front();
  d.max = v.back();
  return d;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::string fmt_time(double us) {
  if (us < 10) return fmt("%.2f µs", us);
  if (us < 1000) return fmt("%.0f µs", us);
  if (us < 1e6) return fmt("%.2f ms", us / 1000);
  return fmt("%.2f s", us / 1e6);
}

std::string fmt_bytes(double b) {
  if (b < 1024) return fmt("%.0f B", b);
  if (b < 1024 * 1024) return fmt("%.1f KiB", b / 1024);
  return fmt("%.2f MiB", b / (1024 * 1024));
}

namespace {

// The workspace folders, removed on every exit path (die() included).
std::vector<std::string> g_cleanup_dirs;

void cleanup() {
  for (const auto& dir : g_cleanup_dirs) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  g_cleanup_dirs.clear();
}

std::string make_temp_dir(const std::string& parent) {
  std::string tmpl = parent + "/sts-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) die("mkdtemp in " + parent + ": " + std::strerror(errno));
  g_cleanup_dirs.push_back(tmpl);
  ::chmod(tmpl.c_str(), 0700);
  return tmpl;
}

}  // namespace

void die(const std::string& what) {
  std::cerr << "sts_bench: " << what << "\n";
  cleanup();
  std::_Exit(1);
}

void progress(const std::string& line) { std::cerr << "[bench] " << line << "\n" << std::flush; }

// ---- files ----------------------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) die("cannot create " + path + ": " + std::strerror(errno));
  std::string_view s = bytes;
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) die("cannot write " + path + ": " + std::strerror(errno));
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fchmod(fd, mode) != 0) die("cannot chmod " + path);
  ::close(fd);
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) die("cannot create " + path + ": " + std::strerror(errno));
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) die("EVP_Digest failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

namespace {

constexpr const char* kShBackend = R"(#!/bin/sh
# protocol 1.0 backend in POSIX sh: answers "v-<handle>" for each handle (no escapes in handles)
req=$(cat)
list=${req#*\[}
list=${list%%\]*}
sep='{'
IFS=','
for h in $list; do
  h=${h#*\"}
  h=${h%\"*}
  printf '%s"%s":{"value":"v-%s"}' "$sep" "$h" "$h"
  sep=','
done
[ "$sep" = ',' ] || printf '{'
printf '}'
)";

constexpr const char* kPyBackend = R"(#!/usr/bin/python3
# protocol 1.0 backend in Python: answers "v-<handle>" for each handle
import json, sys
req = json.load(sys.stdin)
json.dump({h: {"value": "v-" + h} for h in req["secrets"]}, sys.stdout)
)";

}  // namespace

Workspace::Workspace() {
  dir_ = make_temp_dir("/tmp");
  compiled = add("compiled", "bench_backend", read_file(STS_BENCH_BACKEND));
  minimal = add("minimal C", "min_backend", read_file(STS_BENCH_MIN_BACKEND));
  sh = add("sh", "backend.sh", kShBackend);
  python = add("python3", "backend.py", kPyBackend);
}

Workspace::~Workspace() { cleanup(); }

std::string Workspace::put(const std::string& relative, const std::string& bytes, mode_t mode) {
  const std::string path = dir_ + "/" + relative;
  for (std::size_t slash = relative.find('/'); slash != std::string::npos; slash = relative.find('/', slash + 1)) {
    make_dir(dir_ + "/" + relative.substr(0, slash));
  }
  write_file(path, bytes, mode);
  return path;
}

std::string Workspace::output_dir() {
  if (!output_dir_.empty()) return output_dir_;
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    output_dir_ = make_temp_dir("/dev/shm");
  } else {
    output_dir_ = dir_ + "/out";
    make_dir(output_dir_);
  }
  return output_dir_;
}

Backend Workspace::add(const std::string& name, const std::string& file, const std::string& bytes) {
  return {name, put(file, bytes, 0700), sha256_hex(bytes)};
}

// ---- the baseline spawn -------------------------------------------------------------------------

Spawned spawn_process(const std::string& path, const std::vector<std::string>& args, std::string_view request,
                      const std::vector<std::string>& env) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) die("posix_spawn " + path + ": " + std::strerror(rc));
  Spawned result;
  char buf[65536];
  int wfd = in[1];
  std::size_t written = 0;
  if (request.empty()) {
    ::close(wfd);
    wfd = -1;
  }
  for (;;) {
    pollfd p[2] = {{out[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
    if (::poll(p, wfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    if (wfd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(wfd, request.data() + written, request.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == request.size()) {
        ::close(wfd);
        wfd = -1;
      }
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        result.out.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
  }
  if (wfd >= 0) ::close(wfd);
  ::close(out[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

std::string bare_run(const std::string& path, const std::vector<std::string>& args, std::string_view request) {
  Spawned s = spawn_process(path, args, request);
  if (!WIFEXITED(s.status) || WEXITSTATUS(s.status) != 0) die("baseline backend " + path + " failed");
  return std::move(s.out);
}

// ---- workloads --------------------------------------------------------------------------------

std::string handle_name(std::size_t i) { return fmt("h%05.0f", static_cast<double>(i)); }

std::vector<std::string> make_texts(std::size_t n_handles, std::size_t n_files) {
  std::vector<std::string> texts(n_files);
  for (std::size_t f = 0; f < n_files; ++f) {
    std::string& t = texts[f];
    t += "init_config:\n  service: bench\ninstances:\n  - host: db-" + std::to_string(f) + ".example.com\n";
    t += "    port: 5432\n    tags: [env:bench, team:perf]\n";
    const std::size_t first = f * n_handles / n_files, last = (f + 1) * n_handles / n_files;
    for (std::size_t h = first; h < last; ++h) {
      t += "    key_" + std::to_string(h) + ": ENC[" + handle_name(h) + "]\n";
    }
  }
  return texts;
}

std::vector<std::string> handles_sorted(std::size_t n) {
  std::set<std::string> s;
  for (std::size_t i = 0; i < n; ++i) s.insert(handle_name(i));
  return {s.begin(), s.end()};
}

std::string request_for(const std::vector<std::string>& handles) {
  std::string r = "{\"version\":\"1.0\",\"secrets\":[";
  for (std::size_t i = 0; i < handles.size(); ++i) r += (i != 0 ? ",\"" : "\"") + handles[i] + "\"";
  return r + "]}";
}

// ---- the table --------------------------------------------------------------------------------

bool g_quick = false;

namespace {
std::vector<Row> g_rows;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}
}  // namespace

std::size_t iters(std::size_t full) { return g_quick ? std::max<std::size_t>(2, full / 10) : full; }

std::string verdict(bool met) { return met ? "met" : "**missed**"; }

void row(Row r) {
  progress(r.id + " " + r.what + ": " + r.library + " vs " + r.baseline + " -> " + r.figure + " " + r.verdict);
  g_rows.push_back(std::move(r));
}

void print_table(double seconds) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  utsname u{};
  ::uname(&u);
  std::cout << "Measured " << date << " by `bench/run.sh` on " << cpu_model() << ", nproc "
            << std::thread::hardware_concurrency() << ", Linux " << u.release << ", compiler " << __VERSION__
            << "; whole run " << fmt("%.0f s", seconds) << ".\n\n";
  std::cout << "| # | measurement | library | baseline (same run) | figure | target | |\n";
  std::cout << "|---|---|---:|---:|---:|---|---|\n";
  for (const auto& r : g_rows) {
    std::cout << "| " << r.id << " | " << r.what << " | " << r.library << " | " << r.baseline << " | " << r.figure
              << " | " << r.target << " | " << r.verdict << " |\n";
  }
}

Budget::Budget(std::size_t reps, double seconds, std::size_t min_samples)
    : reps_(reps), seconds_(g_quick ? seconds / 5 : seconds), min_(min_samples), start_(Clock::now()) {}

bool Budget::more(std::size_t rep) const {
  if (rep < min_ + 1) return true;
  return rep < reps_ + 1 && micros(Clock::now() - start_) < seconds_ * 1e6;
}

}  // namespace bench
