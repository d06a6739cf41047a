// The hardened backend run (SPEC 4) with real processes: the fake backend's modes, #! scripts,
// timeouts with grandchildren, caps, SIGPIPE, concurrency, and after every run: no fd left
// open, no child left (zombie or not), nothing alive in the backend's process group.
#include "common/executable_check.h"
#include "common/process.h"
#include "common/run_outcome.h"

#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using sts::Code;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

const std::string kRequest = R"({"version":"1.0","secrets":["db/pass","api key"]})";

// A backend file in a fresh 0700 root-owned folder, opened the way the check opens it.
struct Installed {
  sts::test::TempDir dir;
  std::string path;
  explicit Installed(std::string_view content, unsigned mode = 0700) : path(dir / "backend") {
    sts::test::write_file(path, content, mode);
  }
  sts::VerifiedExecutable open() const {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return sts::VerifiedExecutable(fd, path, "");
  }
};

const Installed& fake() {
  static const Installed installed(sts::test::read_file(STS_FAKE_BACKEND));
  return installed;
}

struct Spec {
  std::vector<std::string> args{};
  std::string input = kRequest;
  milliseconds timeout = 10s;
  std::size_t cap = 1048576;
  const Installed* backend = nullptr;  // default: the fake backend
  std::vector<std::string> allow{};    // on top of FAKE_PID_FILE
  bool process_environment = false;    // caller_environment = nullptr (the real environment)
};

struct Outcome {
  std::optional<sts::Result<sts::RunOutput>> result;
  sts::RunStats stats;
  pid_t pid = -1;  // the backend's pid (= its process group), from FAKE_PID_FILE
  milliseconds elapsed{0};

  const sts::Error& error() const {
    REQUIRE_FALSE(result->has_value());
    return result->error();
  }
  std::string out() const {
    if (!result->has_value()) FAIL("run failed: " << result->error().message);
    return std::string(result->value().out.view());
  }
};

Outcome run(const Spec& spec) {
  sts::test::TempDir scratch;
  const std::string pid_file = scratch / "pid";
  sts::Environment env{{"FAKE_PID_FILE", pid_file}};
  if (spec.process_environment) ::setenv("FAKE_PID_FILE", pid_file.c_str(), 1);
  const sts::VerifiedExecutable exe = (spec.backend != nullptr ? *spec.backend : fake()).open();

  sts::RunOptions options;
  options.executable = &exe;
  options.arguments = spec.args;
  options.environment_allow = spec.allow;
  options.environment_allow.push_back("FAKE_PID_FILE");
  options.caller_environment = spec.process_environment ? nullptr : &env;
  options.timeout = spec.timeout;
  options.output_max_size = spec.cap;
  options.input = spec.input;

  Outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  o.result.emplace(sts::run_backend(options, o.stats));
  o.elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  const std::string pid_text = sts::test::read_file(pid_file);
  if (!pid_text.empty()) o.pid = static_cast<pid_t>(std::stol(pid_text));
  if (spec.process_environment) ::unsetenv("FAKE_PID_FILE");
  return o;
}

char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? 0 : line[close + 2];
}

// Processes of the group that still run. A grandchild reparented to init may stay a zombie for
// a moment (or for good, if init here does not reap): dead is dead.
std::vector<pid_t> live_in_group(pid_t pgid) {
  std::vector<pid_t> live;
  for (pid_t p : sts::test::pids_in_group(pgid)) {
    const char state = process_state(p);
    if (state != 0 && state != 'Z' && state != 'X') live.push_back(p);
  }
  return live;
}

bool group_gone(pid_t pgid) {
  for (int i = 0; i < 100; ++i) {
    if (live_in_group(pgid).empty()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// No fd left open in the caller, no child (zombie or not), nothing alive in the child's group.
void expect_clean(const std::set<int>& fds_before, const Outcome& o) {
  CHECK(sts::test::open_fds() == fds_before);
  CHECK(sts::test::child_pids().empty());
  if (o.pid > 0) CHECK(group_gone(o.pid));
}

void expect_error(const Outcome& o, Code code, const std::string& fragment) {
  REQUIRE(o.result.has_value());
  REQUIRE_FALSE(o.result->has_value());
  CHECK(sts::code_name(o.error().code) == std::string(sts::code_name(code)));
  CHECK_THAT(o.error().message, Catch::Contains(fragment));
  CHECK(o.error().message.find('\n') == std::string::npos);
}

std::string value_of(const std::string& out, const std::string& key) {
  const auto j = nlohmann::json::parse(out);
  return j.at(key).at("value").get<std::string>();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

// ---- child_environment ----------------------------------------------------------------------

TEST_CASE("child_environment: a fixed PATH plus the allow-listed variables that exist, nothing else") {
  const sts::Environment caller{{"PATH", "/home/u/bin:/usr/bin"}, {"HOME", "/root"},
                                {"STS_API_KEY", "k-123"}, {"VAULT_ADDR", "https://v"}};
  CHECK(sts::platform::child_environment({}, caller) == std::vector<std::string>{"PATH=/usr/bin:/bin"});
  CHECK(sts::platform::child_environment({"VAULT_ADDR", "MISSING", "VAULT_ADDR", "", "A=B"}, caller) ==
        std::vector<std::string>{"PATH=/usr/bin:/bin", "VAULT_ADDR=https://v"});
  CHECK(sts::platform::child_environment({"PATH"}, caller) == std::vector<std::string>{"PATH=/home/u/bin:/usr/bin"});
  // PATH allow-listed but unset: the fixed one, never no PATH at all.
  CHECK(sts::platform::child_environment({"PATH"}, sts::Environment{}) == std::vector<std::string>{"PATH=/usr/bin:/bin"});
}

// ---- success paths ---------------------------------------------------------------------------

TEST_CASE("respond: the answer comes back in secure storage with stats filled") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"respond"}});
  CHECK(o.out() == R"({"db/pass":{"value":"val-db/pass"},"api key":{"value":"val-api key"}})");
  CHECK(o.stats.exit_code == 0);
  CHECK(o.stats.signal == 0);
  CHECK(o.stats.stdout_bytes == o.out().size());
  CHECK(o.stats.stderr_bytes == 0);
  CHECK(o.stats.stderr_tail.empty());
  CHECK(o.pid > 0);
  expect_clean(fds, o);
}

TEST_CASE("echo-request: stdin receives exactly the request bytes, then EOF") {
  const auto fds = sts::test::open_fds();
  sts::test::TempDir dir;
  const std::string file = dir / "request";
  const std::string request = std::string(R"({"version":"1.0","secrets":["a","b\"c"]})") + std::string("\0\xff", 2);
  const Outcome o = run({.args = {"echo-request", file}, .input = request});
  CHECK(sts::test::read_file(file) == request);
  CHECK(value_of(o.out(), "a") == "value-of-a");
  expect_clean(fds, o);
}

TEST_CASE("echo-request without a file: stderr is counted and its tail kept") {
  const Outcome o = run({.args = {"echo-request"}});
  CHECK(o.stats.stderr_bytes == kRequest.size());
  CHECK(o.stats.stderr_tail.view() == kRequest);
}

TEST_CASE("empty request: stdin is closed at once") {
  const Outcome o = run({.args = {"respond"}, .input = ""});
  CHECK(o.out() == "{}");
}

TEST_CASE("print-env: only PATH and the allow-listed variables reach the backend") {
  ::setenv("STS_API_KEY", "caller-secret-123", 1);
  ::setenv("STS_TEST_ALLOWED", "yes please", 1);
  ::unsetenv("STS_TEST_UNSET");
  const Outcome o = run({.args = {"print-env"}, .allow = {"STS_TEST_ALLOWED", "STS_TEST_UNSET"},
                         .process_environment = true});
  ::unsetenv("STS_API_KEY");
  ::unsetenv("STS_TEST_ALLOWED");
  const auto env = lines(value_of(o.out(), "env"));
  REQUIRE(env.size() == 3);
  CHECK(env[0] == "PATH=/usr/bin:/bin");
  CHECK(env[1] == "STS_TEST_ALLOWED=yes please");
  CHECK(env[2].rfind("FAKE_PID_FILE=", 0) == 0);
  CHECK(o.out().find("caller-secret-123") == std::string::npos);
}

TEST_CASE("print-fds: an ELF backend starts with exactly fds 0, 1 and 2") {
  // Leave a non-close-on-exec fd open in the caller: it must not reach the child either.
  const int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky >= 0);
  const Outcome o = run({.args = {"print-fds"}});
  ::close(leaky);
  CHECK(value_of(o.out(), "fds") == "0,1,2");
}

TEST_CASE("print-status: signals reset, mask empty, no new privileges, no core dumps, own group, dies with caller") {
  struct sigaction ignore{}, old_int{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  const Outcome o = run({.args = {"print-status"}});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  CHECK(value_of(o.out(), "status") ==
        "SigIgn=0000000000000000 SigBlk=0000000000000000 NoNewPrivs=1 core=0/0 own_group=yes pdeathsig=9");
}

TEST_CASE("a #!/bin/sh script backend runs end-to-end") {
  const Installed script("#!/bin/sh\nreq=$(cat)\nprintf '{\"sh\":{\"value\":\"%s\"}}' \"${#req}\"\n");
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.backend = &script});
  CHECK(value_of(o.out(), "sh") == std::to_string(kRequest.size()));
  expect_clean(fds, o);
}

TEST_CASE("a #!/usr/bin/env python3 script backend runs end-to-end") {
  const Installed script(
      "#!/usr/bin/env python3\n"
      "import json, sys\n"
      "req = json.load(sys.stdin)\n"
      "print(json.dumps({h: {'value': 'py-' + h} for h in req['secrets']}))\n");
  const Outcome o = run({.backend = &script});
  CHECK(value_of(o.out(), "db/pass") == "py-db/pass");
  CHECK(value_of(o.out(), "api key") == "py-api key");
}

TEST_CASE("the checked descriptor runs, even when the path is replaced after the check") {
  const Installed checked("#!/bin/sh\ncat >/dev/null\nprintf '{\"who\":{\"value\":\"checked\"}}'\n");
  const sts::VerifiedExecutable exe = checked.open();
  sts::test::write_file(checked.dir / "swap", "#!/bin/sh\ncat >/dev/null\nprintf '{\"who\":{\"value\":\"swapped\"}}'\n",
                        0700);
  REQUIRE(::rename((checked.dir / "swap").c_str(), checked.path.c_str()) == 0);
  sts::RunOptions options;
  options.executable = &exe;
  options.input = kRequest;
  sts::RunStats stats;
  auto r = sts::run_backend(options, stats);
  REQUIRE(r);
  CHECK(value_of(std::string(r->out.view()), "who") == "checked");
}

TEST_CASE("through check_executable: the verified fake backend runs") {
  sts::CheckOptions check;
  check.path = fake().path;
  auto exe = sts::platform::check_executable(check);
  if (!exe) FAIL("check_executable rejected the fake backend: " << exe.error().message);
  sts::RunOptions options;
  options.executable = &*exe;
  options.arguments = {"respond"};
  options.input = kRequest;
  sts::RunStats stats;
  auto r = sts::run_backend(options, stats);
  REQUIRE(r);
  CHECK(value_of(std::string(r->out.view()), "db/pass") == "val-db/pass");
}

TEST_CASE("through check_executable: a verified #! script runs (fd 3 reaches the interpreter)") {
  const Installed script("#!/bin/sh\ncat >/dev/null\nprintf '{\"ok\":{\"value\":\"yes\"}}'\n");
  sts::CheckOptions check;
  check.path = script.path;
  auto exe = sts::platform::check_executable(check);
  if (!exe) FAIL("check_executable rejected the script: " << exe.error().message);
  sts::RunOptions options;
  options.executable = &*exe;
  options.input = kRequest;
  sts::RunStats stats;
  auto r = sts::run_backend(options, stats);
  if (!r) FAIL(r.error().message);
  CHECK(value_of(std::string(r->out.view()), "ok") == "yes");
}

TEST_CASE("big-output-before-reading-stdin: ~900 KiB out before a 200 KiB request is read") {
  const auto fds = sts::test::open_fds();
  std::string request = R"({"version":"1.0","secrets":["a"],"pad":")" + std::string(200 * 1024, 'r') + "\"}";
  const Outcome o = run({.args = {"big-output-before-reading-stdin"}, .input = request});
  CHECK(o.out().size() > 900 * 1024);
  CHECK(value_of(o.out(), "a") == "val-a");
  expect_clean(fds, o);
}

TEST_CASE("close-stdin-immediately with a 1 MiB request: SIGPIPE never kills the caller") {
  struct sigaction dfl{}, old{};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, &old);
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"close-stdin-immediately"}, .input = std::string(1 << 20, 'x')});
  CHECK(value_of(o.out(), "closed") == "yes");
  sigset_t pending, mask;
  sigpending(&pending);
  CHECK_FALSE(sigismember(&pending, SIGPIPE));
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  CHECK_FALSE(sigismember(&mask, SIGPIPE));
  expect_clean(fds, o);
  ::sigaction(SIGPIPE, &old, nullptr);
}

TEST_CASE("grandchild-holds-stdout: the backend's answer counts, the grandchild is killed, no wait") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"grandchild-holds-stdout"}, .timeout = 10s});
  CHECK(value_of(o.out(), "db/pass") == "val-db/pass");
  CHECK(o.elapsed < 2s);
  expect_clean(fds, o);
}

TEST_CASE("bad outputs come back as raw bytes: validation is not the run's job") {
  CHECK(run({.args = {"bad-json"}}).out() == R"({"a": {"value": )");
  CHECK(run({.args = {"dup-keys"}}).out() == R"({"a":{"value":"1"},"a":{"value":"2"}})");
  CHECK(run({.args = {"deep-json"}}).out() == "{\"a\":{\"value\":" + std::string(100000, '['));
  CHECK(run({.args = {"non-utf8"}}).out() == "{\"a\":{\"value\":\"\xff\xfe\"}}");
}

TEST_CASE("slow: a backend inside its timeout succeeds and the duration is measured") {
  const Outcome o = run({.args = {"slow", "300"}, .timeout = 5s});
  CHECK(value_of(o.out(), "api key") == "val-api key");
  CHECK(o.stats.duration >= 300ms);
}

TEST_CASE("stderr: all bytes counted, only the last 4096 kept") {
  const Outcome o = run({.args = {"stderr-bytes", "10003"}});
  CHECK(o.out() == "{}");
  CHECK(o.stats.stderr_bytes == 10003);
  std::string all;
  for (int i = 0; i < 10003; ++i) all.push_back(static_cast<char>('0' + i % 10));
  CHECK(o.stats.stderr_tail.view() == all.substr(10003 - sts::kStderrTailBytes));
}

TEST_CASE("echo-secret-to-stderr: the values land only in the secure stderr tail") {
  const Outcome o = run({.args = {"echo-secret-to-stderr"}});
  CHECK(value_of(o.out(), "db/pass") == "val-db/pass");
  CHECK(o.stats.stderr_tail.view() == "val-db/pass\nval-api key\n");
}

TEST_CASE("concurrent runs from 4 threads") {
  // Opened here: Catch2's assertions (inside open()) are not thread-safe.
  std::vector<sts::VerifiedExecutable> exes;
  for (int t = 0; t < 4; ++t) exes.push_back(fake().open());
  const auto fds = sts::test::open_fds();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &good, &exes] {
      const sts::VerifiedExecutable& exe = exes[static_cast<std::size_t>(t)];
      for (int i = 0; i < 5; ++i) {
        const std::string h = "t" + std::to_string(t) + "-" + std::to_string(i);
        const std::string request = R"({"version":"1.0","secrets":[")" + h + "\"]}";
        sts::RunOptions options;
        options.executable = &exe;
        options.arguments = {"respond"};
        options.input = request;
        sts::RunStats stats;
        auto r = sts::run_backend(options, stats);
        if (r && r->out.view() == "{\"" + h + "\":{\"value\":\"val-" + h + "\"}}") ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(good == 20);
  CHECK(sts::test::open_fds() == fds);
  CHECK(sts::test::child_pids().empty());
}

// ---- failure modes ---------------------------------------------------------------------------

TEST_CASE("exec failure: a file without any x bit -> spawn_failed, Permission denied") {
  const Installed file(sts::test::read_file(STS_FAKE_BACKEND), 0600);
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"respond"}, .backend = &file});
  expect_error(o, Code::spawn_failed, "failed to execute " + file.path + ": Permission denied");
  CHECK(o.error().os_error == EACCES);
  CHECK(o.stats.exit_code == 127);
  expect_clean(fds, o);
}

TEST_CASE("exec failure: not an executable format -> spawn_failed, Exec format error") {
  const Installed file("just some text\n");
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.backend = &file});
  expect_error(o, Code::spawn_failed, "failed to execute " + file.path + ": Exec format error");
  CHECK(o.error().os_error == ENOEXEC);
  expect_clean(fds, o);
}

TEST_CASE("exec failure: a script whose interpreter is missing -> spawn_failed, No such file") {
  const Installed file("#!/nonexistent/interpreter\n");
  const Outcome o = run({.backend = &file});
  expect_error(o, Code::spawn_failed, "failed to execute " + file.path + ": No such file or directory");
}

TEST_CASE("hang: killed at the timeout, returns within timeout + 2 s") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"hang"}, .timeout = 1s});
  expect_error(o, Code::backend_timeout,
               "backend " + fake().path + " did not answer within 1s and was killed: raise secret_backend_timeout "
               "or fix the backend");
  CHECK(o.elapsed >= 1s);
  CHECK(o.elapsed < 3s);
  CHECK(o.stats.signal == SIGTERM);
  expect_clean(fds, o);
}

TEST_CASE("hang-with-grandchild: the grandchild holding stdout does not delay the return") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"hang-with-grandchild"}, .timeout = 1s});
  expect_error(o, Code::backend_timeout, "did not answer within 1s and was killed");
  CHECK(o.elapsed < 3s);
  expect_clean(fds, o);
}

TEST_CASE("ignore-sigterm: SIGKILL after the grace period, within timeout + 2 s") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"ignore-sigterm"}, .timeout = 1500ms});
  expect_error(o, Code::backend_timeout, "did not answer within 1500ms and was killed");
  CHECK(o.elapsed >= 1500ms);
  CHECK(o.elapsed < 3500ms);
  CHECK(o.stats.signal == SIGKILL);
  expect_clean(fds, o);
}

TEST_CASE("flood-stdout: killed at the cap -> output_too_large") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"flood-stdout"}});
  expect_error(o, Code::output_too_large,
               "backend " + fake().path + " wrote more than 1048576 bytes to stdout: raise "
               "secret_backend_output_max_size or fix the backend");
  CHECK(o.stats.stdout_bytes == 1048577);
  CHECK(o.stats.signal == SIGKILL);
  CHECK(o.elapsed < 5s);
  expect_clean(fds, o);
}

TEST_CASE("flood-stderr: the cap applies to stderr separately") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"flood-stderr"}, .cap = 65536});
  expect_error(o, Code::output_too_large, "wrote more than 65536 bytes to stderr");
  CHECK(o.stats.stderr_bytes > 65536);
  CHECK(o.stats.stderr_tail.size() == sts::kStderrTailBytes);
  expect_clean(fds, o);
}

TEST_CASE("exit-3-with-valid-json: a non-zero status fails the run") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"exit-3-with-valid-json"}});
  expect_error(o, Code::backend_exit, "backend " + fake().path + " exited with status 3");
  CHECK(o.stats.exit_code == 3);
  CHECK(o.stats.stdout_bytes > 0);
  expect_clean(fds, o);
}

TEST_CASE("killed-by-signal: backend_signal names the signal") {
  const auto fds = sts::test::open_fds();
  const Outcome kill9 = run({.args = {"killed-by-signal"}});
  expect_error(kill9, Code::backend_signal, "backend " + fake().path + " was killed by signal 9 (SIGKILL)");
  CHECK(kill9.stats.signal == 9);
  const Outcome segv = run({.args = {"killed-by-signal", "segv"}});
  expect_error(segv, Code::backend_signal, "was killed by signal 11 (SIGSEGV)");
  expect_clean(fds, segv);
}

TEST_CASE("the backend dies with the caller (PR_SET_PDEATHSIG)") {
  sts::test::TempDir dir;
  const std::string pid_file = dir / "pid";
  const sts::VerifiedExecutable exe = fake().open();
  const pid_t caller = ::fork();
  REQUIRE(caller >= 0);
  if (caller == 0) {
    sts::Environment env{{"FAKE_PID_FILE", pid_file}};
    sts::RunOptions options;
    options.executable = &exe;
    options.arguments = {"hang"};
    options.environment_allow = {"FAKE_PID_FILE"};
    options.caller_environment = &env;
    options.timeout = 60s;
    sts::RunStats stats;
    (void)sts::run_backend(options, stats);
    ::_exit(0);
  }
  pid_t backend = -1;
  for (int i = 0; i < 250 && backend <= 0; ++i) {
    std::this_thread::sleep_for(20ms);
    const std::string text = sts::test::read_file(pid_file);
    if (!text.empty()) backend = static_cast<pid_t>(std::stol(text));
  }
  ::kill(caller, SIGKILL);
  int status = 0;
  ::waitpid(caller, &status, 0);
  REQUIRE(backend > 0);
  CHECK(group_gone(backend));
}

TEST_CASE("a host that ignores SIGCHLD: the run succeeds and keeps its status, nothing leaks") {
  struct sigaction ignore{}, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGCHLD, &ignore, &old);
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"exit-3-with-valid-json"}});
  ::sigaction(SIGCHLD, &old, nullptr);
  expect_error(o, Code::backend_exit, "backend " + fake().path + " exited with status 3");
  CHECK(o.stats.exit_code == 3);
  expect_clean(fds, o);
}

TEST_CASE("an argument with a NUL byte is a configuration error, and nothing starts") {
  const auto fds = sts::test::open_fds();
  const Outcome o = run({.args = {"respond", std::string("a\0b", 3)}});
  expect_error(o, Code::config_invalid,
               "an argument of backend " + fake().path + " contains a NUL byte: remove it from secret_backend_arguments");
  CHECK(o.pid == -1);  // never started
  expect_clean(fds, o);
}

TEST_CASE("run_backend without an executable is an internal error, not a crash") {
  sts::RunOptions options;
  sts::RunStats stats;
  auto r = sts::run_backend(options, stats);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Code::internal);
}

// ---- the one wording (run_outcome.cpp, common to both platforms) ------------------------------

namespace {

sts::RunEnd end_with(sts::RunEndHow how) {
  sts::RunEnd end;
  end.how = how;
  return end;
}

sts::Error error_of(const sts::RunEnd& end, std::chrono::milliseconds timeout = 10s, std::size_t cap = 1048576) {
  sts::RunOptions options;
  options.timeout = timeout;
  options.output_max_size = cap;
  const std::optional<sts::Error> e = sts::run_error(end, "/opt/backend", options);
  REQUIRE(e.has_value());
  CHECK(e->message.find('\n') == std::string::npos);
  return *e;
}

}  // namespace

TEST_CASE("run_error: one wording and one fix hint per way a run ends, naming the executable") {
  sts::RunEnd ok = end_with(sts::RunEndHow::exited);
  ok.exit_code = 0;
  CHECK_FALSE(sts::run_error(ok, "/opt/backend", {}).has_value());

  sts::RunEnd exit3 = end_with(sts::RunEndHow::exited);
  exit3.exit_code = 3;
  sts::Error e = error_of(exit3);
  CHECK(e.code == Code::backend_exit);
  CHECK(e.message == "backend /opt/backend exited with status 3: fix the backend (its stderr is logged)");

  sts::RunEnd crash = end_with(sts::RunEndHow::exited);
  crash.exit_code = static_cast<int>(0xC0000005u);
  crash.exit_code_is_ntstatus = true;
  CHECK(error_of(crash).message == "backend /opt/backend exited with status 0xC0000005: fix the backend (its stderr is logged)");

  sts::RunEnd segv = end_with(sts::RunEndHow::signaled);
  segv.signal = SIGSEGV;
  e = error_of(segv);
  CHECK(e.code == Code::backend_signal);
  CHECK(e.message == "backend /opt/backend was killed by signal 11 (SIGSEGV): fix the backend (its stderr is logged)");

  e = error_of(end_with(sts::RunEndHow::timed_out), 1500ms);
  CHECK(e.code == Code::backend_timeout);
  CHECK(e.message == "backend /opt/backend did not answer within 1500ms and was killed: raise secret_backend_timeout "
                     "or fix the backend");
  CHECK_THAT(error_of(end_with(sts::RunEndHow::timed_out), 30s).message, Catch::Contains("within 30s"));

  sts::RunEnd capped = end_with(sts::RunEndHow::output_capped);
  capped.capped = sts::OutputStream::stderr_stream;
  e = error_of(capped, 10s, 65536);
  CHECK(e.code == Code::output_too_large);
  CHECK(e.message == "backend /opt/backend wrote more than 65536 bytes to stderr: raise "
                     "secret_backend_output_max_size or fix the backend");
  capped.capped = sts::OutputStream::stdout_stream;
  CHECK_THAT(error_of(capped).message, Catch::Contains("bytes to stdout"));

  sts::RunEnd lost = end_with(sts::RunEndHow::lost);
  lost.stage = sts::SpawnStage::wait;
  e = error_of(lost);
  CHECK(e.code == Code::internal);
  CHECK_THAT(e.message, Catch::StartsWith("lost track of backend /opt/backend while waiting for it"));
}

TEST_CASE("run_error: a spawn failure names its stage and the OS reason, exec failures blame the file") {
  sts::RunEnd exec = end_with(sts::RunEndHow::spawn_failed);
  exec.stage = sts::SpawnStage::exec;
  exec.os_error = EACCES;
  sts::Error e = error_of(exec);
  CHECK(e.code == Code::spawn_failed);
  CHECK(e.os_error == EACCES);
  CHECK(e.message == "failed to execute /opt/backend: Permission denied: run it by hand as the same user to see why, "
                     "then fix the file or its interpreter");
  const std::pair<sts::SpawnStage, const char*> stages[] = {
      {sts::SpawnStage::pipes, "creating its pipes"},
      {sts::SpawnStage::supervisor, "starting its supervisor"},
      {sts::SpawnStage::containment, "setting up its containment"},
      {sts::SpawnStage::signals, "resetting signal dispositions"},
      {sts::SpawnStage::process_group, "setpgid"},
      {sts::SpawnStage::no_new_privs, "prctl(PR_SET_NO_NEW_PRIVS)"},
      {sts::SpawnStage::core_limit, "setrlimit(RLIMIT_CORE)"},
      {sts::SpawnStage::descriptors, "setting up descriptors"},
  };
  for (const auto& [stage, text] : stages) {
    sts::RunEnd end = end_with(sts::RunEndHow::spawn_failed);
    end.stage = stage;
    end.os_error = EAGAIN;
    e = error_of(end);
    CHECK(e.code == Code::spawn_failed);
    CHECK(e.message == "cannot start backend /opt/backend: " + std::string(text) +
                           ": Resource temporarily unavailable: the system refused it (a limit such as ulimit -n or -u, "
                           "or a seccomp policy): fix that and retry");
  }
}

TEST_CASE("StderrTail keeps the last 4096 bytes in order, across chunk sizes and wrap-arounds") {
  const std::vector<std::vector<std::size_t>> sequences = {
      {3, 3}, {4096}, {4097}, {1, 4095}, {1, 4096}, {4095, 3}, {7, 4095, 3, 5000, 2, 4096, 11, 123}, {2048, 2048, 2048},
  };
  for (const auto& sizes : sequences) {
    std::string all;
    sts::StderrTail tail;
    for (std::size_t size : sizes) {
      std::string chunk;
      for (std::size_t i = 0; i < size; ++i) chunk.push_back(static_cast<char>('a' + (all.size() + i) % 26));
      all += chunk;
      tail.append(chunk);
    }
    INFO("chunks: " << sizes.size() << ", bytes: " << all.size());
    const std::size_t keep = std::min(all.size(), sts::kStderrTailBytes);
    CHECK(tail.take().view() == all.substr(all.size() - keep));
    CHECK(tail.take().empty());  // taken: empty afterwards
  }
}
