// `stsecrets backend` (SPEC 8) driven the way an unmodified StackState or Datadog agent drives its
// secret_backend_command. The harness below models the agents' Go code (StackState Agent V2
// pkg/secrets/fetch_secret.go and check_rights_nix.go; Datadog Agent comp/core/secrets):
//   - before running, it checks the executable's rights: owned by the agent's user, executable
//     by its owner, no rights at all for group or others (allow_group_exec aside);
//   - the payload is Go's json.Marshal of a map: keys in sorted order, and <, > and & escaped
//     as \u003c, \u003e, \u0026 ({"secrets":[...],"version":"1.0"});
//   - it writes the payload to stdin and closes it, reads stdout to EOF (stderr is logged),
//     and fails the whole fetch on a non-zero exit;
//   - it unmarshals stdout into map[string]{value, error string} and fails the fetch when a
//     handle is missing, has a non-empty error, or an empty value.
// Cases: 1.0 and 1.1 requests, malformed and oversized requests (exit 2, nothing on stdout), a
// duplicate handle, a handle routed to a missing backend, per-handle errors that carry no
// value, and the chain resolve -> stsecrets backend (copied 0700) -> a file.json provider and a
// named executable backend. No stderr of any run carries a value.
#include "support/cli_run.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using sts::test::CliRun;
using sts::test::CommandResult;
using sts::test::error_lines;
using sts::test::TempDir;
using sts::test::write_file;

const std::vector<std::string> kValues = {"bc-json-pg-19", "bc-json-api-28", "bc-file-tok-37", "bc-env-val-46",
                                          "bc-odd-name-55", "val-db/password", "bc-yaml-redis-64"};

// ---- the agent, as its Go code behaves ----------------------------------------------------

// check_rights_nix.go, checkUserPermission (allow_group_exec false).
std::string agent_check_rights(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "invalid executable '" + path + "': can't stat it";
  if (st.st_uid != ::geteuid()) return "invalid executable: '" + path + "' isn't owned by this user";
  if ((st.st_mode & S_IXUSR) == 0) return "invalid executable: '" + path + "' is not executable";
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) return "invalid executable '" + path + "', 'group' or 'others' have rights on it";
  return "";
}

// Go's encoding/json string literal: HTML-safe escapes included.
std::string go_json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// json.Marshal(map[string]interface{}{...}): keys sorted.
std::string go_payload(const std::vector<std::string>& handles, const std::string& version, int timeout = 0) {
  std::string secrets = "[";
  for (std::size_t i = 0; i < handles.size(); ++i) secrets += (i ? "," : "") + go_json_string(handles[i]);
  secrets += "]";
  if (version == "1.1") {
    // Datadog Agent 7.x: protocol 1.1 adds the timeout (and may add "type"/"config", which a
    // backend ignores).
    return "{\"config\":{},\"secret_backend_timeout\":" + std::to_string(timeout) + ",\"secrets\":" + secrets +
           ",\"type\":\"\",\"version\":\"1.1\"}";
  }
  return "{\"secrets\":" + secrets + ",\"version\":" + go_json_string(version) + "}";
}

struct AgentFetch {
  CommandResult run;
  std::string error;                                        // the agent's error for the fetch; "" = success
  std::map<std::string, std::string> values;                // handle -> value
  std::map<std::string, std::string> backend_errors;        // handle -> the backend's error string
  bool value_is(const std::string& h, const std::string& v) const {
    auto it = values.find(h);
    return it != values.end() && it->second == v;
  }
};

// fetchSecret(secretsHandle): run, unmarshal, and the per-handle rules.
AgentFetch agent_fetch(const std::string& command, const std::vector<std::string>& arguments,
                       const std::vector<std::string>& handles, const std::string& version = "1.0",
                       const std::vector<std::string>& agent_env = {}) {
  AgentFetch f;
  f.error = agent_check_rights(command);
  if (!f.error.empty()) return f;
  std::vector<std::string> argv{command};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "LANG=C"};
  env.insert(env.end(), agent_env.begin(), agent_env.end());
  f.run = sts::test::run_command(argv, go_payload(handles, version, 30), env, std::chrono::seconds(60));
  for (const auto& s : kValues) {
    INFO("stderr: " << f.run.err);
    CHECK(f.run.err.find(s) == std::string::npos);
  }
  if (f.run.exit_code != 0) {
    f.error = "error while running '" + command + "': exit status " + std::to_string(f.run.exit_code);
    return f;
  }
  nlohmann::json out;
  try {
    out = nlohmann::json::parse(f.run.out);
  } catch (const nlohmann::json::exception&) {
    f.error = "could not unmarshal 'secret_backend_command' output";
    return f;
  }
  if (!out.is_object()) {
    f.error = "could not unmarshal 'secret_backend_command' output";
    return f;
  }
  for (auto it = out.begin(); it != out.end(); ++it) {
    const auto& entry = it.value();
    if (!entry.is_object()) {
      f.error = "could not unmarshal 'secret_backend_command' output";
      return f;
    }
    if (entry.contains("value") && entry["value"].is_string()) f.values[it.key()] = entry["value"];
    if (entry.contains("error") && entry["error"].is_string()) f.backend_errors[it.key()] = entry["error"];
  }
  for (const auto& h : handles) {
    if (out.find(h) == out.end()) {
      f.error = "secret handle '" + h + "' was not decrypted by the secret_backend_command";
    } else if (f.backend_errors.count(h) != 0 && !f.backend_errors[h].empty()) {
      f.error = "an error occurred while decrypting '" + h + "': " + f.backend_errors[h];
    } else if (f.values[h].empty()) {
      f.error = "decrypted secret for '" + h + "' is empty";
    }
    if (!f.error.empty()) break;
  }
  return f;
}

// ---- the setup: stsecrets installed the way docs/backends.md says -------------------------

struct Install {
  TempDir dir;
  std::string bin = dir / "bin";                  // 0700, owned by the agent's user
  std::string command = bin + "/stsecrets";       // a copy of the binary, 0700
  std::string config = dir / "stsecrets.yaml";    // stsecrets' own config, not the agent's
  std::string json = dir / "secrets.json";
  std::string yaml = dir / "secrets.yaml";
  std::string files = dir / "files";

  Install() {
    for (const auto& d : {bin, files}) {
      fs::create_directories(d);
      fs::permissions(d, fs::perms::owner_all);
    }
    write_file(command, sts::test::read_file(STS_CLI), 0700);
    write_file(bin + "/vault", sts::test::read_file(STS_FAKE_BACKEND), 0700);
    write_file(json, R"({"db": {"password": "bc-json-pg-19", "port": 5432}, "api": {"key": "bc-json-api-28"}})", 0600);
    write_file(yaml, "redis: {password: bc-yaml-redis-64}\n", 0600);
    write_file(files + "/token", "bc-file-tok-37");
    write_file(files + "/x<y>&z", "bc-odd-name-55");
    write_file(config,
               "secret_backend_type: file\n"
               "secret_backend_config: {root: " + files + "}\n"
               "multi_secret_backends:\n"
               "  json: {type: file.json, config: {path: " + json + "}}\n"
               "  yaml: {type: file.yaml, config: {path: " + yaml + "}}\n"
               "  vars: {type: env, config: {allowed_keys: [BC_ENV_SECRET]}}\n"
               "  vault: {type: executable, config: {command: " + bin + "/vault, arguments: [respond], timeout: 20}}\n",
               0600);
  }

  // Trace logs on: every stderr is checked for values (agent_fetch, cli).
  std::vector<std::string> args() const { return {"backend", "--config", config, "--log-level", "trace"}; }

  CommandResult raw(const std::string& request) const {
    return sts::test::cli(CliRun{args(), {}, request, kValues});
  }
};

}  // namespace

TEST_CASE("stsecrets backend: a 1.0 request from the agent, every backend answering", "[backend-command]") {
  Install in;
  const std::vector<std::string> handles{"token",          "x<y>&z",      "json;db/password", "json;api/key",
                                         "yaml;redis/password", "vars;BC_ENV_SECRET", "vault;db/password"};
  auto f = agent_fetch(in.command, in.args(), handles, "1.0", {"BC_ENV_SECRET=bc-env-val-46"});
  INFO("stderr: " << f.run.err);
  REQUIRE(f.error.empty());
  CHECK(f.run.exit_code == 0);
  CHECK(f.value_is("token", "bc-file-tok-37"));
  CHECK(f.value_is("x<y>&z", "bc-odd-name-55"));
  CHECK(f.value_is("json;db/password", "bc-json-pg-19"));
  CHECK(f.value_is("json;api/key", "bc-json-api-28"));
  CHECK(f.value_is("yaml;redis/password", "bc-yaml-redis-64"));
  CHECK(f.value_is("vars;BC_ENV_SECRET", "bc-env-val-46"));
  CHECK(f.value_is("vault;db/password", "val-db/password"));
  CHECK(f.values.size() == handles.size());
  CHECK(f.backend_errors.empty());
}

TEST_CASE("stsecrets backend: a 1.1 request (Datadog Agent 7) with its extra fields", "[backend-command]") {
  Install in;
  auto f = agent_fetch(in.command, in.args(), {"json;db/password", "token"}, "1.1");
  INFO("stderr: " << f.run.err);
  REQUIRE(f.error.empty());
  CHECK(f.value_is("json;db/password", "bc-json-pg-19"));
  CHECK(f.value_is("token", "bc-file-tok-37"));
}

TEST_CASE("stsecrets backend: per-handle failures are error strings, never values, and the others resolve",
          "[backend-command]") {
  Install in;
  const std::vector<std::string> handles{"json;db/port", "json;db/pasword", "vars;HOME", "nosuch;key", "missing_file",
                                         "json;api/key"};
  auto f = agent_fetch(in.command, in.args(), handles);
  CHECK(f.run.exit_code == 0);
  CHECK(f.value_is("json;api/key", "bc-json-api-28"));
  CHECK(f.values.size() == 1);
  // The agent itself fails such a fetch on the first handle with an error, as its Go code does.
  CHECK(f.error.rfind("an error occurred while decrypting 'json;db/port': ", 0) == 0);

  const auto out = nlohmann::json::parse(f.run.out);
  struct Want {
    std::string handle;
    std::string fragment;
  };
  const std::vector<Want> wants{
      {"json;db/port", "key \"db/port\": the value is a number, not a string"},
      {"json;db/pasword", "key \"db/pasword\": \"db\" has no key \"pasword\""},
      {"vars;HOME", "variable \"HOME\" is not in allowed_keys"},
      {"nosuch;key",
       "ENC[nosuch;...] names the backend \"nosuch\", which multi_secret_backends does not define (it defines json, vars, "
       "vault, yaml); fix the name or add the backend"},
      {"missing_file", "no file " + in.files + "/missing_file"},
  };
  for (const auto& w : wants) {
    INFO("handle " << w.handle);
    REQUIRE(out.contains(w.handle));
    CHECK(out[w.handle]["value"].is_null());
    const std::string error = out[w.handle]["error"];
    CHECK(error.find(w.fragment) != std::string::npos);
    bool carries_value = false;
    for (const auto& v : kValues) carries_value = carries_value || error.find(v) != std::string::npos;
    CHECK_FALSE(carries_value);
  }
  // Only the resolved handle's value is anywhere on stdout.
  for (const auto& v : kValues) {
    if (v == "bc-json-api-28") continue;
    CHECK(f.run.out.find(v) == std::string::npos);
  }
}

TEST_CASE("stsecrets backend: a bad request is exit 2 with nothing on stdout", "[backend-command]") {
  Install in;
  struct Bad {
    std::string request;
    std::string fragment;
  };
  const std::vector<Bad> cases{
      {"", "request is not valid JSON"},
      {"{\"secrets\":[\"token\"],", "request is not valid JSON"},
      {R"(["token"])", "request is an array, not an object"},
      {R"({"secrets":["token"]})", "request has no \"version\" string"},
      {R"({"version":"1.0"})", "request has no \"secrets\" array"},
      {R"({"secrets":"token","version":"1.0"})", "\"secrets\" is a string, not an array"},
      {R"({"secrets":[1],"version":"1.0"})", "\"secrets\"[0] is a number, not a string"},
      {R"({"secrets":["token"],"version":"2.0"})", "unsupported protocol version \"2.0\": this backend speaks 1.x"},
      {R"({"secrets":["token"],"version":"1.0","version":"1.0"})", "request has a duplicate key \"version\""},
  };
  for (const auto& c : cases) {
    INFO("request " << c.request);
    auto r = in.raw(c.request);
    STS_CHECK_EXIT(r, 2);
    CHECK(r.out.empty());
    const auto lines = error_lines(r.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(c.fragment) != std::string::npos);
  }

  // Larger than the 1 MiB request cap: refused without reading on, nothing on stdout.
  std::string big = "{\"version\":\"1.0\",\"secrets\":[\"" + std::string(1024 * 1024, 'a') + "\"]}";
  auto r = in.raw(big);
  STS_CHECK_EXIT(r, 2);
  CHECK(r.out.empty());
  CHECK(error_lines(r.err) ==
        std::vector<std::string>{"stsecrets: error: the request on standard input is larger than 1048576 bytes"});
}

TEST_CASE("stsecrets backend: a duplicate handle in the request is answered once", "[backend-command]") {
  Install in;
  auto r = in.raw(R"({"secrets":["token","json;api/key","token"],"version":"1.0"})");
  STS_REQUIRE_EXIT(r, 0);
  const auto out = nlohmann::json::parse(r.out);   // nlohmann keeps the last of duplicate keys: count the text
  CHECK(out.size() == 2);
  std::size_t count = 0;
  for (std::size_t p = r.out.find("\"token\":"); p != std::string::npos; p = r.out.find("\"token\":", p + 1)) ++count;
  CHECK(count == 1);
  CHECK(out["token"]["value"] == "bc-file-tok-37");
}

TEST_CASE("stsecrets backend: the chain resolve -> stsecrets backend -> file.json and an executable backend",
          "[backend-command]") {
  Install in;
  // The outer side is an agent-like stsecrets with one executable backend: stsecrets backend. Its
  // handles carry ';' as an ordinary character (no multi_secret_backends outside), and the inner
  // stsecrets routes them.
  REQUIRE(agent_check_rights(in.command).empty());
  const std::string outer = in.dir / "agent.yaml";
  write_file(outer,
             "api_key: ENC[json;api/key]\n"
             "secret_backend_command: " + in.command + "\n"
             "secret_backend_arguments: [backend, --config, " + in.config + ", --log-level, trace]\n"
             "secret_backend_environment: [BC_ENV_SECRET]\n",
             0600);
  const std::string app = in.dir / "app.yaml";
  write_file(app, "instances:\n"
                  "  - password: ENC[json;db/password]\n"
                  "    vault: ENC[vault;db/password]\n"
                  "    token: ENC[token]\n"
                  "    env: ENC[vars;BC_ENV_SECRET]\n");
  auto r = sts::test::cli(CliRun{{"resolve", "--config", outer, app, "--json"}, {"BC_ENV_SECRET=bc-env-val-46"}, {}, kValues});
  STS_REQUIRE_EXIT(r, 0);
  const auto j = nlohmann::json::parse(r.out)["instances"][0];
  CHECK(j["password"] == "bc-json-pg-19");
  CHECK(j["vault"] == "val-db/password");
  CHECK(j["token"] == "bc-file-tok-37");
  CHECK(j["env"] == "bc-env-val-46");

  // An inner failure reaches the outer side as that handle's error, without a value.
  write_file(app, "instances:\n  - password: ENC[json;db/port]\n    token: ENC[token]\n");
  r = sts::test::cli(CliRun{{"resolve", "--config", outer, app}, {}, {}, kValues});
  STS_CHECK_EXIT(r, 5);
  CHECK(r.out.empty());
  const auto lines = error_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("stsecrets: error: handle \"json;db/port\" (used at " + app + ": instances[0].password): ", 0) == 0);
  CHECK(lines[0].find("the value is a number, not a string") != std::string::npos);
}
