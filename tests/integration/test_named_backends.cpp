// Named backends (SPEC 8, multi_secret_backends) end to end through the real stsecrets binary:
// every provider and an executable backend in one config, routed by ENC[name;key], through
// resolve, handles, check (--fetch) and exec; every failing input with its exit status and exact
// error lines (an unknown backend names file and key path; a failing backend fails only its own
// handles and nothing is written); and two executable backends whose runs overlap, shown by
// markers each writes and waits for, never by a clock.
#include "support/cli_run.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace {

namespace fs = std::filesystem;
using sts::test::CliRun;
using sts::test::CommandResult;
using sts::test::error_lines;
using sts::test::TempDir;
using sts::test::write_file;

// Every value a backend here can hand out (the fake backend answers "val-<key>" / "value-of-<key>").
const std::vector<std::string> kValues = {"mb-json-pg-71",   "mb-json-api-52",  "mb-yaml-redis-33", "mb-file-token-44",
                                          "mb-docker-reg-55", "mb-creds-ldap-66", "mb-env-val-77",    "mb-default-88",
                                          "val-db/password",  "value-of-db/password"};

void private_dir(const std::string& path) {
  fs::create_directories(path);
  fs::permissions(path, fs::perms::owner_all);
}

// A folder with one of each provider's stores, a copy of the fake backend, and the main config.
struct Multi {
  TempDir dir;
  std::string json = dir / "secrets.json";
  std::string yaml = dir / "secrets.yaml";
  std::string files = dir / "files";
  std::string docker = dir / "docker";
  std::string creds = dir / "creds";
  std::string bin = dir / "bin";
  std::string config = dir / "stackstate.yaml";
  std::string app = dir / "conf.d/app.yaml";

  explicit Multi(const std::string& vault_mode = "respond") {
    write_file(json, R"({"db": {"password": "mb-json-pg-71"}, "api": {"key": "mb-json-api-52"}})", 0600);
    write_file(yaml, "redis:\n  password: mb-yaml-redis-33\n", 0600);
    for (const auto& d : {files, docker, creds, bin, dir / "conf.d"}) private_dir(d);
    write_file(files + "/token", "mb-file-token-44");
    write_file(files + "/default_token", "mb-default-88");
    write_file(docker + "/registry", "mb-docker-reg-55");
    write_file(creds + "/ldap", "mb-creds-ldap-66");
    write_file(bin + "/backend", sts::test::read_file(STS_FAKE_BACKEND), 0700);
    write_config(vault_mode);
    write_file(app, "instances:\n"
                    "  - password: ENC[json;db/password]\n"
                    "    redis: ENC[yaml;redis/password]\n"
                    "    token: ENC[files;token]\n"
                    "    registry: ENC[docker;registry]\n"
                    "    ldap: ENC[creds;ldap]\n"
                    "    env: ENC[vars;MB_ENV_SECRET]\n"
                    "    vault: ENC[vault;db/password]\n"
                    "    plain: ENC[default_token]\n");
  }

  void write_config(const std::string& vault_mode, const std::string& extra = "") const {
    write_file(config, "api_key: ENC[json;api/key]\n" + extra +
                           "secret_backend_type: file\n"
                           "secret_backend_config: {root: " + files + "}\n"
                           "multi_secret_backends:\n"
                           "  json: {type: file.json, config: {path: " + json + "}}\n"
                           "  yaml: {type: file.yaml, config: {path: " + yaml + "}}\n"
                           "  files: {type: file.text, config: {root: " + files + "}}\n"
                           "  docker: {type: docker.secrets, config: {root: " + docker + "}}\n"
                           "  creds: {type: systemd.credentials}\n"
                           "  vars: {type: env, config: {allowed_keys: [MB_ENV_SECRET]}}\n"
                           "  vault: {type: executable, config: {command: " + bin + "/backend, arguments: [" +
                           vault_mode + "], timeout: 20}}\n",
               0600);
  }

  // The environment every run gets: the env provider's variable and systemd's folder.
  std::vector<std::string> env(std::vector<std::string> extra = {}) const {
    extra.push_back("MB_ENV_SECRET=mb-env-val-77");
    extra.push_back("CREDENTIALS_DIRECTORY=" + creds);
    return extra;
  }

  CommandResult run(std::vector<std::string> args, std::vector<std::string> extra_env = {}) const {
    return sts::test::cli(CliRun{std::move(args), env(std::move(extra_env)), {}, kValues});
  }
};

}  // namespace

TEST_CASE("named backends: resolve routes every handle to its backend, one batch each", "[named][resolve]") {
  Multi m("echo-request");
  // The executable backend records its request: it must hold only its own key, without "vault;".
  m.write_config("\"echo-request\", " + m.dir / "vault-request.json");
  auto r = m.run({"resolve", "--config", m.config, m.app, "--json"});
  STS_REQUIRE_EXIT(r, 0);
  const auto out = nlohmann::json::parse(r.out);
  REQUIRE(out.contains("instances"));
  const auto& app = out["instances"][0];
  CHECK(app["password"] == "mb-json-pg-71");
  CHECK(app["redis"] == "mb-yaml-redis-33");
  CHECK(app["token"] == "mb-file-token-44");
  CHECK(app["registry"] == "mb-docker-reg-55");
  CHECK(app["ldap"] == "mb-creds-ldap-66");
  CHECK(app["env"] == "mb-env-val-77");
  CHECK(app["vault"] == "value-of-db/password");
  CHECK(app["plain"] == "mb-default-88");
  CHECK(sts::test::read_file(m.dir / "vault-request.json") == R"({"version":"1.0","secrets":["db/password"]})");
  // Without FILEs the main config itself is the output.
  r = m.run({"resolve", "--config", m.config, "--json"});
  STS_REQUIRE_EXIT(r, 0);
  CHECK(nlohmann::json::parse(r.out)["api_key"] == "mb-json-api-52");
}

TEST_CASE("named backends: handles shows which backend each handle goes to, and runs nothing", "[named][handles]") {
  Multi m("exit-3-with-valid-json");   // would fail if it ran
  auto r = m.run({"handles", "--config", m.config, m.app});
  STS_REQUIRE_EXIT(r, 0);
  const std::string a = m.app + ": instances[0].";
  CHECK(r.out == "creds;ldap    (backend creds)\n    " + a + "ldap\n" +
                     "default_token\n    " + a + "plain\n" +
                     "docker;registry    (backend docker)\n    " + a + "registry\n" +
                     "files;token    (backend files)\n    " + a + "token\n" +
                     "json;api/key    (backend json)\n    " + m.config + ": api_key\n" +
                     "json;db/password    (backend json)\n    " + a + "password\n" +
                     "vars;MB_ENV_SECRET    (backend vars)\n    " + a + "env\n" +
                     "vault;db/password    (backend vault)\n    " + a + "vault\n" +
                     "yaml;redis/password    (backend yaml)\n    " + a + "redis\n");
  r = m.run({"handles", "--config", m.config, m.app, "--json"});
  STS_REQUIRE_EXIT(r, 0);
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, std::string> backend_of;
  for (const auto& h : j["handles"]) backend_of[h["handle"]] = h["backend"];
  CHECK(backend_of.at("json;db/password") == "json");
  CHECK(backend_of.at("vault;db/password") == "vault");
  CHECK(backend_of.at("default_token") == "");
}

TEST_CASE("named backends: check reports every backend, and --fetch every handle of the config", "[named][check]") {
  Multi m;
  m.write_config("respond",
                 "redis: ENC[yaml;redis/password]\ntoken: ENC[files;token]\nregistry: ENC[docker;registry]\n"
                 "ldap: ENC[creds;ldap]\nenv: ENC[vars;MB_ENV_SECRET]\nvault: ENC[vault;db/password]\n"
                 "plain: ENC[default_token]\n");
  auto r = m.run({"check", "--config", m.config});
  STS_REQUIRE_EXIT(r, 0);
  for (const std::string line :
       {"backend:  built-in file backend\n", "backend:  creds: built-in systemd.credentials backend\n",
        "backend:  docker: built-in docker.secrets backend\n", "backend:  files: built-in file backend\n",
        "backend:  json: built-in file.json backend\n", "backend:  vars: built-in env backend\n",
        "backend:  vault: executable\n", "backend:  yaml: built-in file.yaml backend\n",
        "  OK    document parses: JSON, a map at the top level, no duplicate keys\n",
        "  OK    document parses: YAML, a map at the top level, no duplicate keys\n",
        "  OK    allowed keys: MB_ENV_SECRET\n", "result:   OK\n"}) {
    INFO("line " << line);
    CHECK(r.out.find(line) != std::string::npos);
  }
  r = m.run({"check", "--config", m.config, "--fetch"});
  STS_REQUIRE_EXIT(r, 0);
  for (const std::string line :
       {"  OK    creds;ldap (", "  OK    default_token (", "  OK    docker;registry (", "  OK    files;token (",
        "  OK    json;api/key (", "  OK    vars;MB_ENV_SECRET (", "  OK    vault;db/password (",
        "  OK    yaml;redis/password ("}) {
    INFO("line " << line);
    CHECK(r.out.find(line) != std::string::npos);
  }
  r = m.run({"check", "--config", m.config, "--fetch", "--json"});
  STS_REQUIRE_EXIT(r, 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["backends"].size() == 8);
  CHECK(j["fetch"]["handles"].size() == 8);
  for (const auto& h : j["fetch"]["handles"]) CHECK(h["status"] == "ok");
}

TEST_CASE("named backends: exec gives COMMAND values from every backend", "[named][exec]") {
  Multi m;
  auto r = m.run({"exec", "--config", m.config, "--", "/usr/bin/env"},
                 {"A=ENC[json;db/password]", "B=ENC[yaml;redis/password]", "C=ENC[vault;db/password]",
                  "D=ENC[vars;MB_ENV_SECRET]", "E=ENC[creds;ldap]"});
  STS_REQUIRE_EXIT(r, 0);
  for (const std::string line : {"A=mb-json-pg-71\n", "B=mb-yaml-redis-33\n", "C=val-db/password\n",
                                 "D=mb-env-val-77\n", "E=mb-creds-ldap-66\n"}) {
    INFO("line " << line);
    CHECK(r.out.find(line) != std::string::npos);
  }
}

TEST_CASE("named backends: an unknown backend name is exit 2 naming the file and key path, for every command",
          "[named][errors]") {
  Multi m;
  const std::string bad = m.dir / "conf.d/bad.yaml";
  write_file(bad, "db:\n  password: ENC[nosuch;db/password]\n");
  const std::string why = "ENC[nosuch;...] names the backend \"nosuch\", which multi_secret_backends does not define (it "
                          "defines creds, docker, files, json, vars, vault, yaml); fix the name or add the backend";
  for (const std::string command : {"handles", "resolve"}) {
    INFO("command " << command);
    auto r = m.run({command, "--config", m.config, bad});
    STS_CHECK_EXIT(r, 2);
    CHECK(r.out.empty());
    CHECK(error_lines(r.err) == std::vector<std::string>{"stsecrets: error: " + bad + ": db.password: " + why});
  }
  auto e = m.run({"exec", "--config", m.config, "--", "/bin/true"}, {"X=ENC[nosuch;db/password]"});
  STS_CHECK_EXIT(e, 2);
  CHECK(error_lines(e.err) == std::vector<std::string>{"stsecrets: error: environment: X: " + why});

  m.write_config("respond", "broken: ENC[nosuch;db/password]\n");
  auto c = m.run({"check", "--config", m.config, "--fetch"});
  STS_CHECK_EXIT(c, 2);
  CHECK(error_lines(c.err) == std::vector<std::string>{"stsecrets: error: " + m.config + ": broken: " + why});
}

TEST_CASE("named backends: a failing backend fails only its own handles, and nothing is written", "[named][errors]") {
  struct Case {
    std::string what;
    std::function<void(Multi&)> breaks;
    int exit;
    std::vector<std::string> handles;   // the handles that must fail, in order
    std::string fragment;               // of every error line
  };
  const std::vector<Case> cases{
      {"the JSON document is readable by others",
       [](Multi& m) { REQUIRE(::chmod(m.json.c_str(), 0644) == 0); }, 3, {"json;api/key", "json;db/password"},
       "backend \"json\": group and others have rights on secrets document "},
      {"the JSON document is missing", [](Multi& m) { fs::remove(m.json); }, 2, {"json;api/key", "json;db/password"},
       "does not exist: create it owner-only (install -m 600 /dev/null "},
      {"the YAML document is owned by someone else",
       [](Multi& m) { REQUIRE(::chown(m.yaml.c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0); }, 3,
       {"yaml;redis/password"}, "is owned by uid 54321, not by root, and its owner chooses the secrets: run chown root "},
      {"the YAML value is a number",
       [](Multi& m) { write_file(m.yaml, "redis:\n  password: 12345\n", 0600); }, 5, {"yaml;redis/password"},
       "key \"redis/password\": the value is a number, not a string; secrets are strings: quote it in the document"},
      {"the executable backend exits 3", [](Multi& m) { m.write_config("exit-3-with-valid-json"); }, 4,
       {"vault;db/password"}, "/bin/backend exited with status 3"},
      {"a docker secret is missing", [](Multi& m) { fs::remove(m.docker + "/registry"); }, 5, {"docker;registry"},
       "backend \"docker\": secret \"registry\": no file "},
  };
  for (const auto& c : cases) {
    INFO("case: " << c.what);
    Multi m;
    c.breaks(m);
    auto r = m.run({"resolve", "--config", m.config, m.app, "--output-dir", m.dir / "out"});
    STS_CHECK_EXIT(r, c.exit);
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(m.dir / "out"));
    const auto lines = error_lines(r.err);
    REQUIRE(lines.size() == c.handles.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CHECK(lines[i].rfind("stsecrets: error: handle \"" + c.handles[i] + "\" (used at ", 0) == 0);
      CHECK(lines[i].find(c.fragment) != std::string::npos);
    }
    // check --fetch: the other backends' handles are still OK.
    m.write_config(c.what == "the executable backend exits 3" ? "exit-3-with-valid-json" : "respond",
                   "password: ENC[json;db/password]\nredis: ENC[yaml;redis/password]\nvault: ENC[vault;db/password]\n"
                   "registry: ENC[docker;registry]\nplain: ENC[default_token]\n");
    auto f = m.run({"check", "--config", m.config, "--fetch", "--json"});
    const auto j = nlohmann::json::parse(f.out);
    if (j.contains("fetch")) {
      for (const auto& h : j["fetch"]["handles"]) {
        const std::string handle = h["handle"];
        const bool should_fail = std::find(c.handles.begin(), c.handles.end(), handle) != c.handles.end();
        INFO("handle " << handle);
        CHECK((h["status"] == "fail") == should_fail);
      }
    } else {
      // A backend that check itself rejects stops it before any fetch, with the same status.
      CHECK(j["result"]["exit_code"] == c.exit);
    }
  }
}

TEST_CASE("named backends: two executable backends of one resolution run in parallel", "[named][parallel]") {
  TempDir dir;
  private_dir(dir / "bin");
  const std::string marks = dir / "marks";
  private_dir(marks);
  // Each backend marks its start, waits (bounded: 20 s) for the other's start mark, marks that it
  // saw it, then answers and marks its end. Run one after the other, the first could never see
  // the second's start: both "saw" marks prove the runs overlapped. No clock is compared.
  const std::string script = "#!/bin/sh\n"
                             "dir=$1 me=$2 other=$3 key=$4\n"
                             ": > \"$dir/$me.started\"\n"
                             "i=0\n"
                             "while [ ! -e \"$dir/$other.started\" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\n"
                             "[ -e \"$dir/$other.started\" ] && : > \"$dir/$me.saw-$other\"\n"
                             "cat > /dev/null\n"
                             "printf '{\"%s\":{\"value\":\"%s-answered\"}}' \"$key\" \"$me\"\n"
                             ": > \"$dir/$me.ended\"\n";
  write_file(dir / "bin/overlap.sh", script, 0700);
  const std::string config = dir / "stackstate.yaml";
  write_file(config,
             "a: ENC[alpha;token]\nb: ENC[beta;token]\n"
             "multi_secret_backends:\n"
             "  alpha: {type: executable, config: {command: " + dir / "bin/overlap.sh" + ", arguments: [" + marks +
                 ", alpha, beta, token], timeout: 60}}\n"
             "  beta: {type: executable, config: {command: " + dir / "bin/overlap.sh" + ", arguments: [" + marks +
                 ", beta, alpha, token], timeout: 60}}\n",
             0600);
  auto r = sts::test::cli(CliRun{{"resolve", "--config", config, "--json"}, {}, {}, {}});
  STS_REQUIRE_EXIT(r, 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["a"] == "alpha-answered");
  CHECK(j["b"] == "beta-answered");
  for (const std::string mark : {"alpha.started", "beta.started", "alpha.ended", "beta.ended"}) {
    INFO("mark " << mark);
    CHECK(fs::exists(marks + "/" + mark));
  }
  CHECK(fs::exists(marks + "/alpha.saw-beta"));
  CHECK(fs::exists(marks + "/beta.saw-alpha"));
}

// ---- docs/backends.md: every example runs as printed -------------------------------------------
//
// An example is the text between `<!-- example: NAME -->` and `<!-- end example -->`. Inside it,
// `<!-- file: PATH [mode=0NNN] -->` makes the next fenced block the content of PATH (without its
// final line break; default mode 0600; folders are created 0700), and a ```console block holds
// commands (`$ [NAME=VALUE ...] stsecrets ARGS [< FILE] [2>&1]`), each followed by its exact
// output and, when it is not 0, a last line `[exit status N]`. The page's absolute paths live
// under /etc/stackstate-agent, /run/secrets and /run/credentials; the test runs each example
// with those three folders standing for folders of a temporary directory, and nothing else
// changed.

namespace {

struct DocCommand {
  std::vector<std::string> env;
  std::vector<std::string> args;
  std::string stdin_file;
  bool merge_stderr = false;
  std::string expected;
  int exit = 0;
};

struct DocFile {
  std::string path;
  unsigned mode = 0600;
  std::string content;
};

struct DocExample {
  std::string name;
  std::vector<DocFile> files;
  std::vector<DocCommand> commands;
};

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

DocCommand parse_command(const std::string& line) {
  DocCommand c;
  const auto words = split_words(line.substr(2));
  std::size_t i = 0;
  for (; i < words.size() && words[i] != "stsecrets"; ++i) c.env.push_back(words[i]);
  REQUIRE(i < words.size());
  for (++i; i < words.size(); ++i) {
    if (words[i] == "<" && i + 1 < words.size()) {
      c.stdin_file = words[++i];
    } else if (words[i] == "2>&1") {
      c.merge_stderr = true;
    } else {
      c.args.push_back(words[i]);
    }
  }
  return c;
}

std::vector<DocExample> parse_examples(const std::string& md) {
  std::vector<DocExample> out;
  std::istringstream in(md);
  std::string line;
  DocExample* current = nullptr;
  std::optional<DocFile> pending;
  while (std::getline(in, line)) {
    if (line.rfind("<!-- example: ", 0) == 0) {
      out.push_back(DocExample{line.substr(14, line.size() - 18), {}, {}});
      current = &out.back();
      continue;
    }
    if (line == "<!-- end example -->") {
      current = nullptr;
      continue;
    }
    if (current == nullptr) continue;
    if (line.rfind("<!-- file: ", 0) == 0) {
      const auto words = split_words(line.substr(11, line.size() - 15));
      DocFile f;
      f.path = words.at(0);
      if (words.size() > 1 && words[1].rfind("mode=", 0) == 0) f.mode = static_cast<unsigned>(std::stoul(words[1].substr(5), nullptr, 8));
      pending = f;
      continue;
    }
    if (line.rfind("```", 0) != 0) continue;
    const bool console = line == "```console";
    std::string body;
    std::vector<std::string> lines;
    while (std::getline(in, line) && line.rfind("```", 0) != 0) lines.push_back(line);
    if (pending) {
      for (std::size_t i = 0; i < lines.size(); ++i) body += (i ? "\n" : "") + lines[i];
      pending->content = body;
      current->files.push_back(*pending);
      pending.reset();
    } else if (console) {
      for (const auto& l : lines) {
        if (l.rfind("$ ", 0) == 0) {
          current->commands.push_back(parse_command(l));
        } else if (l.rfind("[exit status ", 0) == 0) {
          current->commands.back().exit = std::stoi(l.substr(13));
        } else {
          REQUIRE_FALSE(current->commands.empty());
          current->commands.back().expected += l + "\n";
        }
      }
    }
  }
  return out;
}

std::string rebase(std::string s, const std::string& root) {
  for (const std::string prefix : {"/etc/stackstate-agent", "/run/secrets", "/run/credentials"}) {
    for (std::size_t p = s.find(prefix); p != std::string::npos; p = s.find(prefix, p + root.size() + prefix.size())) {
      s.insert(p, root);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("docs/backends.md: every example runs as printed", "[named][docs]") {
  const auto examples = parse_examples(sts::test::read_file(std::string(STS_SOURCE_DIR) + "/docs/backends.md"));
  REQUIRE(examples.size() >= 8);
  std::set<std::string> names;
  for (const auto& ex : examples) {
    INFO("example " << ex.name);
    names.insert(ex.name);
    REQUIRE_FALSE(ex.commands.empty());
    TempDir dir;
    for (const auto& f : ex.files) {
      const std::string path = rebase(f.path, dir.path());
      for (fs::path p = fs::path(path).parent_path(); p.string().size() > dir.path().size(); p = p.parent_path()) {
        if (!fs::exists(p)) {
          fs::create_directories(p);
          fs::permissions(p, fs::perms::owner_all);
        }
      }
      write_file(path, rebase(f.content, dir.path()), f.mode);
    }
    for (const auto& c : ex.commands) {
      std::vector<std::string> argv{STS_CLI};
      for (const auto& a : c.args) argv.push_back(rebase(a, dir.path()));
      std::vector<std::string> env{"PATH=/usr/bin:/bin", "LANG=C"};
      for (const auto& e : c.env) env.push_back(rebase(e, dir.path()));
      const std::string input = c.stdin_file.empty() ? std::string() : sts::test::read_file(rebase(c.stdin_file, dir.path()));
      auto r = sts::test::run_command(argv, input, env, std::chrono::seconds(60));
      std::string shown;
      for (const auto& a : c.args) shown += " " + a;
      INFO("command: stsecrets" << shown << "; stderr: " << r.err);
      CHECK(r.exit_code == c.exit);
      CHECK(rebase(c.expected, dir.path()) == (c.merge_stderr ? r.out + r.err : r.out));
    }
  }
  for (const std::string provider : {"file", "file.json", "file.yaml", "docker.secrets", "systemd.credentials", "env"}) {
    INFO("provider " << provider);
    CHECK(names.count(provider) == 1);
  }
}

TEST_CASE("examples/multi resolves as examples/demo.sh runs it", "[named][examples]") {
  TempDir dir;
  // The example's paths live under /etc/stackstate-agent/multi: the copy stands for it.
  const std::string multi = dir / "etc/stackstate-agent/multi";
  fs::create_directories(multi);
  fs::copy(std::string(STS_SOURCE_DIR) + "/examples/multi", multi, fs::copy_options::recursive);
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.is_directory()) {
      fs::permissions(entry.path(), fs::perms::owner_all);
    } else {
      std::string text = sts::test::read_file(entry.path());
      if (entry.path().extension() == ".yaml") text = rebase(text, dir.path());
      write_file(entry.path(), text, 0600);
    }
  }
  for (fs::path p = multi; p != fs::path(dir.path()); p = p.parent_path()) fs::permissions(p, fs::perms::owner_all);
  fs::create_directories(multi + "/backends");
  fs::permissions(multi + "/backends", fs::perms::owner_all);
  write_file(multi + "/backends/stsecrets", sts::test::read_file(STS_CLI), 0700);

  const std::string config = multi + "/stackstate.yaml";
  auto r = sts::test::cli(CliRun{{"resolve", "--config", config, multi + "/conf.d/postgres.yaml", multi + "/conf.d/redisdb.yaml",
                                  multi + "/conf.d/services.yaml", "--json"},
                                 {"RABBITMQ_PASSWORD=mq-multi-Passw0rd"}, {}, {}});
  STS_REQUIRE_EXIT(r, 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j[multi + "/conf.d/postgres.yaml"]["instances"][0]["password"] == "pg-multi-Passw0rd");
  CHECK(j[multi + "/conf.d/redisdb.yaml"]["instances"][0]["password"] == "redis-multi-Passw0rd");
  CHECK(j[multi + "/conf.d/redisdb.yaml"]["instances"][0]["port"] == "6379");
  const auto& services = j[multi + "/conf.d/services.yaml"]["instances"];
  CHECK(services[0]["password"] == "mysql-multi-Passw0rd");
  CHECK(services[1]["password"] == "mq-multi-Passw0rd");
  CHECK(services[2]["headers"]["Authorization"] == "Bearer multi-demo-token-7c1e");
  auto c = sts::test::cli(CliRun{{"check", "--config", config, "--fetch"}, {}, {}, {}});
  STS_CHECK_EXIT(c, 0);
}
