// The stsecrets command, driven as a real binary (STS_CLI): every exit status of SPEC 7 reached
// by a real scenario with its exact error line, resolve's all-or-nothing output and file modes,
// exec's hand-over to COMMAND, the read-file helper's per-handle errors, and golden files for
// `check`. Every run is at --log-level trace and no run's stderr may contain a secret value.
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

// The exit status, with the run's stderr shown when it is not the expected one.
#define CHECK_EXIT(r, n)                  \
  do {                                    \
    INFO("stderr: " << (r).err);          \
    CHECK((r).exit_code == (n));          \
  } while (false)
#define REQUIRE_EXIT(r, n)                \
  do {                                    \
    INFO("stderr: " << (r).err);          \
    REQUIRE((r).exit_code == (n));        \
  } while (false)

namespace {

namespace fs = std::filesystem;
using sts::test::CommandResult;
using sts::test::read_file;
using sts::test::run_command;
using sts::test::TempDir;
using sts::test::write_file;

// Every value a test can make a backend return. No stderr may contain one of them.
const std::vector<std::string> kSecrets = {
    "api-key-Zq81xv",          "pg-pass-Hy27wq",       "80417293",      "line1\n\"quoted\"\\tail",
    "val-api_key",             "val-db_password",      "val-token",   "mysql-pass-Kk39rt",
    "value-of-token",          "value-of-api_key",     "value-of-db_password",
    "pg-demo-Passw0rd!",       "demo-key-passphrase",  "Bearer demo-token-91b2",
};

void expect_no_secret_in(const CommandResult& r) {
  for (const auto& s : kSecrets) {
    INFO("stderr: " << r.err);
    CHECK(r.err.find(s) == std::string::npos);
  }
}

// The `stsecrets: error: ` lines of a stderr (log lines are interleaved at trace level).
std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("stsecrets: error: ", 0) == 0) out.push_back(line);
  }
  return out;
}

std::vector<std::string> base_env(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LANG=C"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

struct Run {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string input;
  std::optional<unsigned> umask_value;
  std::string cwd;
};

CommandResult cli(const Run& run) {
  std::vector<std::string> argv = {STS_CLI, "--log-level", "trace"};
  argv.insert(argv.end(), run.args.begin(), run.args.end());
  CommandResult r = run_command(argv, run.input, base_env(run.env), std::chrono::seconds(60), run.umask_value, run.cwd);
  expect_no_secret_in(r);
  return r;
}

CommandResult cli(std::vector<std::string> args, std::vector<std::string> env = {}) {
  return cli(Run{std::move(args), std::move(env), {}, std::nullopt, {}});
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777u;
}

// A temp folder with a secrets folder for the file backend and configs for both backends.
struct Setup {
  TempDir dir;
  std::string secrets = dir / "secrets";

  Setup() {
    fs::create_directory(secrets);
    fs::permissions(secrets, fs::perms::owner_all);
    write_file(secrets + "/api_key", "api-key-Zq81xv");
    write_file(secrets + "/db_password", "pg-pass-Hy27wq");
    write_file(secrets + "/pin", "80417293");
    write_file(secrets + "/tricky", "line1\n\"quoted\"\\tail");
    write_file(secrets + "/mysql_password", "mysql-pass-Kk39rt");
  }

  std::string file_config(const std::string& body = "api_key: ENC[api_key]\n") const {
    std::string path = dir / "stackstate.yaml";
    write_file(path, body + "secret_backend_type: file\nsecret_backend_config:\n  root: " + secrets + "\n");
    return path;
  }

  // The fake backend copied into a private folder (the checks want 0700, owned by us).
  std::string backend(unsigned mode = 0700) const {
    std::string bin = dir / "bin";
    fs::create_directories(bin);
    fs::permissions(bin, fs::perms::owner_all);
    std::string path = bin + "/backend";
    write_file(path, read_file(STS_FAKE_BACKEND), mode);
    return path;
  }

  std::string exec_config(const std::vector<std::string>& arguments, const std::string& body = "api_key: ENC[api_key]\n",
                          unsigned mode = 0700) const {
    std::string args;
    for (const auto& a : arguments) args += (args.empty() ? "" : ", ") + a;
    std::string path = dir / "stackstate.yaml";
    write_file(path, body + "secret_backend_command: " + backend(mode) + "\nsecret_backend_arguments: [" + args +
                         "]\nsecret_backend_timeout: 10\n");
    return path;
  }

  std::string conf(const std::string& name, const std::string& body) const {
    std::string path = dir / name;
    fs::create_directories(fs::path(path).parent_path());
    write_file(path, body);
    return path;
  }
};

const char* kPostgres =
    "init_config:\n"
    "instances:\n"
    "  - host: db.example.com\n"
    "    port: 5432\n"
    "    password: ENC[db_password]\n"
    "    pin: ENC[pin]\n"
    "    quoted_port: '5432'\n"
    "    nested:\n"
    "      - note: ENC[tricky]\n";

// ---- usage --------------------------------------------------------------------------------

TEST_CASE("cli: --version, --help, help COMMAND and COMMAND --help", "[cli]") {
  auto v = cli({"--version"});
  CHECK_EXIT(v, 0);
  CHECK(v.out.rfind("stsecrets ", 0) == 0);
  auto h = cli({"--help"});
  CHECK_EXIT(h, 0);
  CHECK(h.out.find("Usage:") != std::string::npos);
  CHECK(h.out.find("stsecrets exec") != std::string::npos);
  for (const char* cmd : {"check", "handles", "resolve", "exec", "helper"}) {
    auto a = cli({"help", cmd});
    auto b = cli({cmd, "--help"});
    CHECK_EXIT(a, 0);
    CHECK_EXIT(b, 0);
    CHECK(a.out == b.out);
    CHECK(a.out.find("Example") != std::string::npos);
  }
}

TEST_CASE("cli: unknown commands and options are exit 2 with a hint", "[cli]") {
  auto r = cli({"frobnicate"});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: unknown command 'frobnicate'; run 'stsecrets --help'"});
  r = cli({"resolve", "--bogus"});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) ==
        std::vector<std::string>{"stsecrets: error: unknown option --bogus for 'resolve'; run 'stsecrets resolve --help'"});
  r = cli({"--log-level", "loud", "check"});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{
                                  "stsecrets: error: unknown log level 'loud': use trace, debug, info, warn, error or off; "
                                  "run 'stsecrets --help'"});
  r = cli(std::vector<std::string>{});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: no command given; run 'stsecrets --help'"});
}

// ---- exit codes 0..5, each with its exact error line -------------------------------------

TEST_CASE("cli: exit 0 - resolve prints the resolved main config", "[cli][exit]") {
  Setup s;
  auto r = cli({"resolve", "--config", s.file_config()});
  CHECK_EXIT(r, 0);
  CHECK(error_lines(r.err).empty());
  YAML::Node out = YAML::Load(r.out);
  CHECK(out["api_key"].as<std::string>() == "api-key-Zq81xv");
  CHECK(out["secret_backend_type"].as<std::string>() == "file");
}

TEST_CASE("cli: exit 1 - the output cannot be written (stdout is /dev/full)", "[cli][exit]") {
  Setup s;
  std::string config = s.file_config();
  // No honest path in the command reaches exit 1 except an I/O failure of its own output (or
  // an out-of-memory/unexpected exception): the configuration and the backend are fine here.
  auto r = run_command({"/bin/sh", "-c", "exec \"$0\" --log-level trace resolve --config \"$1\" > /dev/full", STS_CLI, config},
                       {}, base_env());
  expect_no_secret_in(r);
  CHECK_EXIT(r, 1);
  CHECK(error_lines(r.err) ==
        std::vector<std::string>{"stsecrets: error: cannot write to standard output: No space left on device"});
}

TEST_CASE("cli: exit 2 - configuration errors", "[cli][exit]") {
  Setup s;
  SECTION("missing config file") {
    std::string missing = s.dir / "nope.yaml";
    auto r = cli({"resolve", "--config", missing});
    CHECK_EXIT(r, 2);
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(missing) != std::string::npos);
    CHECK(lines[0].find("No such file or directory") != std::string::npos);
  }
  SECTION("STS_CONFIG is used when --config is absent") {
    auto r = cli({"resolve"}, {"STS_CONFIG=" + s.file_config()});
    CHECK_EXIT(r, 0);
    CHECK(YAML::Load(r.out)["api_key"].as<std::string>() == "api-key-Zq81xv");
  }
  SECTION("a relative backend command") {
    std::string config = s.conf("stackstate.yaml", "api_key: ENC[api_key]\nsecret_backend_command: bin/backend\n");
    auto r = cli({"resolve", "--config", config});
    CHECK_EXIT(r, 2);
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("stsecrets: error: " + config + ": secret_backend_command", 0) == 0);
  }
  SECTION("handles but no backend: fail closed") {
    std::string config = s.conf("stackstate.yaml", "api_key: ENC[api_key]\n");
    auto r = cli({"resolve", "--config", config});
    CHECK_EXIT(r, 2);
    CHECK(r.out.empty());
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "stsecrets: error: ENC[] handles are used but no secret backend is configured: set "
                      "secret_backend_command (or secret_backend_type) in " + config +
                      "; handles are never passed through literally");
  }
  SECTION("bad handles: one located line each") {
    std::string config = s.file_config();
    std::string bad = s.conf("conf.d/bad.yaml", "instances:\n  - password: ENC[]\n    user: \"ENC[a\\tb]\"\n");
    auto r = cli({"resolve", "--config", config, bad});
    CHECK_EXIT(r, 2);
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find(bad) != std::string::npos);
    CHECK(lines[0].find("instances[0].password") != std::string::npos);
    CHECK(lines[1].find("instances[0].user") != std::string::npos);
  }
}

TEST_CASE("cli: exit 3 - the backend is rejected, with the fix", "[cli][exit]") {
  Setup s;
  std::string config = s.exec_config({"respond"}, "api_key: ENC[api_key]\n", 0755);
  std::string exe = s.dir / "bin/backend";
  auto r = cli({"resolve", "--config", config});
  CHECK_EXIT(r, 3);
  CHECK(r.out.empty());
  auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("chmod 700 " + exe) != std::string::npos);
  auto c = cli({"check", "--config", config});
  CHECK_EXIT(c, 3);
  CHECK(error_lines(c.err) == lines);
}

TEST_CASE("cli: exit 4 - the backend run fails", "[cli][exit]") {
  Setup s;
  SECTION("non-zero exit") {
    std::string config = s.exec_config({"exit-3-with-valid-json"});
    auto r = cli({"resolve", "--config", config});
    CHECK_EXIT(r, 4);
    CHECK(r.out.empty());
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(s.dir / "bin/backend") != std::string::npos);
    CHECK(lines[0].find("3") != std::string::npos);
  }
  SECTION("not JSON") {
    std::string config = s.exec_config({"bad-json"});
    auto r = cli({"check", "--config", config, "--fetch"});
    CHECK_EXIT(r, 4);
    auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(s.dir / "bin/backend") != std::string::npos);
    CHECK(r.out.find("  FAIL  backend run: ") != std::string::npos);
  }
}

TEST_CASE("cli: exit 5 - a handle cannot be resolved: every failure with its uses and cause", "[cli][exit]") {
  Setup s;
  std::string config = s.file_config();
  std::string a = s.conf("conf.d/a.yaml", "instances:\n  - password: ENC[missing_one]\n  - password: ENC[missing_one]\n");
  std::string b = s.conf("conf.d/b.yaml", "token: ENC[missing_two]\nok: ENC[db_password]\n");
  auto r = cli({"resolve", "--config", config, a, b});
  CHECK_EXIT(r, 5);
  CHECK(r.out.empty());
  CHECK(error_lines(r.err) ==
        std::vector<std::string>{
            "stsecrets: error: handle \"missing_one\" (used at " + a + ": instances[0].password, " + a +
                ": instances[1].password): secret \"missing_one\": no file " + s.secrets + "/missing_one",
            "stsecrets: error: handle \"missing_two\" (used at " + b + ": token): secret \"missing_two\": no file " +
                s.secrets + "/missing_two",
        });
}

// ---- resolve ------------------------------------------------------------------------------

TEST_CASE("cli: resolve writes nothing when a handle fails", "[cli][resolve]") {
  Setup s;
  std::string config = s.file_config();
  std::string good = s.conf("conf.d/good.yaml", kPostgres);
  std::string bad = s.conf("conf.d/bad.yaml", "password: ENC[nope]\n");
  std::string out_dir = s.dir / "out";
  auto r = cli({"resolve", "--config", config, good, bad, "--output-dir", out_dir});
  CHECK_EXIT(r, 5);
  CHECK_FALSE(fs::exists(out_dir));
  std::string out_file = s.dir / "single.yaml";
  r = cli({"resolve", "--config", config, bad, "-o", out_file});
  CHECK_EXIT(r, 5);
  CHECK_FALSE(fs::exists(out_file));
  // An existing output is left as it was.
  write_file(out_file, "old\n");
  r = cli({"resolve", "--config", config, bad, "-o", out_file});
  CHECK_EXIT(r, 5);
  CHECK(read_file(out_file) == "old\n");
}

TEST_CASE("cli: resolve creates 0600 files even under umask 000", "[cli][resolve]") {
  Setup s;
  std::string config = s.file_config();
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  std::string out_file = s.dir / "resolved.yaml";
  auto r = cli(Run{{"resolve", "--config", config, pg, "-o", out_file}, {}, {}, 0000u, {}});
  CHECK_EXIT(r, 0);
  CHECK(r.out.empty());
  CHECK(mode_of(out_file) == 0600u);
  YAML::Node doc = YAML::LoadFile(out_file);
  CHECK(doc["instances"][0]["password"].as<std::string>() == "pg-pass-Hy27wq");

  std::string out_dir = s.dir / "outdir";
  r = cli(Run{{"resolve", "--config", config, pg, "--output-dir", out_dir}, {}, {}, 0000u, {}});
  CHECK_EXIT(r, 0);
  CHECK(mode_of(out_dir) == 0700u);
  CHECK(mode_of(out_dir + "/postgres.yaml") == 0600u);
  // No temporary file is left beside the outputs.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(out_dir)) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("cli: resolve keeps secrets strings and other scalars as they were (YAML)", "[cli][resolve]") {
  Setup s;
  std::string config = s.file_config();
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  auto r = cli({"resolve", "--config", config, pg});
  REQUIRE_EXIT(r, 0);
  YAML::Node doc = YAML::Load(r.out);
  YAML::Node inst = doc["instances"][0];
  CHECK(inst["pin"].Scalar() == "80417293");
  CHECK(inst["pin"].Tag() == "!");          // quoted: stays a string for the agent
  CHECK(inst["port"].Tag() == "?");         // plain, as in the input
  CHECK(inst["quoted_port"].Tag() == "!");  // quoted in the input, quoted in the output
  CHECK(inst["nested"][0]["note"].as<std::string>() == "line1\n\"quoted\"\\tail");
  CHECK(inst["password"].as<std::string>() == "pg-pass-Hy27wq");
  // With a FILE, the main config is resolved but not printed.
  CHECK_FALSE(doc["api_key"].IsDefined());
}

TEST_CASE("cli: resolve --json types plain scalars and keeps secrets strings", "[cli][resolve]") {
  Setup s;
  std::string config = s.file_config();
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  auto r = cli({"resolve", "--config", config, pg, "--json"});
  REQUIRE_EXIT(r, 0);
  auto j = nlohmann::json::parse(r.out);
  const auto& inst = j["instances"][0];
  CHECK(j["init_config"].is_null());
  CHECK(inst["port"] == 5432);
  CHECK(inst["quoted_port"] == "5432");
  CHECK(inst["pin"] == "80417293");
  CHECK(inst["password"] == "pg-pass-Hy27wq");
  CHECK(inst["nested"][0]["note"] == "line1\n\"quoted\"\\tail");
  // Key order is the document's.
  CHECK(r.out.find("\"host\"") < r.out.find("\"port\""));
}

TEST_CASE("cli: resolve with several files: --output-dir, stdout markers, JSON by file", "[cli][resolve]") {
  Setup s;
  std::string config = s.file_config();
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  std::string my = s.conf("conf.d/mysql.yaml", "instances:\n  - pass: ENC[mysql_password]\n");

  std::string out_dir = s.dir / "out";
  auto r = cli({"resolve", "--config", config, pg, my, "--output-dir", out_dir});
  REQUIRE_EXIT(r, 0);
  CHECK(YAML::LoadFile(out_dir + "/postgres.yaml")["instances"][0]["password"].as<std::string>() == "pg-pass-Hy27wq");
  CHECK(YAML::LoadFile(out_dir + "/mysql.yaml")["instances"][0]["pass"].as<std::string>() == "mysql-pass-Kk39rt");

  r = cli({"resolve", "--config", config, pg, my, "--output-dir", s.dir / "jout", "--json"});
  REQUIRE_EXIT(r, 0);
  CHECK(nlohmann::json::parse(read_file(s.dir / "jout/mysql.json"))["instances"][0]["pass"] == "mysql-pass-Kk39rt");

  r = cli({"resolve", "--config", config, pg, my});
  REQUIRE_EXIT(r, 0);
  CHECK(r.out.find("--- # " + pg + "\n") == 0);
  CHECK(r.out.find("--- # " + my + "\n") != std::string::npos);
  auto docs = YAML::LoadAll(r.out);
  REQUIRE(docs.size() == 2);
  CHECK(docs[1]["instances"][0]["pass"].as<std::string>() == "mysql-pass-Kk39rt");

  r = cli({"resolve", "--config", config, pg, my, "--json"});
  REQUIRE_EXIT(r, 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j[my]["instances"][0]["pass"] == "mysql-pass-Kk39rt");
  CHECK(j[pg]["instances"][0]["port"] == 5432);
}

TEST_CASE("cli: resolve refuses ambiguous or dangerous outputs before running anything", "[cli][resolve]") {
  Setup s;
  // A backend that would fail if it ran: these errors must come first.
  std::string config = s.exec_config({"exit-3-with-valid-json"});
  std::string a = s.conf("a/app.yaml", "x: ENC[api_key]\n");
  std::string b = s.conf("b/app.yaml", "y: ENC[api_key]\n");
  std::string out_dir = s.dir / "out";
  auto r = cli({"resolve", "--config", config, a, b, "--output-dir", out_dir});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: two inputs would both be written to " + out_dir +
                                                       "/app.yaml: " + a + " and " + b +
                                                       "; resolve them in separate runs"});
  r = cli({"resolve", "--config", config, a, b, "-o", s.dir / "x.yaml"});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: -o writes one document but there are 2; use "
                                                       "--output-dir DIR; run 'stsecrets resolve --help'"});
  r = cli({"resolve", "--config", config, a, "-o", a});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: refusing to write resolved secrets over the input "
                                                       "file " + a + "; choose another output"});
  CHECK(read_file(a) == "x: ENC[api_key]\n");
  r = cli({"resolve", "--config", config, a, "-o", s.dir / "x", "--output-dir", out_dir});
  CHECK_EXIT(r, 2);
}

TEST_CASE("cli: resolve with an executable backend makes one run for all files", "[cli][resolve]") {
  Setup s;
  std::string log = s.dir / "request.json";
  std::string config = s.exec_config({"echo-request", log});
  std::string a = s.conf("conf.d/a.yaml", "x: ENC[db_password]\ny: ENC[token]\n");
  std::string b = s.conf("conf.d/b.yaml", "z: ENC[token]\n");
  auto r = cli({"resolve", "--config", config, a, b, "--json"});
  REQUIRE_EXIT(r, 0);
  CHECK(read_file(log) == R"({"version":"1.0","secrets":["api_key","db_password","token"]})");
  auto j = nlohmann::json::parse(r.out);
  CHECK(j[b]["z"] == "value-of-token");
}

// ---- handles ------------------------------------------------------------------------------

TEST_CASE("cli: handles lists every use, from files and STS_* variables, and runs nothing", "[cli][handles]") {
  Setup s;
  // A backend that would fail: handles must not run it.
  std::string config = s.exec_config({"exit-3-with-valid-json"});
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  std::vector<std::string> env = {"STS_HOSTNAME=ENC[host_name]"};
  auto r = cli({"handles", "--config", config, pg}, env);
  REQUIRE_EXIT(r, 0);
  CHECK(r.out == "api_key\n    " + config + ": api_key\n" +
                     "db_password\n    " + pg + ": instances[0].password\n" +
                     "host_name\n    environment: STS_HOSTNAME\n" +
                     "pin\n    " + pg + ": instances[0].pin\n" +
                     "tricky\n    " + pg + ": instances[0].nested[0].note\n");
  r = cli({"handles", "--config", config, pg, "--json"}, env);
  REQUIRE_EXIT(r, 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["handles"].size() == 5);
  CHECK(j["handles"][2]["handle"] == "host_name");
  CHECK(j["handles"][2]["uses"][0] == nlohmann::json{{"origin", "environment"}, {"key_path", "STS_HOSTNAME"}, {"kind", "env"}});
  CHECK(j["handles"][4]["uses"][0]["key_path"] == "instances[0].nested[0].note");
}

TEST_CASE("cli: handles reports each bad handle with its place, exit 2", "[cli][handles]") {
  Setup s;
  std::string config = s.file_config();
  std::string bad = s.conf("bad.yaml", "a: ENC[]\nb:\n  - c: ENC[ok]\n  - d: ENC[]\n");
  auto r = cli({"handles", "--config", config, bad});
  CHECK_EXIT(r, 2);
  CHECK(r.out.empty());
  auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find(bad) != std::string::npos);
  CHECK(lines[0].find(": a") != std::string::npos);
  CHECK(lines[1].find("b[1].d") != std::string::npos);
}

// ---- exec ---------------------------------------------------------------------------------

TEST_CASE("cli: exec gives COMMAND the resolved values", "[cli][exec]") {
  Setup s;
  std::string config = s.file_config();
  auto r = cli({"exec", "--config", config, "--", "/usr/bin/env"},
               {"DB_PASSWORD=ENC[db_password]", "PLAIN=keep-me", "NOT_A_HANDLE=x-ENC[db_password]"});
  REQUIRE_EXIT(r, 0);
  CHECK(r.out.find("DB_PASSWORD=pg-pass-Hy27wq\n") != std::string::npos);
  CHECK(r.out.find("PLAIN=keep-me\n") != std::string::npos);
  CHECK(r.out.find("NOT_A_HANDLE=x-ENC[db_password]\n") != std::string::npos);
  // PATH search, and options end at COMMAND.
  r = cli({"exec", "--config", config, "sh", "-c", "printf %s \"$API\""}, {"API=ENC[api_key]"});
  CHECK_EXIT(r, 0);
  CHECK(r.out == "api-key-Zq81xv");
}

TEST_CASE("cli: exec's exit status and signals are COMMAND's", "[cli][exec]") {
  Setup s;
  std::string config = s.file_config();
  auto r = cli({"exec", "--config", config, "--", "/bin/sh", "-c", "exit 7"}, {"X=ENC[api_key]"});
  CHECK_EXIT(r, 7);
  r = cli({"exec", "--config", config, "--", "/bin/sh", "-c", "kill -TERM $$"}, {"X=ENC[api_key]"});
  CHECK_EXIT(r, -1);
  CHECK(r.signal == SIGTERM);
}

TEST_CASE("cli: exec runs nothing when a handle cannot be resolved", "[cli][exec]") {
  Setup s;
  std::string config = s.file_config();
  std::string marker = s.dir / "ran";
  auto r = cli({"exec", "--config", config, "--", "/bin/sh", "-c", "touch " + marker},
               {"GOOD=ENC[api_key]", "BAD=ENC[no_such]"});
  CHECK_EXIT(r, 5);
  CHECK_FALSE(fs::exists(marker));
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: handle \"no_such\" (used at environment: BAD): "
                                                       "secret \"no_such\": no file " + s.secrets + "/no_such"});
  r = cli({"exec", "--config", config, "--", s.dir / "no-such-program"});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: cannot execute " + (s.dir / "no-such-program") +
                                                       ": no such command (searched PATH); check its name"});
}

// ---- helper read-file ---------------------------------------------------------------------

nlohmann::json helper(const std::string& dir, const std::vector<std::string>& handles, int expect_exit = 0) {
  std::string request = nlohmann::json{{"version", "1.0"}, {"secrets", handles}}.dump();
  auto r = cli(Run{{"helper", "read-file", dir}, {}, request, std::nullopt, {}});
  REQUIRE(r.exit_code == expect_exit);
  CHECK(r.err.find("stsecrets: error") == std::string::npos);
  return nlohmann::json::parse(r.out);
}

TEST_CASE("cli: helper read-file answers values and per-handle errors", "[cli][helper]") {
  Setup s;
  TempDir outside;
  write_file(outside / "stolen", "outside-secret");
  fs::create_symlink(outside / "stolen", s.secrets + "/link_out");
  fs::create_symlink(s.secrets + "/api_key", s.secrets + "/link_in");
  fs::create_directory(s.secrets + "/a_dir");
  write_file(s.secrets + "/big", std::string(64 * 1024 + 1, 'x'));
  write_file(s.secrets + "/exactly_64k", std::string(64 * 1024, 'y'));

  auto j = helper(s.secrets, {"api_key", "tricky", "link_in", "../secrets/api_key", "/etc/passwd", "link_out", "a_dir",
                              "big", "missing", "exactly_64k"});
  CHECK(j["api_key"] == nlohmann::json{{"value", "api-key-Zq81xv"}});
  CHECK(j["tricky"]["value"] == "line1\n\"quoted\"\\tail");
  CHECK(j["link_in"]["value"] == "api-key-Zq81xv");
  CHECK(j["exactly_64k"]["value"].get<std::string>().size() == 64 * 1024);
  for (const char* h : {"../secrets/api_key", "/etc/passwd", "link_out", "a_dir", "big", "missing"}) {
    INFO(h);
    REQUIRE(j.contains(h));
    CHECK(j[h]["value"].is_null());
    CHECK_FALSE(j[h]["error"].get<std::string>().empty());
  }
  CHECK(j["../secrets/api_key"]["error"].get<std::string>().find("\"..\" is not allowed") != std::string::npos);
  CHECK(j["/etc/passwd"]["error"].get<std::string>().find("absolute") != std::string::npos);
  CHECK(j["link_out"]["error"].get<std::string>().find("outside") != std::string::npos);
  CHECK(j["a_dir"]["error"].get<std::string>().find("directory") != std::string::npos);
  CHECK(j["big"]["error"].get<std::string>().find("larger than 65536") != std::string::npos);
  CHECK(j["missing"]["error"].get<std::string>().find("no file") != std::string::npos);
  CHECK(j.dump().find("outside-secret") == std::string::npos);
}

TEST_CASE("cli: helper read-file refuses other protocol versions and bad input", "[cli][helper]") {
  Setup s;
  auto r = cli(Run{{"helper", "read-file", s.secrets}, {}, R"({"version":"2.0","secrets":["api_key"]})", std::nullopt, {}});
  CHECK_EXIT(r, 2);
  CHECK(r.out.empty());
  auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("2.0") != std::string::npos);

  r = cli(Run{{"helper", "read-file", s.secrets}, {}, "not json", std::nullopt, {}});
  CHECK_EXIT(r, 2);
  CHECK(r.out.empty());
  r = cli(Run{{"helper", "read-file", s.dir / "nope"}, {}, R"({"version":"1.0","secrets":[]})", std::nullopt, {}});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) ==
        std::vector<std::string>{"stsecrets: error: secrets folder " + (s.dir / "nope") + ": No such file or directory"});
  r = cli({"helper", "write-file", s.secrets});
  CHECK_EXIT(r, 2);
}

TEST_CASE("cli: the helper as the executable backend, end to end", "[cli][helper]") {
  Setup s;
  // The stsecrets binary itself, copied 0700 into a private folder, as the agent would run it.
  std::string bin = s.dir / "bin";
  fs::create_directory(bin);
  fs::permissions(bin, fs::perms::owner_all);
  write_file(bin + "/stsecrets", read_file(STS_CLI), 0700);
  std::string config = s.dir / "stackstate.yaml";
  write_file(config, "api_key: ENC[api_key]\nsecret_backend_command: " + bin + "/stsecrets\n" +
                         "secret_backend_arguments: [helper, read-file, " + s.secrets + "]\n");
  std::string pg = s.conf("conf.d/postgres.yaml", kPostgres);
  auto r = cli({"resolve", "--config", config, pg, "--json"});
  REQUIRE_EXIT(r, 0);
  CHECK(nlohmann::json::parse(r.out)["instances"][0]["nested"][0]["note"] == "line1\n\"quoted\"\\tail");

  std::string bad = s.conf("conf.d/bad.yaml", "x: ENC[../etc]\n");
  r = cli({"resolve", "--config", config, bad});
  CHECK_EXIT(r, 5);
  auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("stsecrets: error: handle \"../etc\" (used at " + bad + ": x): ", 0) == 0);
  CHECK(lines[0].find("\\\"..\\\" is not allowed") == std::string::npos);
  CHECK(lines[0].find("is not allowed") != std::string::npos);
}

// ---- check (golden files) -----------------------------------------------------------------

// Compares with tests/integration/golden/<name> after replacing the temp folder with <TMP> and
// 64-hex-digit hashes with <SHA256>. STS_UPDATE_GOLDEN=1 rewrites the golden file instead.
void check_golden(const std::string& name, const std::string& actual, const std::string& tmp) {
  std::string normal = replace_all(actual, tmp, "<TMP>");
  normal = std::regex_replace(normal, std::regex("[0-9a-f]{64}"), "<SHA256>");
  std::string path = std::string(STS_SOURCE_DIR) + "/tests/integration/golden/" + name;
  if (const char* u = std::getenv("STS_UPDATE_GOLDEN"); u != nullptr && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << normal;
  }
  INFO("golden file " << path);
  CHECK(read_file(path) == normal);
}

TEST_CASE("cli: check prints the executable's facts and every rule (golden)", "[cli][check]") {
  Setup s;
  std::string config = s.exec_config({"respond"}, "api_key: ENC[api_key]\ndb: ENC[db_password]\n");
  auto r = cli({"check", "--config", config});
  CHECK_EXIT(r, 0);
  CHECK(error_lines(r.err).empty());
  check_golden("check_ok.txt", r.out, s.dir.path());

  r = cli({"check", "--config", config, "--fetch"}, {"STS_HOSTNAME=ENC[token]"});
  CHECK_EXIT(r, 0);
  check_golden("check_fetch_ok.txt", r.out, s.dir.path());
}

TEST_CASE("cli: check shows FAIL rules with their fixes and exits 3 (golden)", "[cli][check]") {
  Setup s;
  std::string config = s.exec_config({"respond"}, "api_key: ENC[api_key]\n", 0755);
  auto r = cli({"check", "--config", config, "--fetch"});
  CHECK_EXIT(r, 3);
  check_golden("check_bad_mode.txt", r.out, s.dir.path());
  auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(replace_all(lines[0], s.dir.path(), "<TMP>") ==
        "stsecrets: error: group and others have rights on <TMP>/bin/backend (mode 0755): run chmod 700 "
        "<TMP>/bin/backend");
}

TEST_CASE("cli: check --fetch reports each handle and exits 5 on a failed one (golden)", "[cli][check]") {
  Setup s;
  std::string config = s.file_config("api_key: ENC[api_key]\nproxy:\n  password: ENC[no_such]\n");
  auto r = cli({"check", "--config", config, "--fetch"});
  CHECK_EXIT(r, 5);
  check_golden("check_fetch_file_fail.txt", r.out, s.dir.path());
  CHECK(replace_all(r.err.empty() ? "" : error_lines(r.err).at(0), s.dir.path(), "<TMP>") ==
        "stsecrets: error: handle \"no_such\" (used at <TMP>/stackstate.yaml: proxy.password): secret \"no_such\": no "
        "file <TMP>/secrets/no_such");
}

TEST_CASE("cli: check without any backend configured is a configuration error", "[cli][check]") {
  Setup s;
  std::string config = s.conf("stackstate.yaml", "hostname: web-01\n");
  auto r = cli({"check", "--config", config});
  CHECK_EXIT(r, 2);
  CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: no secret backend is configured in " + config +
                                                       ": set secret_backend_command (or secret_backend_type, or "
                                                       "multi_secret_backends)"});
}

// ---- logs never carry values ----------------------------------------------------------------

TEST_CASE("cli: a backend that echoes secrets to stderr does not leak them into our stderr", "[cli][logs]") {
  Setup s;
  std::string config = s.exec_config({"echo-secret-to-stderr"}, "api_key: ENC[api_key]\ndb: ENC[db_password]\n");
  auto r = cli({"resolve", "--config", config});   // cli() asserts no value in stderr at trace level
  CHECK_EXIT(r, 0);
  CHECK(r.out.find("val-api_key") != std::string::npos);
  CHECK_FALSE(r.err.empty());
}

}  // namespace

// ---- the examples folder stays runnable ---------------------------------------------------

TEST_CASE("cli: the examples resolve with the file backend", "[cli][examples]") {
  const std::string ex = std::string(STS_SOURCE_DIR) + "/examples";
  std::vector<std::string> env = {"STS_CONFIG=" + ex + "/stackstate.yaml",
                                  "STS_SECRET_BACKEND_CONFIG={root: " + ex + "/secrets}"};
  auto r = cli(Run{{"resolve", "conf.d/postgres.yaml", "conf.d/mysql.yaml", "conf.d/http_check.yaml", "--json"}, env, {},
                   std::nullopt, ex});
  REQUIRE_EXIT(r, 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["conf.d/mysql.yaml"]["instances"][0]["options"]["ssl_client_key_passphrase"] == "demo-key-passphrase");
  CHECK(j["conf.d/mysql.yaml"]["instances"][0]["comment"] == "rotated by db-ENC[ops] team");
  CHECK(j["conf.d/http_check.yaml"]["instances"][0]["headers"]["Authorization"] == "Bearer demo-token-91b2");
  CHECK(j["conf.d/postgres.yaml"]["instances"][1]["password"] == "pg-demo-Passw0rd!");
  auto h = cli(Run{{"handles", "conf.d/mysql.yaml"}, env, {}, std::nullopt, ex});
  REQUIRE_EXIT(h, 0);
  CHECK(h.out.find("{\"service\": \"mysql\", \"env\": \"prod\"}\n    conf.d/mysql.yaml: "
                   "instances[0].options.ssl_client_key_passphrase\n") != std::string::npos);
}
