// Configuration (SPEC 2): load_config, load_config_file, STS_* overrides, current_environment.
#include "stsecrets/config.h"

#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using sts::Code;
using namespace std::chrono_literals;

namespace {

sts::Result<sts::Config> load(const std::string& yaml, const sts::Environment& env = {}) {
  return sts::load_config(YAML::Load(yaml), env, "stackstate.yaml");
}

// Expects an error with code and a message fragment; returns the message for further checks.
std::string expect_error(const sts::Result<sts::Config>& r, Code code, const std::string& fragment) {
  REQUIRE_FALSE(r);
  CHECK(sts::code_name(r.error().code) == std::string(sts::code_name(code)));
  CHECK_THAT(r.error().message, Catch::Contains(fragment));
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

// The default backend's settings (an empty set when there is none).
const sts::ExecutableSettings& ex(const sts::Result<sts::Config>& r) {
  static const sts::ExecutableSettings none;
  return r && r->default_backend ? r->default_backend->exec : none;
}
bool trailing(const sts::Result<sts::Config>& r) {
  return r && r->default_backend && r->default_backend->remove_trailing_line_break;
}
std::string type_of(const sts::Result<sts::Config>& r) {
  return r && r->default_backend ? std::string(sts::backend_type_name(r->default_backend->type)) : std::string();
}
std::string root_of(const sts::Result<sts::Config>& r) {
  return r && r->default_backend ? r->default_backend->provider.root : std::string();
}

}  // namespace

TEST_CASE("config: defaults for an empty file, a null document and non-secret keys") {
  for (const char* yaml : {"", "~", "api_key: abc\nsite: example.com\nsecrets: [1, 2]\nsecretive: x\n"}) {
    auto r = load(yaml);
    REQUIRE(r);
    CHECK(ex(r).command.empty());
    CHECK(ex(r).arguments.empty());
    CHECK(ex(r).timeout == 30000ms);
    CHECK(ex(r).output_max_size == 1048576);
    CHECK_FALSE(ex(r).allow_group_exec);
    CHECK(ex(r).sha256.empty());
    CHECK_FALSE(trailing(r));
    CHECK(ex(r).environment.empty());
    CHECK(type_of(r).empty());
    CHECK(root_of(r).empty());
    CHECK(r->refresh_interval == 0ms);
    CHECK(r->audit_file.empty());
    CHECK(r->source == "stackstate.yaml");
    CHECK_FALSE(r->has_backend());
  }
}

TEST_CASE("config: every key with a good value") {
  auto r = load(R"(
secret_backend_command: /opt/backend/run
secret_backend_arguments: ["--vault", prod, "", "a b"]
secret_backend_timeout: 2.5
secret_backend_output_max_size: 4096
secret_backend_command_allow_group_exec_perm: true
secret_backend_command_sha256: ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789
secret_backend_remove_trailing_line_break: True
secret_backend_environment: [VAULT_ADDR, _X, HOME2]
secret_refresh_interval: 3600
secret_audit_file: /var/log/sts/audit.jsonl
)");
  REQUIRE(r);
  CHECK(ex(r).command == "/opt/backend/run");
  CHECK(ex(r).arguments == std::vector<std::string>{"--vault", "prod", "", "a b"});
  CHECK(ex(r).timeout == 2500ms);
  CHECK(ex(r).output_max_size == 4096);
  CHECK(ex(r).allow_group_exec);
  CHECK(ex(r).sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(trailing(r));
  CHECK(ex(r).environment == std::vector<std::string>{"VAULT_ADDR", "_X", "HOME2"});
  CHECK(r->refresh_interval == 3600000ms);
  CHECK(r->audit_file == "/var/log/sts/audit.jsonl");
  CHECK(r->has_backend());
}

TEST_CASE("config: the file backend") {
  auto r = load("secret_backend_type: file\nsecret_backend_config:\n  root: /etc/sts/secrets\n");
  REQUIRE(r);
  CHECK(type_of(r) == "file");
  CHECK(root_of(r) == "/etc/sts/secrets");
  CHECK(ex(r).command.empty());
  CHECK(r->has_backend());
}

TEST_CASE("config: timeouts are seconds, integer or decimal, rounded up to milliseconds") {
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: 1")).timeout == 1000ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: 0.0001")).timeout == 1ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: 0.0010")).timeout == 1ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: 1.2341")).timeout == 1235ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: .5")).timeout == 500ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: !!int 7")).timeout == 7000ms);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_timeout: 86400")).timeout == 86400000ms);
  CHECK(load("secret_refresh_interval: 0")->refresh_interval == 0ms);
  CHECK(load("secret_refresh_interval: 0.25")->refresh_interval == 250ms);
}

TEST_CASE("config: bad timeouts name the key, the value and what is wanted") {
  for (const char* bad : {"0", "0.0", "-1", "abc", "nan", ".nan", "inf", ".inf", "-.inf", "1e3", "0x10", "1,5", "5s",
                          "86400.001", "99999999999999999999", "+5", "."}) {
    INFO(bad);
    auto msg = expect_error(load(std::string("secret_backend_timeout: ") + bad), Code::config_invalid,
                            std::string("stackstate.yaml: secret_backend_timeout: got \"") + bad +
                                "\", want a number of seconds > 0");
  }
  expect_error(load("secret_backend_timeout: \"5\""), Code::config_invalid,
               "secret_backend_timeout: got the quoted string \"5\", want a number of seconds > 0");
  expect_error(load("secret_backend_timeout: !!str 5"), Code::config_invalid, "secret_backend_timeout: got \"5\"");
  expect_error(load("secret_backend_timeout: [5]"), Code::config_invalid, "secret_backend_timeout: got a list, want");
  expect_error(load("secret_backend_timeout: {a: 1}"), Code::config_invalid, "secret_backend_timeout: got a map, want");
  expect_error(load("secret_refresh_interval: -1"), Code::config_invalid,
               "secret_refresh_interval: got \"-1\", want a number of seconds >= 0");
  expect_error(load("secret_refresh_interval: 31536001"), Code::config_invalid, "at most 31536000");
}

TEST_CASE("config: output_max_size is a positive whole number up to 1 GiB") {
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_output_max_size: 1")).output_max_size == 1);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_output_max_size: 1073741824")).output_max_size == 1073741824);
  for (const char* bad : {"0", "-1", "1.5", "1e6", "1073741825", "99999999999999999999999", "abc", "1_000"}) {
    INFO(bad);
    expect_error(load(std::string("secret_backend_output_max_size: ") + bad), Code::config_invalid,
                 std::string("secret_backend_output_max_size: got \"") + bad +
                     "\", want a whole number of bytes from 1 to 1073741824 (1 GiB)");
  }
}

TEST_CASE("config: booleans are true or false only") {
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_command_allow_group_exec_perm: false")).allow_group_exec == false);
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_command_allow_group_exec_perm: TRUE")).allow_group_exec == true);
  CHECK(trailing(load("secret_backend_command: /b\n" "secret_backend_remove_trailing_line_break: !!bool true")));
  for (const char* bad : {"yes", "no", "on", "off", "y", "n", "1", "0", "Yes"}) {
    INFO(bad);
    expect_error(load(std::string("secret_backend_command_allow_group_exec_perm: ") + bad), Code::config_invalid,
                 std::string("secret_backend_command_allow_group_exec_perm: got \"") + bad +
                     "\", want true or false (yes/no/on/off/y/n/1/0 are not accepted)");
  }
  expect_error(load("secret_backend_remove_trailing_line_break: maybe"), Code::config_invalid,
               "secret_backend_remove_trailing_line_break: got \"maybe\", want true or false");
  expect_error(load("secret_backend_remove_trailing_line_break: \"true\""), Code::config_invalid,
               "got the quoted string \"true\", want true or false, without quotes");
  expect_error(load("secret_backend_remove_trailing_line_break: [true]"), Code::config_invalid, "got a list");
}

TEST_CASE("config: command and audit file must be absolute paths") {
  expect_error(load("secret_backend_command: bin/backend"), Code::config_invalid,
               "stackstate.yaml: secret_backend_command: got \"bin/backend\", want an absolute path");
  expect_error(load("secret_backend_command: ./backend"), Code::config_invalid, "want an absolute path");
  expect_error(load("secret_backend_command: [/a]"), Code::config_invalid, "secret_backend_command: got a list");
  expect_error(load("secret_backend_command: \"/opt/a\\0b\""), Code::config_invalid,
               "secret_backend_command: contains a NUL byte");
  expect_error(load("secret_audit_file: audit.jsonl"), Code::config_invalid,
               "secret_audit_file: got \"audit.jsonl\", want an absolute path");
  // Empty string and null mean unset.
  auto r = load("secret_backend_command: \"\"\nsecret_audit_file:\n");
  REQUIRE(r);
  CHECK(ex(r).command.empty());
  CHECK(r->audit_file.empty());
}

TEST_CASE("config: arguments and environment lists") {
  expect_error(load("secret_backend_arguments: --a"), Code::config_invalid,
               "secret_backend_arguments: got \"--a\", want a list of strings");
  expect_error(load("secret_backend_arguments: [a, [b]]"), Code::config_invalid,
               "secret_backend_arguments[1]: got a list, want a string");
  expect_error(load("secret_backend_arguments: [a, {b: c}]"), Code::config_invalid,
               "secret_backend_arguments[1]: got a map, want a string");
  expect_error(load("secret_backend_arguments: [a, ~]"), Code::config_invalid,
               "secret_backend_arguments[1]: got null, want a string");
  expect_error(load("secret_backend_arguments: [\"a\\0\"]"), Code::config_invalid,
               "secret_backend_arguments[0]: contains a NUL byte");
  expect_error(load("secret_backend_environment: HOME"), Code::config_invalid,
               "secret_backend_environment: got \"HOME\", want a list of variable names");
  expect_error(load("secret_backend_environment: [HOME, 1BAD]"), Code::config_invalid,
               "secret_backend_environment[1]: got \"1BAD\", want a variable name");
  expect_error(load("secret_backend_environment: [\"A=B\"]"), Code::config_invalid,
               "secret_backend_environment[0]: got \"A=B\", want a variable name");
  expect_error(load("secret_backend_environment: [\"\"]"), Code::config_invalid,
               "secret_backend_environment[0]: got \"\", want a variable name");
}

TEST_CASE("config: sha256 is 64 hex digits, normalised to lower case") {
  expect_error(load("secret_backend_command_sha256: abc"), Code::config_invalid,
               "secret_backend_command_sha256: got \"abc\", want 64 hexadecimal digits");
  expect_error(load("secret_backend_command_sha256: " + std::string(63, 'a') + "g"), Code::config_invalid,
               "want 64 hexadecimal digits");
  expect_error(load("secret_backend_command_sha256: " + std::string(65, 'a')), Code::config_invalid,
               "want 64 hexadecimal digits");
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_command_sha256: " + std::string(64, 'F'))).sha256 == std::string(64, 'f'));
  CHECK(ex(load("secret_backend_command: /b\n" "secret_backend_command_sha256: " + std::string(64, '1'))).sha256 == std::string(64, '1'));
}

TEST_CASE("config: backend type and config") {
  expect_error(load("secret_backend_type: vault\nsecret_backend_config: {root: /x}"), Code::config_invalid,
               "secret_backend_type: got \"vault\", want one of the built-in types: file, file.json, file.yaml, "
               "docker.secrets, systemd.credentials, env (an executable backend is set with secret_backend_command)");
  expect_error(load("secret_backend_type: executable"), Code::config_invalid, "want one of the built-in types");
  expect_error(load("secret_backend_type: file"), Code::config_invalid,
               "secret_backend_type is \"file\" but secret_backend_config is not set");
  expect_error(load("secret_backend_config: {root: /x}"), Code::config_invalid,
               "secret_backend_config is set but secret_backend_type is not");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: /x"), Code::config_invalid,
               "secret_backend_config: got \"/x\", want a map, e.g. {root: /path/to/secrets}");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {}"), Code::config_invalid,
               "secret_backend_config: a file backend needs root; write e.g. {root: /etc/stackstate-agent/secrets}");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {root: rel/dir}"), Code::config_invalid,
               "secret_backend_config.root: got \"rel/dir\", want an absolute path");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {root: /x, rot: /y}"), Code::config_invalid,
               "secret_backend_config.rot: unknown setting for a file backend; did you mean root?");
  expect_error(load("secret_backend_command: /opt/b\nsecret_backend_type: file\nsecret_backend_config: {root: /x}"),
               Code::config_invalid, "secret_backend_command and secret_backend_type are both set; set only one");
}

TEST_CASE("config: unknown secret_* keys are errors, with a suggestion") {
  expect_error(load("secret_backend_timout: 5"), Code::config_invalid,
               "stackstate.yaml: secret_backend_timout: unknown setting; did you mean secret_backend_timeout?");
  auto msg = expect_error(load("secret_zzzzzzzzzzzzzzzzzzzz: 1"), Code::config_invalid,
                          "secret_zzzzzzzzzzzzzzzzzzzz: unknown setting; the known settings are");
  CHECK_THAT(msg, Catch::Contains("secret_backend_command_allow_group_exec_perm"));
  // Even when its value is null.
  expect_error(load("secret_backend_comand:"), Code::config_invalid, "did you mean secret_backend_command?");
}

TEST_CASE("config: a key set twice is an error") {
  expect_error(load("secret_backend_timeout: 5\nsecret_backend_timeout: 6\n"), Code::config_invalid,
               "secret_backend_timeout: is set more than once");
}

TEST_CASE("config: handles in secret_* settings are handle_invalid") {
  expect_error(load("secret_backend_command: ENC[cmd]"), Code::handle_invalid,
               "stackstate.yaml: secret_backend_command: settings of stsecrets itself (secret_*, "
               "multi_secret_backends) cannot be ENC[] handles");
  expect_error(load("secret_backend_arguments: [a, \" ENC[x] \"]"), Code::handle_invalid,
               "secret_backend_arguments: settings of stsecrets itself");
  expect_error(load("secret_backend_type: file\nsecret_backend_config:\n  root: ENC[r]\n"), Code::handle_invalid,
               "secret_backend_config: settings of stsecrets itself");
  expect_error(load("multi_secret_backends:\n  v: {type: executable, config: {command: \"ENC[c]\"}}\n"),
               Code::handle_invalid, "multi_secret_backends: settings of stsecrets itself");
  // The same one predicate as the scan: a tagged handle in a setting is refused as well.
  expect_error(load("secret_backend_command: !custom ENC[cmd]"), Code::handle_invalid, "cannot be ENC[] handles");
  expect_error(load("secret_backend_timeout: ENC[t]"), Code::handle_invalid, "cannot be ENC[] handles");
  // Handles elsewhere are not the config's business.
  CHECK(load("api_key: ENC[api]\nsecret_backend_command: /opt/b\n"));
}

TEST_CASE("config: a root that is not a map is an error") {
  expect_error(load("- a\n- b\n"), Code::config_invalid,
               "stackstate.yaml: the main config must be a map of settings, got a list");
  expect_error(load("just text"), Code::config_invalid, "the main config must be a map of settings, got \"just text\"");
}

TEST_CASE("config: STS_ environment overrides win over the file") {
  sts::Environment env{
      {"STS_SECRET_BACKEND_COMMAND", "/opt/env backend #1"},
      {"STS_SECRET_BACKEND_TIMEOUT", "5"},
      {"STS_SECRET_BACKEND_ARGUMENTS", R"(["--a", "b c"])"},
      {"STS_SECRET_BACKEND_COMMAND_ALLOW_GROUP_EXEC_PERM", "true"},
      {"STS_SECRET_BACKEND_ENVIRONMENT", "[HOME, VAULT_TOKEN]"},
      {"STS_SECRET_BACKEND_OUTPUT_MAX_SIZE", "2048"},
      {"STS_SECRET_REFRESH_INTERVAL", "0.5"},
      {"STS_SECRET_AUDIT_FILE", "/var/log/a: b.jsonl"},
      {"STS_API_KEY", "ENC[api]"},   // not a setting of this config
      {"OTHER", "x"},
  };
  auto r = load("secret_backend_command: /opt/file\nsecret_backend_timeout: 10\nsecret_backend_arguments: [x]\n", env);
  REQUIRE(r);
  CHECK(ex(r).command == "/opt/env backend #1");
  CHECK(ex(r).timeout == 5000ms);
  CHECK(ex(r).arguments == std::vector<std::string>{"--a", "b c"});
  CHECK(ex(r).allow_group_exec);
  CHECK(ex(r).environment == std::vector<std::string>{"HOME", "VAULT_TOKEN"});
  CHECK(ex(r).output_max_size == 2048);
  CHECK(r->refresh_interval == 500ms);
  CHECK(r->audit_file == "/var/log/a: b.jsonl");

  // An empty variable is ignored.
  auto e = load("secret_backend_command: /b\nsecret_backend_timeout: 10\n", {{"STS_SECRET_BACKEND_TIMEOUT", ""}});
  REQUIRE(e);
  CHECK(ex(e).timeout == 10000ms);
}

TEST_CASE("config: the file backend from the environment") {
  sts::Environment env{{"STS_SECRET_BACKEND_TYPE", "file"}, {"STS_SECRET_BACKEND_CONFIG", "{root: /srv/secrets}"}};
  auto r = load("", env);
  REQUIRE(r);
  CHECK(type_of(r) == "file");
  CHECK(root_of(r) == "/srv/secrets");
  // Type from the environment and command from the file conflict.
  expect_error(load("secret_backend_command: /opt/b\n", env), Code::config_invalid, "are both set");
}

TEST_CASE("config: environment errors name the variable") {
  expect_error(load("", {{"STS_SECRET_BACKEND_TIMEOUT", "abc"}}), Code::config_invalid,
               "environment: STS_SECRET_BACKEND_TIMEOUT: got \"abc\", want a number of seconds > 0");
  expect_error(load("", {{"STS_SECRET_BACKEND_TIMEOUT", "-1"}}), Code::config_invalid,
               "STS_SECRET_BACKEND_TIMEOUT: got \"-1\"");
  expect_error(load("", {{"STS_SECRET_BACKEND_COMMAND", "relative/x"}}), Code::config_invalid,
               "environment: STS_SECRET_BACKEND_COMMAND: got \"relative/x\", want an absolute path");
  expect_error(load("", {{"STS_SECRET_BACKEND_ARGUMENTS", "--a b"}}), Code::config_invalid,
               "STS_SECRET_BACKEND_ARGUMENTS: got \"--a b\", want a list of strings");
  expect_error(load("", {{"STS_SECRET_BACKEND_ARGUMENTS", "[\"unterminated"}}), Code::config_invalid,
               "STS_SECRET_BACKEND_ARGUMENTS: not valid YAML at line 1");
  expect_error(load("", {{"STS_SECRET_BACKEND_ENVIRONMENT", "[OK, 9no]"}}), Code::config_invalid,
               "STS_SECRET_BACKEND_ENVIRONMENT[1]: got \"9no\", want a variable name");
  expect_error(load("", {{"STS_SECRET_BACKEND_COMMAND_ALLOW_GROUP_EXEC_PERM", "yes"}}), Code::config_invalid,
               "STS_SECRET_BACKEND_COMMAND_ALLOW_GROUP_EXEC_PERM: got \"yes\", want true or false");
  expect_error(load("", {{"STS_SECRET_BACKEND_TIMOUT", "5"}}), Code::config_invalid,
               "environment: STS_SECRET_BACKEND_TIMOUT: unknown setting (no secret_backend_timout key); did you mean "
               "secret_backend_timeout?");
  expect_error(load("", {{"STS_SECRET_BACKEND_COMMAND", "ENC[cmd]"}}), Code::handle_invalid,
               "environment: STS_SECRET_BACKEND_COMMAND: settings of stsecrets itself");
  expect_error(load("", {{"STS_SECRET_BACKEND_ARGUMENTS", "[\"ENC[x]\"]"}}), Code::handle_invalid,
               "STS_SECRET_BACKEND_ARGUMENTS: settings of stsecrets itself");
}

TEST_CASE("load_config_file: reads, parses and reports OS and syntax errors") {
  sts::test::TempDir dir;
  const std::string good = dir / "stackstate.yaml";
  sts::test::write_file(good, "api_key: ENC[k]\nsecret_backend_command: /opt/b\nsecret_backend_timeout: 3\n");
  auto r = sts::load_config_file(good, {});
  REQUIRE(r);
  CHECK(ex(r).command == "/opt/b");
  CHECK(ex(r).timeout == 3000ms);
  CHECK(r->source == good);

  const std::string empty = dir / "empty.yaml";
  sts::test::write_file(empty, "");
  auto e = sts::load_config_file(empty, {});
  REQUIRE(e);
  CHECK_FALSE(e->has_backend());

  auto missing = sts::load_config_file(dir / "nope.yaml", {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Code::config_unreadable);
  CHECK(missing.error().os_error == ENOENT);
  CHECK_THAT(missing.error().message, Catch::Equals("cannot read " + (dir / "nope.yaml") + ": No such file or directory"));

  auto is_dir = sts::load_config_file(dir.path(), {});
  REQUIRE_FALSE(is_dir);
  CHECK(is_dir.error().code == Code::config_unreadable);
  CHECK_THAT(is_dir.error().message, Catch::Contains("it is a directory, not a file"));

  // A FIFO at the config path is refused at once: the read never blocks.
  const std::string fifo = dir / "fifo.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = sts::load_config_file(fifo, {});
  REQUIRE_FALSE(f);
  CHECK(f.error().code == Code::config_unreadable);
  CHECK_THAT(f.error().message, Catch::Contains("it is not a regular file"));

  if (geteuid() != 0) {
    const std::string locked = dir / "locked.yaml";
    sts::test::write_file(locked, "a: 1\n", 0000);
    auto denied = sts::load_config_file(locked, {});
    REQUIRE_FALSE(denied);
    CHECK(denied.error().code == Code::config_unreadable);
    CHECK_THAT(denied.error().message, Catch::Contains("Permission denied"));
  }

  const std::string bad = dir / "bad.yaml";
  sts::test::write_file(bad, "a: 1\nb: [unterminated, SECRET_TEXT_IN_LINE\n");
  auto syntax = sts::load_config_file(bad, {});
  REQUIRE_FALSE(syntax);
  CHECK(syntax.error().code == Code::config_unreadable);
  CHECK_THAT(syntax.error().message, Catch::StartsWith(bad + ": not valid YAML at line ") &&
                                         Catch::Contains("fix the syntax"));
  CHECK(syntax.error().message.find("SECRET_TEXT_IN_LINE") == std::string::npos);
  CHECK(syntax.error().message.find('\n') == std::string::npos);

  // yaml-cpp appends input text to some messages ("unknown escape character: X"); it is cut.
  const std::string esc = dir / "esc.yaml";
  sts::test::write_file(esc, "a: \"bad \\q escape\"\n");
  auto escape = sts::load_config_file(esc, {});
  REQUIRE_FALSE(escape);
  CHECK_THAT(escape.error().message, Catch::Contains("not valid YAML at line 1, column") &&
                                         Catch::Contains("unknown escape character; fix the syntax"));

  const std::string bad_value = dir / "bad_value.yaml";
  sts::test::write_file(bad_value, "secret_backend_timeout: abc\n");
  auto v = sts::load_config_file(bad_value, {});
  REQUIRE_FALSE(v);
  CHECK(v.error().code == Code::config_invalid);
  CHECK_THAT(v.error().message, Catch::StartsWith(bad_value + ": secret_backend_timeout: got \"abc\""));
}

TEST_CASE("current_environment: snapshots the process environment") {
  REQUIRE(::setenv("STS_TEST_CONFIG_VAR", "a=b=c", 1) == 0);
  auto env = sts::current_environment();
  REQUIRE(env.count("STS_TEST_CONFIG_VAR") == 1);
  CHECK(env.at("STS_TEST_CONFIG_VAR") == "a=b=c");
  ::unsetenv("STS_TEST_CONFIG_VAR");
  CHECK(sts::current_environment().count("STS_TEST_CONFIG_VAR") == 0);
}

TEST_CASE("config: new keys of SPEC 2 (protocol version, scatter, audit size)") {
  auto r = load("secret_backend_command: /opt/b\nsecret_backend_protocol_version: \"1.1\"\nsecret_refresh_scatter: false\n"
                "secret_audit_file_max_size: 4096\n");
  REQUIRE(r);
  CHECK(ex(r).protocol == sts::ProtocolVersion::v1_1);
  CHECK_FALSE(r->refresh_scatter);
  CHECK(r->audit_file_max_size == 4096);
  auto d = load("");
  REQUIRE(d);
  CHECK(d->refresh_scatter);
  CHECK(d->audit_file_max_size == 10485760);
  CHECK(load("secret_audit_file_max_size: 0")->audit_file_max_size == 0);
  expect_error(load("secret_backend_protocol_version: \"2.0\""), Code::config_invalid,
               "secret_backend_protocol_version: got \"2.0\", want \"1.0\" or \"1.1\"");
  expect_error(load("secret_audit_file_max_size: 100"), Code::config_invalid,
               "secret_audit_file_max_size: got \"100\", want a whole number of bytes: 0 (never rotate) or from 4096");
  CHECK(ex(load("", {{"STS_SECRET_BACKEND_PROTOCOL_VERSION", "1.1"}, {"STS_SECRET_BACKEND_COMMAND", "/b"}})).protocol ==
        sts::ProtocolVersion::v1_1);
}

TEST_CASE("config: multi_secret_backends (SPEC 8)") {
  auto r = load(R"(
secret_backend_command: /opt/default
multi_secret_backends:
  vault: {type: executable, config: {command: /opt/sts/vault-backend, arguments: [--x], timeout: 10,
          sha256: ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789,
          allow_group_exec_perm: false, environment: [VAULT_ADDR], protocol_version: "1.1"}}
  files: {type: file, config: {root: /etc/stackstate-agent/secrets}}
  text:  {type: file.text, config: {root: /srv/t}}
  json:  {type: file.json, config: {path: /etc/stackstate-agent/secrets.json}}
  yaml:  {type: file.yaml, config: {path: /etc/s.yaml}}
  docker: {type: docker.secrets}
  creds: {type: systemd.credentials}
  vars:  {type: env, config: {allowed_keys: [DB_PASSWORD]}}
)", {{"CREDENTIALS_DIRECTORY", "/run/credentials/agent.service"}});
  REQUIRE(r);
  REQUIRE(r->named.size() == 8);
  const auto& v = r->named.at("vault");
  CHECK(v.type == sts::BackendType::executable);
  CHECK(v.name == "vault");
  CHECK(v.exec.command == "/opt/sts/vault-backend");
  CHECK(v.exec.arguments == std::vector<std::string>{"--x"});
  CHECK(v.exec.timeout == 10000ms);
  CHECK(v.exec.sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(v.exec.environment == std::vector<std::string>{"VAULT_ADDR"});
  CHECK(v.exec.protocol == sts::ProtocolVersion::v1_1);
  CHECK(r->named.at("files").provider.root == "/etc/stackstate-agent/secrets");
  CHECK(r->named.at("text").type == sts::BackendType::file);
  CHECK(r->named.at("json").provider.path == "/etc/stackstate-agent/secrets.json");
  CHECK(r->named.at("yaml").type == sts::BackendType::file_yaml);
  CHECK(r->named.at("docker").provider.root == "/run/secrets");
  CHECK(r->named.at("creds").provider.root == "/run/credentials/agent.service");
  CHECK(r->named.at("vars").provider.allowed_keys == std::vector<std::string>{"DB_PASSWORD"});
  CHECK(ex(r).command == "/opt/default");
  CHECK(r->backends().size() == 9);

  // Named backends alone are a backend configuration.
  auto only = load("multi_secret_backends: {f: {type: file, config: {root: /x}}}");
  REQUIRE(only);
  CHECK(only->has_backend());
  CHECK_FALSE(only->default_backend);

  // From the environment, as one YAML value.
  auto env = load("", {{"STS_MULTI_SECRET_BACKENDS", "{f: {type: file, config: {root: /srv/f}}}"}});
  REQUIRE(env);
  CHECK(env->named.at("f").provider.root == "/srv/f");
}

TEST_CASE("config: bad multi_secret_backends entries name the key path and the fix") {
  expect_error(load("multi_secret_backends: [a]"), Code::config_invalid,
               "stackstate.yaml: multi_secret_backends: got a list, want a map of named backends");
  expect_error(load("multi_secret_backends: {v: {config: {root: /x}}}"), Code::config_invalid,
               "multi_secret_backends.v: has no type; add type: one of executable, file");
  expect_error(load("multi_secret_backends: {v: {type: vault}}"), Code::config_invalid,
               "multi_secret_backends.v.type: got \"vault\", want one of: executable, file, file.json");
  expect_error(load("multi_secret_backends: {v: {type: file, cfg: {}}}"), Code::config_invalid,
               "multi_secret_backends.v.cfg: unknown setting; a named backend takes type and config");
  expect_error(load("multi_secret_backends: {v: {type: file}}"), Code::config_invalid,
               "multi_secret_backends.v.config: a file backend needs root; write e.g. {root: /etc/stackstate-agent/secrets}");
  expect_error(load("multi_secret_backends: {v: {type: executable, config: {}}}"), Code::config_invalid,
               "multi_secret_backends.v.config: an executable backend needs command");
  expect_error(load("multi_secret_backends: {v: {type: executable, config: {command: /b, timout: 3}}}"),
               Code::config_invalid,
               "multi_secret_backends.v.config.timout: unknown setting for an executable backend; did you mean timeout?");
  expect_error(load("multi_secret_backends: {v: {type: executable, config: {command: rel}}}"), Code::config_invalid,
               "multi_secret_backends.v.config.command: got \"rel\", want an absolute path");
  expect_error(load("multi_secret_backends: {v: {type: executable, config: {command: /b, timeout: 0}}}"),
               Code::config_invalid, "multi_secret_backends.v.config.timeout: got \"0\", want a number of seconds > 0");
  expect_error(load("multi_secret_backends: {\"a;b\": {type: file, config: {root: /x}}}"), Code::config_invalid,
               "is not a usable backend name");
  expect_error(load("multi_secret_backends: {v: {type: json, config: {path: /x}}}"), Code::config_invalid,
               "want one of: executable");
  expect_error(load("multi_secret_backends: {v: {type: env, config: {allowed_keys: [\"A B\"]}}}"), Code::config_invalid,
               "multi_secret_backends.v.config.allowed_keys[0]: got \"A B\", want a variable name");
  expect_error(load("multi_secret_backends: {v: {type: file.json, config: {path: rel.json}}}"), Code::config_invalid,
               "multi_secret_backends.v.config.path: got \"rel.json\", want an absolute path");
  expect_error(load("multi_secret_backends: {v: {type: systemd.credentials, config: {root: /x}}}"),
               Code::config_invalid, "unknown setting for a systemd.credentials backend; it takes no settings");
}

TEST_CASE("route_handle: ENC[name:key] with named backends, the default otherwise (SPEC 1)") {
  auto r = load("secret_backend_command: /opt/default\nmulti_secret_backends: {vault: {type: file, config: {root: /v}}}");
  REQUIRE(r);
  auto named = sts::route_handle(*r, "vault;db/password");
  REQUIRE(named);
  CHECK(named->backend->name == "vault");
  CHECK(named->key == "db/password");
  auto plain = sts::route_handle(*r, "db_password");
  REQUIRE(plain);
  CHECK(plain->backend->name.empty());
  CHECK(plain->key == "db_password");
  // Split at the first ';' only.
  auto two = sts::route_handle(*r, "vault;a;b");
  REQUIRE(two);
  CHECK(two->key == "a;b");
  auto unknown = sts::route_handle(*r, "vualt;x");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Code::backend_unknown);
  CHECK_THAT(unknown.error().message,
             Catch::Contains("ENC[vualt;...] names the backend \"vualt\", which multi_secret_backends does not define "
                             "(it defines vault); fix the name or add the backend"));
  // Without multi_secret_backends ';' is an ordinary character (StackState 4.1).
  auto single = load("secret_backend_command: /opt/default");
  auto semi = sts::route_handle(*single, "vault;x");
  REQUIRE(semi);
  CHECK(semi->key == "vault;x");
  // Fail closed: no default backend for a handle without a name.
  auto none = load("multi_secret_backends: {vault: {type: file, config: {root: /v}}}");
  auto closed = sts::route_handle(*none, "plain");
  REQUIRE_FALSE(closed);
  CHECK(closed.error().code == Code::config_no_backend);
}

TEST_CASE("config: an overridden setting is not read from the file (the override replaces it)") {
  // The file's value would be refused here (relative root), the environment's is used.
  auto r = load("secret_backend_type: file\nsecret_backend_config: {root: relative/dir}\nsecret_backend_timeout: abc\n",
                {{"STS_SECRET_BACKEND_CONFIG", "{root: /srv/secrets}"}, {"STS_SECRET_BACKEND_TIMEOUT", "5"}});
  REQUIRE(r);
  CHECK(root_of(r) == "/srv/secrets");
  // Not overridden: still refused.
  expect_error(load("secret_backend_timeout: abc\n", {{"STS_SECRET_BACKEND_TIMEOUT", ""}}), Code::config_invalid,
               "secret_backend_timeout: got \"abc\"");
}
