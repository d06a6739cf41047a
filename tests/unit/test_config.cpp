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

sts::Result<sts::BackendConfig> load(const std::string& yaml, const sts::Environment& env = {}) {
  return sts::load_config(YAML::Load(yaml), env, "stackstate.yaml");
}

// Expects an error with code and a message fragment; returns the message for further checks.
std::string expect_error(const sts::Result<sts::BackendConfig>& r, Code code, const std::string& fragment) {
  REQUIRE_FALSE(r);
  CHECK(sts::code_name(r.error().code) == std::string(sts::code_name(code)));
  CHECK_THAT(r.error().message, Catch::Contains(fragment));
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: defaults for an empty file, a null document and non-secret keys") {
  for (const char* yaml : {"", "~", "api_key: abc\nsite: example.com\nsecrets: [1, 2]\nsecretive: x\n"}) {
    auto r = load(yaml);
    REQUIRE(r);
    CHECK(r->command.empty());
    CHECK(r->arguments.empty());
    CHECK(r->timeout == 30000ms);
    CHECK(r->output_max_size == 1048576);
    CHECK_FALSE(r->allow_group_exec);
    CHECK(r->sha256.empty());
    CHECK_FALSE(r->remove_trailing_line_break);
    CHECK(r->environment.empty());
    CHECK(r->backend_type.empty());
    CHECK(r->file_root.empty());
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
  CHECK(r->command == "/opt/backend/run");
  CHECK(r->arguments == std::vector<std::string>{"--vault", "prod", "", "a b"});
  CHECK(r->timeout == 2500ms);
  CHECK(r->output_max_size == 4096);
  CHECK(r->allow_group_exec);
  CHECK(r->sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK(r->remove_trailing_line_break);
  CHECK(r->environment == std::vector<std::string>{"VAULT_ADDR", "_X", "HOME2"});
  CHECK(r->refresh_interval == 3600000ms);
  CHECK(r->audit_file == "/var/log/sts/audit.jsonl");
  CHECK(r->has_backend());
}

TEST_CASE("config: the file backend") {
  auto r = load("secret_backend_type: file\nsecret_backend_config:\n  root: /etc/sts/secrets\n");
  REQUIRE(r);
  CHECK(r->backend_type == "file");
  CHECK(r->file_root == "/etc/sts/secrets");
  CHECK(r->command.empty());
  CHECK(r->has_backend());
}

TEST_CASE("config: timeouts are seconds, integer or decimal, rounded up to milliseconds") {
  CHECK(load("secret_backend_timeout: 1")->timeout == 1000ms);
  CHECK(load("secret_backend_timeout: 0.0001")->timeout == 1ms);
  CHECK(load("secret_backend_timeout: 0.0010")->timeout == 1ms);
  CHECK(load("secret_backend_timeout: 1.2341")->timeout == 1235ms);
  CHECK(load("secret_backend_timeout: .5")->timeout == 500ms);
  CHECK(load("secret_backend_timeout: !!int 7")->timeout == 7000ms);
  CHECK(load("secret_backend_timeout: 86400")->timeout == 86400000ms);
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
  CHECK(load("secret_backend_output_max_size: 1")->output_max_size == 1);
  CHECK(load("secret_backend_output_max_size: 1073741824")->output_max_size == 1073741824);
  for (const char* bad : {"0", "-1", "1.5", "1e6", "1073741825", "99999999999999999999999", "abc", "1_000"}) {
    INFO(bad);
    expect_error(load(std::string("secret_backend_output_max_size: ") + bad), Code::config_invalid,
                 std::string("secret_backend_output_max_size: got \"") + bad +
                     "\", want a whole number of bytes from 1 to 1073741824 (1 GiB)");
  }
}

TEST_CASE("config: booleans are true or false only") {
  CHECK(load("secret_backend_command_allow_group_exec_perm: false")->allow_group_exec == false);
  CHECK(load("secret_backend_command_allow_group_exec_perm: TRUE")->allow_group_exec == true);
  CHECK(load("secret_backend_remove_trailing_line_break: !!bool true")->remove_trailing_line_break);
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
  CHECK(r->command.empty());
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
  CHECK(load("secret_backend_command_sha256: " + std::string(64, 'F'))->sha256 == std::string(64, 'f'));
  CHECK(load("secret_backend_command_sha256: " + std::string(64, '1'))->sha256 == std::string(64, '1'));
}

TEST_CASE("config: backend type and config") {
  expect_error(load("secret_backend_type: vault\nsecret_backend_config: {root: /x}"), Code::config_invalid,
               "secret_backend_type: got \"vault\", want one of: file");
  expect_error(load("secret_backend_type: file"), Code::config_invalid,
               "secret_backend_type is \"file\" but secret_backend_config is not set");
  expect_error(load("secret_backend_config: {root: /x}"), Code::config_invalid,
               "secret_backend_config is set but secret_backend_type is not");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: /x"), Code::config_invalid,
               "secret_backend_config: got \"/x\", want a map like {root: /path/to/secrets}");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {}"), Code::config_invalid,
               "secret_backend_config: has no root");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {root: rel/dir}"), Code::config_invalid,
               "secret_backend_config.root: got \"rel/dir\", want an absolute path");
  expect_error(load("secret_backend_type: file\nsecret_backend_config: {root: /x, rot: /y}"), Code::config_invalid,
               "secret_backend_config.rot: unknown setting; the file backend accepts only root");
  expect_error(load("secret_backend_command: /opt/b\nsecret_backend_type: file\nsecret_backend_config: {root: /x}"),
               Code::config_invalid, "secret_backend_command and secret_backend_type are both set; set only one");
}

TEST_CASE("config: unknown secret_* keys are errors, with a suggestion") {
  expect_error(load("secret_backend_timout: 5"), Code::config_invalid,
               "stackstate.yaml: secret_backend_timout: unknown setting; did you mean secret_backend_timeout?");
  auto msg = expect_error(load("secret_zzzzzzzzzzzzzzzzzzzz: 1"), Code::config_invalid,
                          "secret_zzzzzzzzzzzzzzzzzzzz: unknown setting; the known secret_* settings are");
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
               "stackstate.yaml: secret_backend_command: secret_* settings cannot be ENC[] handles");
  expect_error(load("secret_backend_arguments: [a, \" ENC[x] \"]"), Code::handle_invalid,
               "secret_backend_arguments: secret_* settings cannot be ENC[] handles");
  expect_error(load("secret_backend_type: file\nsecret_backend_config:\n  root: ENC[r]\n"), Code::handle_invalid,
               "secret_backend_config: secret_* settings cannot be ENC[] handles");
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
  CHECK(r->command == "/opt/env backend #1");
  CHECK(r->timeout == 5000ms);
  CHECK(r->arguments == std::vector<std::string>{"--a", "b c"});
  CHECK(r->allow_group_exec);
  CHECK(r->environment == std::vector<std::string>{"HOME", "VAULT_TOKEN"});
  CHECK(r->output_max_size == 2048);
  CHECK(r->refresh_interval == 500ms);
  CHECK(r->audit_file == "/var/log/a: b.jsonl");

  // An empty variable is ignored.
  auto e = load("secret_backend_timeout: 10\n", {{"STS_SECRET_BACKEND_TIMEOUT", ""}});
  REQUIRE(e);
  CHECK(e->timeout == 10000ms);
}

TEST_CASE("config: the file backend from the environment") {
  sts::Environment env{{"STS_SECRET_BACKEND_TYPE", "file"}, {"STS_SECRET_BACKEND_CONFIG", "{root: /srv/secrets}"}};
  auto r = load("", env);
  REQUIRE(r);
  CHECK(r->backend_type == "file");
  CHECK(r->file_root == "/srv/secrets");
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
               "environment: STS_SECRET_BACKEND_COMMAND: secret_* settings cannot be ENC[] handles");
  expect_error(load("", {{"STS_SECRET_BACKEND_ARGUMENTS", "[\"ENC[x]\"]"}}), Code::handle_invalid,
               "STS_SECRET_BACKEND_ARGUMENTS: secret_* settings cannot be ENC[] handles");
}

TEST_CASE("load_config_file: reads, parses and reports OS and syntax errors") {
  sts::test::TempDir dir;
  const std::string good = dir / "stackstate.yaml";
  sts::test::write_file(good, "api_key: ENC[k]\nsecret_backend_command: /opt/b\nsecret_backend_timeout: 3\n");
  auto r = sts::load_config_file(good, {});
  REQUIRE(r);
  CHECK(r->command == "/opt/b");
  CHECK(r->timeout == 3000ms);
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
  CHECK_THAT(is_dir.error().message, Catch::Contains("Is a directory"));

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
