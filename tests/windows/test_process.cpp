// The hardened run on Windows (SPEC 4): real child processes from the fake backend under a
// job object, with the three pipe ends as the only inherited handles.
#include "common/executable_check.h"
#include "common/process.h"
#include "common/protocol.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>

#include <chrono>
#include <set>
#include <sstream>

using namespace sts;
using namespace sts::wintest;
using namespace std::chrono_literals;

namespace {

struct FakeBackend {
  TempDir tmp;
  std::string exe = tmp / "fake_backend_win.exe";
  VerifiedExecutable verified;
  FakeBackend() {
    REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
    copy_fake_backend(exe);
    REQUIRE(set_sddl(exe, "D:P(A;;FA;;;{U})"));
    auto r = platform::check_executable(CheckOptions{exe, false, ""});
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    verified = std::move(r).value();
  }
};

struct Ran {
  Result<RunOutput> result;
  RunStats stats;
  std::chrono::milliseconds elapsed;
};

Ran run(const FakeBackend& b, std::vector<std::string> args, std::string_view input = {},
        std::chrono::milliseconds timeout = 10000ms, std::size_t cap = 1 << 20,
        std::vector<std::string> allow = {}, const Environment* env = nullptr) {
  RunOptions o;
  o.executable = &b.verified;
  o.arguments = std::move(args);
  o.input = input;
  o.timeout = timeout;
  o.output_max_size = cap;
  o.environment_allow = std::move(allow);
  o.caller_environment = env;
  RunStats stats;
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_backend(o, stats);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return Ran{std::move(r), std::move(stats), elapsed};
}

unsigned long grandchild_pid(const RunStats& stats) {
  std::string tail(stats.stderr_tail.view());
  auto at = tail.find("grandchild ");
  if (at == std::string::npos) return 0;
  return std::stoul(tail.substr(at + 11));
}

bool wait_dead(unsigned long pid) {
  for (int i = 0; i < 40 && process_alive(pid); ++i) ::Sleep(50);
  return !process_alive(pid);
}

}  // namespace

TEST_CASE("echo-request: the request goes in, the response comes out, exit 0", "[process]") {
  FakeBackend b;
  std::string req = encode_request({"db_pass", "api_key"});
  auto r = run(b, {"echo-request"}, req);
  INFO((r.result ? std::string() : r.result.error().message));
  REQUIRE(r.result.has_value());
  CHECK(r.stats.exit_code == 0);
  CHECK(r.stats.stdout_bytes == r.result->out.size());
  auto v = validate_response(r.result->out.view(), {"api_key", "db_pass"}, {}, b.exe);
  REQUIRE(v.has_value());
  CHECK(v->values.at("db_pass").view() == "value-of-db_pass");
  CHECK(v->failures.empty());
}

TEST_CASE("a 2 MiB request is written while the response is read (no deadlock)", "[process]") {
  FakeBackend b;
  std::vector<std::string> handles;
  for (int i = 0; i < 60000; ++i) handles.push_back("handle_number_" + std::to_string(i));
  std::string req = encode_request(handles);
  REQUIRE(req.size() > (1u << 20));
  auto r = run(b, {"echo-request"}, req, 30000ms, 8u << 20);
  INFO((r.result ? std::string() : r.result.error().message));
  REQUIRE(r.result.has_value());
  CHECK(r.result->out.view().find("value-of-handle_number_59999") != std::string_view::npos);
}

TEST_CASE("exit-3 is reported as on POSIX", "[process]") {
  FakeBackend b;
  auto r = run(b, {"exit-3"}, "{}");
  REQUIRE_FALSE(r.result.has_value());
  CHECK(r.result.error().code == Code::backend_exit);
  CHECK_THAT(r.result.error().message, Catch::Contains("exited with status 3"));
  CHECK_THAT(r.result.error().message, Catch::Contains(b.exe));
  CHECK(r.stats.exit_code == 3);
}

TEST_CASE("an NTSTATUS exit is shown in hex, with the fix hint", "[process]") {
  FakeBackend b;
  auto r = run(b, {"exit-status", "C0000005"}, "{}");
  REQUIRE_FALSE(r.result.has_value());
  CHECK(r.result.error().code == Code::backend_exit);
  CHECK_THAT(r.result.error().message,
             Catch::Contains("backend " + b.exe + " exited with status 0xC0000005: fix the backend"));
  CHECK(static_cast<unsigned>(r.stats.exit_code) == 0xC0000005u);
}

TEST_CASE("an argument with a NUL byte is a configuration error, before anything starts", "[process][args]") {
  FakeBackend b;
  auto r = run(b, {"print-args", std::string("a\0b", 3)});
  REQUIRE_FALSE(r.result.has_value());
  CHECK(r.result.error().code == Code::config_invalid);
  CHECK_THAT(r.result.error().message, Catch::Contains("contains a NUL byte: remove it from secret_backend_arguments"));
}

TEST_CASE("containment(): a job object, and runs are contained by it", "[process][containment]") {
  const Containment c = platform::containment();
  CHECK(c.kind == ContainmentKind::job_object);
  CHECK(c.name == "job-object");
  CHECK_THAT(c.what_it_guarantees, Catch::Contains("KILL_ON_JOB_CLOSE"));
  FakeBackend b;
  auto r = run(b, {"echo-request"});
  REQUIRE(r.result.has_value());
  CHECK(r.stats.containment == ContainmentKind::job_object);
}

TEST_CASE("bad-json runs fine and fails validation", "[process]") {
  FakeBackend b;
  auto r = run(b, {"bad-json"});
  REQUIRE(r.result.has_value());
  auto v = validate_response(r.result->out.view(), {"a"}, {}, b.exe);
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().code == Code::response_not_json);
}

TEST_CASE("hang: the timeout kills it and returns within timeout + 2 s", "[process][timeout]") {
  FakeBackend b;
  auto r = run(b, {"hang"}, "{}", 1500ms);
  REQUIRE_FALSE(r.result.has_value());
  CHECK(r.result.error().code == Code::backend_timeout);
  // The one wording of both platforms (run_outcome.cpp).
  CHECK_THAT(r.result.error().message,
             Catch::Contains("backend " + b.exe + " did not answer within 1500ms and was killed: raise "
                             "secret_backend_timeout or fix the backend"));
  CHECK(r.elapsed >= 1400ms);
  CHECK(r.elapsed < 3500ms);
}

TEST_CASE("hang-with-grandchild: the grandchild holds stdout, cannot break away, and dies with the job",
          "[process][timeout]") {
  FakeBackend b;
  auto r = run(b, {"hang-with-grandchild"}, "{}", 2000ms);
  REQUIRE_FALSE(r.result.has_value());
  CHECK(r.result.error().code == Code::backend_timeout);
  CHECK(r.elapsed < 4000ms);
  std::string tail(r.stats.stderr_tail.view());
  INFO(tail);
  unsigned long pid = grandchild_pid(r.stats);
  REQUIRE(pid != 0);
  CHECK_THAT(tail, Catch::Contains("breakaway 0"));
  CHECK(wait_dead(pid));
}

TEST_CASE("daemonize: a grandchild left behind is killed when the backend exits, the call returns at once",
          "[process]") {
  FakeBackend b;
  auto r = run(b, {"daemonize"}, "{}", 20000ms);
  INFO((r.result ? std::string() : r.result.error().message));
  REQUIRE(r.result.has_value());
  CHECK(r.result->out.view() == R"({"a":{"value":"x"}})");
  CHECK(r.elapsed < 5000ms);
  unsigned long pid = grandchild_pid(r.stats);
  REQUIRE(pid != 0);
  CHECK(wait_dead(pid));
}

TEST_CASE("flood-stdout and flood-stderr hit the cap and are killed", "[process][cap]") {
  FakeBackend b;
  for (const char* mode : {"flood-stdout", "flood-stderr"}) {
    auto r = run(b, {mode}, "{}", 20000ms, 256 * 1024);
    REQUIRE_FALSE(r.result.has_value());
    CHECK(r.result.error().code == Code::output_too_large);
    CHECK_THAT(r.result.error().message, Catch::Contains(std::string(mode).substr(6)));
    CHECK(r.elapsed < 10000ms);
    if (std::string(mode) == "flood-stderr") CHECK(r.stats.stderr_tail.size() == kStderrTailBytes);
  }
}

TEST_CASE("print-env: only the minimal block, the allow-list and Wine's own WINE* variables", "[process][env]") {
  FakeBackend b;
  Environment env{{"STS_API_KEY", "do-not-pass"}, {"Allowed_Var", "yes"}, {"PATH", "C:\\evil"},
                  {"TEMP", "C:\\users\\t"}, {"OTHER", "x"}};
  auto r = run(b, {"print-env"}, "", 10000ms, 1 << 20, {"ALLOWED_VAR", "NOT_SET"}, &env);
  REQUIRE(r.result.has_value());
  std::istringstream lines{std::string(r.result->out.view())};
  std::set<std::string> names;
  std::map<std::string, std::string> values;
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string name = line.substr(0, eq);
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    values[upper] = line.substr(eq + 1);
    if (upper.rfind("WINE", 0) == 0) continue;  // Wine adds these to every child
    names.insert(upper);
  }
  CHECK(names == std::set<std::string>{"ALLOWED_VAR", "PATH", "SYSTEMDRIVE", "SYSTEMROOT", "TEMP", "TMP"});
  CHECK(values["ALLOWED_VAR"] == "yes");
  CHECK(values["TEMP"] == "C:\\users\\t");
  CHECK(values["PATH"].find("evil") == std::string::npos);
  CHECK_THAT(values["PATH"], Catch::Contains("system32"));
  CHECK(values.count("STS_API_KEY") == 0);
}

TEST_CASE("child_environment: sorted, case-insensitive, PATH only when allow-listed", "[env]") {
  Environment env{{"Path", "C:\\mine"}, {"zeta", "1"}, {"Alpha", "2"}};
  auto block = platform::child_environment({"ALPHA", "PATH", "zeta", "missing", "BAD=NAME"}, env);
  REQUIRE(block.size() == 7);
  CHECK(block[0] == "Alpha=2");
  bool path_mine = false;
  for (auto& kv : block) path_mine = path_mine || kv == "Path=C:\\mine";  // the caller's spelling
  CHECK(path_mine);
  CHECK(block.back() == "zeta=1");
  auto minimal = platform::child_environment({}, env);
  CHECK(minimal.size() == 5);
}

TEST_CASE("only the three pipe ends are inherited", "[process][handles]") {
  FakeBackend b;
  TempDir tmp;
  std::string marker = tmp / "inheritable-marker.txt";
  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
  HANDLE h = ::CreateFileW(win::to_wide(marker).c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           &sa, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  REQUIRE(h != INVALID_HANDLE_VALUE);
  auto value = std::to_string(reinterpret_cast<std::uintptr_t>(h));
  auto r = run(b, {"check-handle", value, "inheritable-marker.txt"});
  ::CloseHandle(h);
  REQUIRE(r.result.has_value());
  CHECK(r.result->out.view() == "clean\n");
}

TEST_CASE("arguments reach the backend unchanged (no shell, MSVC quoting)", "[process][args]") {
  FakeBackend b;
  std::vector<std::string> args = {"print-args", "plain", "with space", "quote\"inside", "trailing\\", "back\\\\\"q", ""};
  auto r = run(b, args);
  REQUIRE(r.result.has_value());
  CHECK(r.result->out.view() == "plain\nwith space\nquote\"inside\ntrailing\\\nback\\\\\"q\n\n");
}

TEST_CASE("the caller's stdin request is optional", "[process]") {
  FakeBackend b;
  auto r = run(b, {"echo-request"});
  REQUIRE(r.result.has_value());
  CHECK(r.result->out.view() == "{}");
}
