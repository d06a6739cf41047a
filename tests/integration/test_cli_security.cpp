// Attacks on the stsecrets command from the security round (issue: "close every class an
// outside review broke"), each driven through the real binary (STS_CLI):
// - every stdout message passes through redaction (check --fetch printed a backend's error text
//   that quoted another handle's value);
// - tagged ENC[...] scalars are errors, never passed through;
// - the process is non-dumpable before it holds a secret;
// - check --json is one parseable document (an auditor's script reads it).
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cstdio>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sts::test::CommandResult;
using sts::test::TempDir;
using sts::test::write_file;

constexpr const char* kAlpha = "alpha-secret-Qx81v";

CommandResult cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                  const std::string& input = {}) {
  std::vector<std::string> argv = {STS_CLI, "--log-level", "trace"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> full_env = {"PATH=/usr/bin:/bin", "LANG=C"};
  full_env.insert(full_env.end(), env.begin(), env.end());
  return sts::test::run_command(argv, input, full_env, std::chrono::seconds(60));
}

// A backend script, owner-only in a private folder, printing `response` for any request.
std::string script_backend(const TempDir& dir, const std::string& response, const std::string& stderr_text = {},
                           int status = 0) {
  const std::string bin = dir / "bin";
  fs::create_directories(bin);
  fs::permissions(bin, fs::perms::owner_all);
  std::string body = "#!/bin/sh\ncat >/dev/null\nprintf '%s' '" + response + "'\n";
  if (!stderr_text.empty()) body += "printf '%s\\n' '" + stderr_text + "' >&2\n";
  body += "exit " + std::to_string(status) + "\n";
  write_file(bin + "/backend", body, 0700);
  return bin + "/backend";
}

std::string config(const TempDir& dir, const std::string& backend, const std::string& body) {
  const std::string path = dir / "stackstate.yaml";
  write_file(path, body + "secret_backend_command: " + backend + "\n");
  return path;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("security: check --fetch never prints a value, even quoted by a backend's error text", "[cli][security]") {
  // Found by an outside review: the backend's error string for one handle quoted another
  // handle's value, and `check --fetch` printed it on stdout as is.
  TempDir dir;
  const std::string response = std::string("{\"a\":{\"value\":\"") + kAlpha +
                               "\"},\"b\":{\"value\":null,\"error\":\"cannot read b; a was " + kAlpha + "\"}}";
  const std::string cfg = config(dir, script_backend(dir, response), "a: ENC[a]\nb: ENC[b]\n");
  auto text = cli({"check", "--config", cfg, "--fetch"});
  CHECK(text.exit_code == 5);
  CHECK(count(text.out, kAlpha) == 0);   // counts only: a failure must not print the value
  CHECK(count(text.err, kAlpha) == 0);
  CHECK(text.out.find("cannot read b; a was ********") != std::string::npos);

  auto json = cli({"check", "--config", cfg, "--fetch", "--json"});
  CHECK(json.exit_code == 5);
  CHECK(count(json.out, kAlpha) == 0);
  CHECK(count(json.err, kAlpha) == 0);
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["fetch"]["handles"][1]["error"]["message"].get<std::string>().find("a was ********") != std::string::npos);
}

TEST_CASE("security: a backend's error text is scrubbed of the response's values before it is escaped or cut",
          "[cli][security]") {
  // Found by an outside review: the error text was escaped (a control byte became "\x01") and
  // cut at 512 bytes before redaction saw it, so a value with a control character, or one cut
  // by the cap, no longer matched and its pieces were printed (text and --json) and logged.
  TempDir dir;
  const std::string pad(490, 'p');
  const std::string response = R"({"a":{"value":"beta\u0001-Secret-Zq71\tend"},)"
                               R"("b":{"value":null,"error":"b failed; a was beta\u0001-Secret-Zq71\tend"},)"
                               R"("c":{"value":null,"error":")" + pad + R"( a=beta\u0001-Secret-Zq71\tend"}})";
  const std::string cfg = config(dir, script_backend(dir, response), "a: ENC[a]\nb: ENC[b]\nc: ENC[c]\n");
  for (const bool json : {false, true}) {
    std::vector<std::string> args = {"check", "--config", cfg, "--fetch"};
    if (json) args.push_back("--json");
    auto r = cli(args);
    INFO("json=" << json);
    CHECK(r.exit_code == 5);
    for (const char* piece : {"-Secret-Zq71", "Zq71", "beta\\x01", "beta\\\\x01"}) {
      CHECK(count(r.out, piece) == 0);   // counts only: a failure must not print the value
      CHECK(count(r.err, piece) == 0);
    }
    CHECK(r.out.find("b failed; a was ********") != std::string::npos);
  }
  // The resolve path logs the same error texts.
  const std::string doc = dir / "conf.yaml";
  write_file(doc, "b: ENC[b]\n");
  auto r = cli({"resolve", "--config", cfg, doc});
  CHECK(r.exit_code == 5);
  CHECK(count(r.err, "Zq71") == 0);
  CHECK(r.err.find("b failed; a was ********") != std::string::npos);
}

TEST_CASE("security: a value from another backend of the same resolution is masked in error texts and logs",
          "[cli][security]") {
  // Found by a review of the fixes: backends run in parallel, and one backend's error text (and
  // its stderr) was escaped, cut and logged before another backend's values were known. Its
  // "\x01" and its 512-byte cut then hid a value from the final redaction.
  TempDir dir;
  const std::string bin = dir / "bin";
  fs::create_directories(bin);
  fs::permissions(bin, fs::perms::owner_all);
  const std::string marker = dir / "one-answered";
  const std::string value = "Zq9-LEAKME-7fragmentXYZ";
  const std::string pad(495, 'f');
  // "one" answers first: errors quoting "two"'s values, and the plain value on its stderr.
  write_file(bin + "/one",
             "#!/bin/sh\ncat >/dev/null\nprintf '%s' '{\"h1\":{\"value\":null,\"error\":\"" + pad + value +
                 "\"},\"h3\":{\"value\":null,\"error\":\"ctl Zq9-LEAK\\u0001ME-7fragmentXYZ\"}}'\n"
                 "printf 'debug: vault says peer token=%s\\n' '" + value + "' >&2\ntouch " + marker + "\n",
             0700);
  // "two" answers once "one" has (bounded wait): its values are learned last.
  write_file(bin + "/two",
             "#!/bin/sh\ncat >/dev/null\ni=0\nwhile [ ! -e " + marker + " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n"
             "sleep 0.3\nprintf '%s' '{\"h2\":{\"value\":\"" + value +
                 "\"},\"h4\":{\"value\":\"Zq9-LEAK\\u0001ME-7fragmentXYZ\"}}'\n",
             0700);
  const std::string cfg = dir / "stackstate.yaml";
  write_file(cfg,
             "a: ENC[one;h1]\nb: ENC[two;h2]\nc: ENC[one;h3]\nd: ENC[two;h4]\nmulti_secret_backends:\n"
             "  one: {type: executable, config: {command: " + bin + "/one, timeout: 20}}\n"
             "  two: {type: executable, config: {command: " + bin + "/two, timeout: 20}}\n",
             0600);
  const std::vector<std::vector<std::string>> runs = {{"resolve", "--config", cfg},
                                                      {"check", "--config", cfg, "--fetch"},
                                                      {"check", "--config", cfg, "--fetch", "--json"}};
  for (const auto& args : runs) {
    std::remove(marker.c_str());
    auto r = cli(args);
    INFO(args[0] << (args.size() > 4 ? " --json" : ""));
    CHECK(r.exit_code == 5);
    for (const char* piece : {"Zq9-LEAK", "LEAKME", "fragment", "7fragmentXYZ"}) {
      CHECK(count(r.out, piece) == 0);   // counts only: a failure must not print the value
      CHECK(count(r.err, piece) == 0);
    }
    CHECK(count(r.out + r.err, "ctl ********") >= 1);
  }
}

TEST_CASE("security: a config naming only built-in providers is checked like one naming an executable (SPEC 2)",
          "[cli][security]") {
  // Found by an outside review: the main config was checked only when an executable backend
  // ran, yet a provider's config chooses which folder or document the agent's secrets come
  // from. A writable config let anyone point the agent at values of their choice.
  TempDir dir;
  const std::string secrets = dir / "secrets";
  fs::create_directory(secrets);
  fs::permissions(secrets, fs::perms::owner_all);
  write_file(secrets + "/api_key", "api-key-Qx83");
  const std::string cfg = dir / "stackstate.yaml";
  const std::string doc = dir / "conf.yaml";
  write_file(doc, "k: ENC[api_key]\n");
  for (const std::string& backends :
       {"secret_backend_type: file\nsecret_backend_config:\n  root: " + secrets + "\n",
        "multi_secret_backends:\n  local:\n    type: file\n    config:\n      root: " + secrets + "\n"}) {
    INFO(backends);
    const std::string handle = std::string(backends[0] == 'm' ? "local;" : "") + "api_key";
    write_file(cfg, "api_key: ENC[" + handle + "]\n" + backends, 0666);
    const std::string message = "config file " + cfg + " (mode 0666, owner root) is writable by group or others";
    auto r = cli({"resolve", "--config", cfg});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.err.find("run chmod go-w " + cfg) != std::string::npos);
    CHECK(r.out.find("api-key-Qx83") == std::string::npos);
    r = cli({"check", "--config", cfg});
    CHECK(r.exit_code == 3);
    CHECK(r.out.find("result:   FAIL: the config file is rejected; apply the fix above") != std::string::npos);
    r = cli({"backend", "--config", cfg}, {}, R"({"version":"1.0","secrets":[")" + handle + R"("]})");
    CHECK(r.exit_code == 0);   // the agent gets the refusal as each handle's error (SPEC 8)
    CHECK(r.out.find(message) != std::string::npos);
    CHECK(r.out.find("api-key-Qx83") == std::string::npos);
    ::chmod(cfg.c_str(), 0600);
    r = cli({"resolve", "--config", cfg});
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("security: tagged ENC[] scalars are configuration errors in every command (SPEC 1)", "[cli][security]") {
  // Found by an outside review: `!custom ENC[x]` and `!!binary ENC[x]` passed through literally
  // and the tag was dropped from the output.
  TempDir dir;
  const std::string secrets = dir / "secrets";
  fs::create_directory(secrets);
  fs::permissions(secrets, fs::perms::owner_all);
  write_file(secrets + "/x", "xvalue-1234");
  const std::string cfg = dir / "stackstate.yaml";
  write_file(cfg, "secret_backend_type: file\nsecret_backend_config: {root: " + secrets + "}\n");
  const std::string doc = dir / "conf.yaml";
  write_file(doc, "a: !custom ENC[x]\nb: !!binary ENC[x]\nc: ENC[x]\n");
  const std::string out = dir / "out.yaml";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"resolve", "--config", cfg, doc, "-o", out},
        std::vector<std::string>{"handles", "--config", cfg, doc}}) {
    auto r = cli(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("stsecrets: error: " + doc + ": a: the handle carries the YAML tag \"!custom\"") != std::string::npos);
    CHECK(r.err.find("stsecrets: error: " + doc + ": b: the handle carries the YAML tag \"!!binary\"") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(out));
  // check --fetch scans the main config with the same predicate.
  write_file(cfg, "k: !custom ENC[x]\nsecret_backend_type: file\nsecret_backend_config: {root: " + secrets + "}\n");
  auto c = cli({"check", "--config", cfg, "--fetch"});
  CHECK(c.exit_code == 2);
  CHECK(c.err.find(": k: the handle carries the YAML tag \"!custom\"") != std::string::npos);
}

TEST_CASE("security: the command is non-dumpable before it holds a secret (SPEC 6)", "[cli][security]") {
  // RLIMIT_CORE=0 does not stop a piped core_pattern; a non-dumpable process gets no core at all,
  // and other processes of its own user cannot read its memory or environment. Proof: an
  // unprivileged process of the same uid cannot open /proc/PID/environ of a running stsecrets.
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const std::string secrets = dir / "s";
  fs::create_directory(secrets);
  int to_child[2];
  REQUIRE(::pipe(to_child) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The unprivileged user runs `stsecrets helper read-file`, which waits for its request.
    ::dup2(to_child[0], 0);
    ::close(to_child[1]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 2);   // its "empty request" error is not this test's output
    if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) ::_exit(90);
    const std::string cli_path = STS_CLI;
    ::execl(cli_path.c_str(), cli_path.c_str(), "helper", "read-file", secrets.c_str(), static_cast<char*>(nullptr));
    ::_exit(91);
  }
  ::close(to_child[0]);
  // Wait until it has started: its /proc entry shows the stsecrets binary (bounded).
  const std::string exe_link = "/proc/" + std::to_string(pid) + "/cmdline";
  bool started = false;
  for (int i = 0; i < 500 && !started; ++i) {
    started = sts::test::read_file(exe_link).find("read-file") != std::string::npos;
    if (!started) ::usleep(10000);
  }
  REQUIRE(started);
  // The kernel shows a non-dumpable process's /proc entry as owned by root (task_dump_owner):
  // wait for stsecrets to get there (it hardens itself first thing in main), bounded.
  bool non_dumpable = false;
  for (int i = 0; i < 500 && !non_dumpable; ++i) {
    struct stat st {};
    non_dumpable = ::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) == 0 && st.st_uid == 0;
    if (!non_dumpable) ::usleep(10000);
  }
  CHECK(non_dumpable);
  // Another process of the same unprivileged uid tries to read its environment.
  const pid_t probe = ::fork();
  REQUIRE(probe >= 0);
  if (probe == 0) {
    if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) ::_exit(90);
    const int fd = ::open(("/proc/" + std::to_string(pid) + "/environ").c_str(), O_RDONLY);
    ::_exit(fd < 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(probe, &status, 0) == probe);
  ::close(to_child[1]);   // the helper reads an empty request and exits
  int helper_status = 0;
  REQUIRE(::waitpid(pid, &helper_status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);   // EACCES: not dumpable
}

TEST_CASE("check --json: one document, schema 1, parseable by an auditor's script (Python json)", "[cli][check]") {
  TempDir dir;
  const std::string response = std::string("{\"a\":{\"value\":\"") + kAlpha + "\"}}";
  const std::string cfg = config(dir, script_backend(dir, response), "a: ENC[a]\n");
  auto r = cli({"check", "--config", cfg, "--fetch", "--json"});
  REQUIRE(r.exit_code == 0);
  const std::string json_path = dir / "check.json";
  write_file(json_path, r.out);
  const std::string script =
      "import json, sys\n"
      "d = json.load(open(sys.argv[1]))\n"
      "assert d['schema'] == 1, d['schema']\n"
      "b = d['backends'][0]\n"
      "assert b['type'] == 'executable' and b['status'] == 'ok' and len(b['sha256']) == 64\n"
      "assert all(rule['status'] == 'ok' for rule in b['rules'])\n"
      "assert d['fetch']['handles'][0]['handle'] == 'a' and d['fetch']['handles'][0]['status'] == 'ok'\n"
      "assert d['result'] == {'status': 'ok', 'exit_code': 0, 'error': None}\n"
      "print('ok')\n";
  auto py = sts::test::run_command({"/usr/bin/python3", "-c", script, json_path});
  INFO(py.err);
  CHECK(py.exit_code == 0);
  CHECK(py.out == "ok\n");
  CHECK(count(r.out, kAlpha) == 0);

  // A rejected backend: exit 3 as without --json, and the failing rule with its fix.
  ::chmod((dir / "bin/backend").c_str(), 0755);
  auto bad = cli({"check", "--config", cfg, "--json"});
  CHECK(bad.exit_code == 3);
  auto doc = nlohmann::json::parse(bad.out);
  CHECK(doc["result"]["status"] == "fail");
  CHECK(doc["result"]["exit_code"] == 3);
  CHECK(doc["result"]["error"]["code"] == "exec_rejected");
  bool has_fix = false;
  for (const auto& rule : doc["backends"][0]["rules"]) {
    if (rule["status"] == "fail") has_fix = rule["fix"].get<std::string>().rfind("chmod 700 ", 0) == 0;
  }
  CHECK(has_fix);
}

TEST_CASE("security: -o never replaces a link or a device, -o - is stdout (SPEC 6)", "[cli][security]") {
  // Found by an outside review: -o onto a symlink replaced the link, so as root `-o /dev/stdout`
  // would have replaced the device node with a plaintext file.
  TempDir dir;
  const std::string secrets = dir / "secrets";
  fs::create_directory(secrets);
  fs::permissions(secrets, fs::perms::owner_all);
  write_file(secrets + "/x", "xvalue-Pq73");
  const std::string cfg = dir / "stackstate.yaml";
  write_file(cfg, "x: ENC[x]\nsecret_backend_type: file\nsecret_backend_config: {root: " + secrets + "}\n");
  const std::string target = dir / "elsewhere.yaml";
  write_file(target, "untouched\n");
  const std::string link = dir / "out.yaml";
  fs::create_symlink(target, link);
  auto r = cli({"resolve", "--config", cfg, "-o", link});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("stsecrets: error: ") != std::string::npos);
  CHECK(fs::is_symlink(link));
  CHECK(sts::test::read_file(target) == "untouched\n");

  auto dev = cli({"resolve", "--config", cfg, "-o", "/dev/null"});
  CHECK(dev.exit_code == 2);
  struct stat st {};
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));

  auto out = cli({"resolve", "--config", cfg, "-o", "-"});
  CHECK(out.exit_code == 0);
  CHECK(out.out.find("x: \"xvalue-Pq73\"") != std::string::npos);
}
