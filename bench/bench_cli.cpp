// Section 7 of the harness: the stsecrets command, whole processes (bench/README.md).
//
// Every figure here is a process the harness starts with posix_spawn and waits for, against a
// baseline process started the same way in the same loop, interleaved sample by sample:
//   - `stsecrets --version` vs an empty C program: what starting the command costs;
//   - `stsecrets resolve` of one handle vs the bare spawn of its backend;
//   - 100 single-file runs vs one run over the same 100 files (stdout);
//   - one --output-dir run over 1,000 files vs one over 100 (tmpfs: the command's work, not the
//     disk's fsyncs);
//   - 1,000 and 10,000 handles in 1,000 files vs YAML parse (in the harness) + one bare spawn;
//   - `stsecrets backend` answering one handle from a file.json provider vs a minimal C backend.
// The command gets PATH=/usr/bin:/bin only, so nothing of the caller's environment (no STS_*)
// changes what it does.
#include "bench_support.h"

#include "stsecrets/stsecrets.h"

#include "common/process.h"   // private: the containment runs get, for the row text

#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#ifndef STS_BENCH_CLI
#error "STS_BENCH_CLI (path of the stsecrets command) must be defined by the build"
#endif

namespace bench {
namespace {

const std::vector<std::string> kCliEnv{"PATH=/usr/bin:/bin"};

// Runs the command; dies unless it exits 0 (a benchmark of a failure is no figure).
std::string cli(const std::vector<std::string>& args, std::string_view input = {}) {
  Spawned s = spawn_process(STS_BENCH_CLI, args, input, kCliEnv);
  if (!WIFEXITED(s.status) || WEXITSTATUS(s.status) != 0) {
    std::string line = "stsecrets";
    for (const auto& a : args) line += " " + (a.size() > 60 ? a.substr(0, 57) + "..." : a);
    die(line + ": exit status " + std::to_string(WIFEXITED(s.status) ? WEXITSTATUS(s.status) : -1));
  }
  return std::move(s.out);
}

template <class Fn>
double timed(Fn&& fn) {
  const auto t0 = Clock::now();
  fn();
  return micros(Clock::now() - t0);
}

std::string containment_name() {
  static const std::string name = sts::platform::containment().name;
  return name;
}

// The main config of the executable-backend rows: the compiled backend, pinned.
std::string write_config(Workspace& ws) {
  return ws.put("stackstate.yaml", "secret_backend_command: " + ws.compiled.path +
                                       "\nsecret_backend_command_sha256: " + ws.compiled.sha256 + "\n");
}

// n texts written as conf.d/<prefix>NNNN.yaml; returns their paths.
std::vector<std::string> write_inputs(Workspace& ws, const std::string& prefix, const std::vector<std::string>& texts) {
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    paths.push_back(ws.put("conf.d/" + prefix + fmt("%04.0f", static_cast<double>(i)) + ".yaml", texts[i]));
  }
  return paths;
}

// ---- rows ---------------------------------------------------------------------------------------

void bench_version(Workspace& ws) {
  progress("7. stsecrets --version vs an empty C program");
  std::vector<double> version, empty;
  Budget budget(iters(300), 10);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    const double v = timed([] { cli({"--version"}); });
    const double e = timed([&] { bare_run(ws.minimal.path, {"--exit"}, {}); });
    if (rep < 10) continue;
    version.push_back(v);
    empty.push_back(e);
  }
  const Dist v = dist(version), e = dist(empty);
  row({"7", "`stsecrets --version` / an empty C program (min_backend --exit), whole processes (median of " +
                std::to_string(version.size()) + " pairs)",
       fmt_time(v.median), fmt_time(e.median), fmt("%.2fx", v.median / e.median) + " (+" + fmt_time(v.median - e.median) + ")",
       "report (start-up cost)", "-"});
}

void bench_resolve_one(Workspace& ws, const std::string& config) {
  progress("7. stsecrets resolve of 1 handle vs bare spawn of its backend");
  const std::string doc = ws.put("one.yaml", "password: ENC[h00000]\n");
  const std::string request = request_for({"h00000"});
  std::vector<double> run, bare;
  Budget budget(iters(300), 20);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    std::string out;
    const double c = timed([&] { out = cli({"resolve", "--config", config, doc}); });
    const double b = timed([&] { bare_run(ws.compiled.path, {}, request); });
    if (out.find("v-h00000") == std::string::npos) die("resolve: wrong answer");
    if (rep < 10) continue;
    run.push_back(c);
    bare.push_back(b);
  }
  const Dist c = dist(run), b = dist(bare);
  const double ratio = c.median / b.median;
  row({"7", "CLI `resolve` of 1 handle / bare spawn of its backend, whole processes, compiled backend, containment " +
                containment_name() + " (median of " + std::to_string(run.size()) + " pairs)",
       fmt_time(c.median), fmt_time(b.median), fmt("%.2fx", ratio) + " (+" + fmt_time(c.median - b.median) + ")",
       "<= 1.5x", verdict(ratio <= 1.5)});
}

// The 100 single-file runs take about 100 times as long as the one run over all of them, so the
// one run is sampled ten times among them (one before each tenth of the singles) and its median
// is the baseline of that repetition: a burst of load then falls on both sides.
void bench_batching(Workspace& ws, const std::string& config) {
  progress("7. stsecrets: 100 single-file runs vs one run over 100 files");
  const std::vector<std::string> files = write_inputs(ws, "batch", make_texts(500, 100));
  std::vector<std::string> all{"resolve", "--config", config};
  all.insert(all.end(), files.begin(), files.end());
  std::vector<double> singles, batched;
  Budget budget(iters(8), 30, 2);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    double single_total = 0;
    std::vector<double> batch_samples;
    for (std::size_t tenth = 0; tenth < 10; ++tenth) {
      std::string out;
      batch_samples.push_back(timed([&] { out = cli(all); }));
      if (out.find("v-h00499") == std::string::npos) die("batched resolve: wrong answer");
      for (std::size_t f = tenth * 10; f < tenth * 10 + 10; ++f) {
        single_total += timed([&] { cli({"resolve", "--config", config, files[f]}); });
      }
    }
    if (rep == 0) continue;
    singles.push_back(single_total);
    batched.push_back(dist(batch_samples).median);
  }
  const Dist s = dist(singles), b = dist(batched);
  const double speedup = s.median / b.median;
  row({"7", "CLI batching, 100 files x 5 handles, to stdout: 100 single-file runs / one run over the 100 files "
            "(sampled 10 times among them)",
       fmt_time(b.median) + " (1 run)", fmt_time(s.median) + " (100 runs)", fmt("%.1fx faster", speedup), ">= 25x",
       verdict(speedup >= 25)});
}

void bench_output_dir(Workspace& ws, const std::string& config) {
  progress("7. stsecrets --output-dir: 1,000 files vs 100 files");
  const std::vector<std::string> small = write_inputs(ws, "small", make_texts(100, 100));
  const std::vector<std::string> large = write_inputs(ws, "large", make_texts(1000, 1000));
  const std::string out = ws.output_dir();
  auto args = [&](const std::vector<std::string>& files, const std::string& dir) {
    std::vector<std::string> a{"resolve", "--config", config, "--output-dir", dir};
    a.insert(a.end(), files.begin(), files.end());
    return a;
  };
  const std::vector<std::string> small_args = args(small, out + "/small"), large_args = args(large, out + "/large");
  std::vector<double> t_small, t_large;
  Budget budget(iters(8), 30, 2);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    const double l = timed([&] { cli(large_args); });
    const double s = timed([&] { cli(small_args); });
    if (rep == 0) {
      if (read_file(out + "/large/large0999.yaml").find("v-h00999") == std::string::npos) die("--output-dir: wrong file");
      continue;
    }
    t_large.push_back(l);
    t_small.push_back(s);
  }
  const Dist l = dist(t_large), s = dist(t_small);
  const double ratio = l.median / s.median;
  row({"7", "CLI `--output-dir` (tmpfs), 1,000 files / 100 files, 1 handle each, whole process", fmt_time(l.median),
       fmt_time(s.median), fmt("%.2fx", ratio), "<= 11x (linear)", verdict(ratio <= 11)});
}

// The command's own cost per handle beyond the floor (parse + one bare spawn), at two sizes.
double cli_scaling(Workspace& ws, const std::string& config, std::size_t n_handles, std::size_t n_files) {
  const std::string tag = std::to_string(n_handles);
  progress("7. stsecrets scaling: " + tag + " handles in " + std::to_string(n_files) + " files");
  const std::vector<std::string> texts = make_texts(n_handles, n_files);
  const std::vector<std::string> files = write_inputs(ws, "scale" + tag + "-", texts);
  std::vector<std::string> args{"resolve", "--config", config};
  args.insert(args.end(), files.begin(), files.end());
  const std::string request = request_for(handles_sorted(n_handles));
  std::vector<double> run, floor, parse;
  Budget budget(iters(6), 25, 2);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    const double c = timed([&] { cli(args); });
    double p = 0;
    const double f = timed([&] {
      const auto t0 = Clock::now();
      std::vector<YAML::Node> docs;
      docs.reserve(texts.size());
      for (const auto& t : texts) docs.push_back(YAML::Load(t));
      p = micros(Clock::now() - t0);
      bare_run(ws.compiled.path, {}, request);
    });
    if (rep == 0) continue;
    run.push_back(c);
    floor.push_back(f);
    parse.push_back(p);
  }
  const Dist c = dist(run), f = dist(floor), p = dist(parse);
  row({"7", "CLI scaling, " + tag + " handles / " + std::to_string(n_files) +
                " files, whole process to stdout: resolve vs YAML parse + one bare spawn (parse alone " +
                fmt_time(p.median) + ")",
       fmt_time(c.median), fmt_time(f.median),
       fmt("%.2fx; ", c.median / f.median) + fmt_time(c.median / static_cast<double>(n_handles)) + "/handle",
       "report", "-"});
  return (c.median - f.median) / static_cast<double>(n_handles);
}

void bench_backend_command(Workspace& ws) {
  progress("7. stsecrets backend (file.json provider) vs a minimal C backend");
  const std::string json = ws.put("secrets.json", "{\"h00000\": \"v-h00000\"}\n");
  const std::string config =
      ws.put("backend.yaml", "secret_backend_type: file.json\nsecret_backend_config:\n  path: " + json + "\n");
  const std::string request = request_for({"h00000"});
  std::vector<double> run, bare;
  Budget budget(iters(300), 15);
  for (std::size_t rep = 0; budget.more(rep); ++rep) {
    std::string out;
    const double c = timed([&] { out = cli({"backend", "--config", config}, request); });
    const double b = timed([&] { bare_run(ws.minimal.path, {}, request); });
    if (out.find("v-h00000") == std::string::npos) die("stsecrets backend: wrong answer");
    if (rep < 10) continue;
    run.push_back(c);
    bare.push_back(b);
  }
  const Dist c = dist(run), b = dist(bare);
  const double ratio = c.median / b.median;
  row({"7", "`stsecrets backend`, 1 handle from a file.json provider / bare spawn of a minimal C backend, whole "
            "processes (median of " + std::to_string(run.size()) + " pairs)",
       fmt_time(c.median), fmt_time(b.median), fmt("%.2fx", ratio) + " (+" + fmt_time(c.median - b.median) + ")",
       "<= 1.5x", verdict(ratio <= 1.5)});
}

}  // namespace

void bench_cli(Workspace& ws) {
  const std::string config = write_config(ws);
  bench_version(ws);
  bench_resolve_one(ws, config);
  bench_backend_command(ws);
  bench_batching(ws, config);
  bench_output_dir(ws, config);
  const double excess_1k = cli_scaling(ws, config, 1000, 1000);
  const double excess_10k = cli_scaling(ws, config, 10000, 1000);
  const double growth = excess_10k / excess_1k;
  row({"7", "CLI scaling growth: the command's own cost per handle ((resolve - floor) / n) at 10,000 vs at 1,000",
       fmt("%.2f µs", excess_10k), fmt("%.2f µs", excess_1k), fmt("%.2fx", growth), "<= 1.25x (linear)",
       verdict(growth <= 1.25)});
}

}  // namespace bench
