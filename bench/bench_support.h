// File: bench/bench_support.h
//
// What the two halves of the harness share: sts_bench.cpp (the library, sections 1-6 and 8)
// and bench_cli.cpp (whole processes: the command, section 7). Timing and medians, the table
// rows, the workspace of backends, configs and input files in a fresh mkdtemp() folder, the
// workloads, and the baseline spawn.
//
//   bench::Workspace ws;                               // backends copied into /tmp/sts-bench-XXXXXX
//   auto out = bench::spawn_run(ws.compiled.path, {}, request);   // the baseline: posix_spawn
//   bench::row({"7", "what", lib, base, figure, target, verdict});
//
// Nothing here asserts on time: figures are ratios against a baseline measured in the same run,
// interleaved sample by sample, reported as medians.
//
// Ownership: the Workspace removes its folder (and everything in it) when destroyed, and die()
// removes it on every error path. Thread-safety: none; the harness is one thread (section 4's
// lookup threads only call the library).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d);

struct Dist {
  double median = 0, min = 0, max = 0;
};
Dist dist(std::vector<double> v);

std::string fmt(const char* f, double x);
std::string fmt_time(double us);    // "812 µs", "3.41 ms", "1.20 s"
std::string fmt_bytes(double b);

[[noreturn]] void die(const std::string& what);
void progress(const std::string& line);

// ---- files ----------------------------------------------------------------------------------

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes, mode_t mode);
void make_dir(const std::string& path);
std::string sha256_hex(const std::string& bytes);

struct Backend {
  std::string name;    // for the table
  std::string path;
  std::string sha256;
};

// A fresh mkdtemp() folder under /tmp (0700, the caller's) with the backends in it (mode 0700,
// so they pass the SPEC 5 checks). Removed, whole, on destruction and by die().
class Workspace {
 public:
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& dir() const { return dir_; }
  // A file in the workspace (parents made as needed), mode `mode`.
  std::string put(const std::string& relative, const std::string& bytes, mode_t mode = 0600);
  // A folder for output files on tmpfs (/dev/shm), where fsync costs nothing, so that a figure
  // about the command's own work is not a figure about the disk; the workspace when there is
  // no tmpfs. Made on first use, removed with the workspace.
  std::string output_dir();

  Backend compiled;   // bench_backend
  Backend minimal;    // min_backend (C): reads the request, answers one fixed handle
  Backend sh, python;

 private:
  Backend add(const std::string& name, const std::string& file, const std::string& bytes);
  std::string dir_;
  std::string output_dir_;
};

// ---- the baseline spawn -------------------------------------------------------------------------

struct Spawned {
  std::string out;   // all of stdout
  int status = 0;    // waitpid status
};
// posix_spawn of `path args...` with `env` (default: PATH=/usr/bin:/bin, what the library gives
// a backend), `request` on stdin, stdout read to EOF through a poll loop (large requests and
// answers cannot deadlock), reaped with waitpid. stderr is inherited.
Spawned spawn_process(const std::string& path, const std::vector<std::string>& args, std::string_view request,
                      const std::vector<std::string>& env = {"PATH=/usr/bin:/bin"});
// The same, dying unless it exits 0: the bare spawn every process figure is measured against.
std::string bare_run(const std::string& path, const std::vector<std::string>& args, std::string_view request);

// ---- workloads --------------------------------------------------------------------------------

std::string handle_name(std::size_t i);   // "h00042"
// n_handles distinct handles spread evenly over n_files YAML texts, each a small agent check
// config: a few plain keys and one instance map holding its handles.
std::vector<std::string> make_texts(std::size_t n_handles, std::size_t n_files);
std::vector<std::string> handles_sorted(std::size_t n);
// The request the library sends (protocol.cpp: compact, "version" first, sorted handles).
std::string request_for(const std::vector<std::string>& handles);

// ---- the table --------------------------------------------------------------------------------

struct Row {
  std::string id, what, library, baseline, figure, target, verdict;
};

extern bool g_quick;
std::size_t iters(std::size_t full);   // `full`, or a tenth of it (at least 2) with --quick
std::string verdict(bool met);         // "met" / "**missed**"
void row(Row r);
void print_table(double seconds);

// Keeps a loop within a time budget so that a slow case (or a busy machine) cannot stretch the
// whole run past a few minutes: at least `min_samples` measured samples, then stop when `reps`
// samples are done or the budget is spent. Sample 0 is always a warm-up.
class Budget {
 public:
  Budget(std::size_t reps, double seconds, std::size_t min_samples = 3);
  bool more(std::size_t rep) const;

 private:
  std::size_t reps_;
  double seconds_;
  std::size_t min_;
  Clock::time_point start_;
};

// Section 7 (bench_cli.cpp): the command and `stsecrets backend`, whole processes.
void bench_cli(Workspace& ws);

}  // namespace bench
