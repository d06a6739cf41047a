// The built-in providers of SPEC 8, in process: the key syntax of secrets documents, the JSON and
// YAML lookups (values, every per-key error, every document error), the document's owner and
// mode rules (platform::read_secret_document), the env provider's allow-list, the folder
// providers' roots, each provider's `check` rules, and that a JSON document's secrets leave no
// copy in memory. Every error is asserted by code and message fragment, is one line, and never
// carries a value.
#include "common/backend_source.h"
#include "common/document_lookup.h"
#include "common/secret_document.h"
#include "stsecrets/check.h"
#include "stsecrets/config.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/resolver.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using sts::Code;
using sts::test::TempDir;
using sts::test::write_file;

// Every value planted in a document below. No error message may contain one.
const std::vector<std::string> kValues = {"pg-json-Hq71zz", "api-json-Wq28xc", "slash-json-Pp09", "tilde-json-Tt55",
                                          "pg-yaml-Lm40aa", "ctrl-json-Zz12", "deep-json-Dd66",  "env-value-Ee31",
                                          "dup-first-Du11", "dup-second-Du22", "before-error-Be77"};

bool one_line(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool carries_value(const std::string& message) {
  for (const auto& v : kValues) {
    if (message.find(v) != std::string::npos) return true;
  }
  return false;
}

// An error is a usable one: one line, no value.
void check_clean(const sts::Error& e) {
  INFO("message: " << e.message);
  CHECK(one_line(e.message));
  CHECK_FALSE(carries_value(e.message));
}

const std::string kJson = R"({
  "db": {"password": "pg-json-Hq71zz", "port": 5432, "tls": true, "none": null, "empty": "",
         "nul": "a\u0000b", "hosts": ["h1", {"password": "in-a-list"}]},
  "api_key": "api-json-Wq28xc",
  "a/b": "slash-json-Pp09",
  "t~x": "tilde-json-Tt55",
  "escaped": "ctrl-json-Zz12\n\t\"q\"\\ \u00e9 \ud83d\ude00",
  "x": {"y": {"z": {"w": "deep-json-Dd66"}}}
})";

struct KeyCase {
  std::string key;
  Code code;
  std::string fragment;
};

}  // namespace

TEST_CASE("document keys: '/' nests, ~1 and ~0 escape, anything else is refused") {
  auto a = sts::parse_document_key("db/password");
  REQUIRE(a);
  CHECK(*a == std::vector<std::string>{"db", "password"});
  auto b = sts::parse_document_key("a~1b/t~0x");
  REQUIRE(b);
  CHECK(*b == std::vector<std::string>{"a/b", "t~x"});
  for (const std::string bad : {"/a", "a/", "a//b", ""}) {
    INFO("key " << bad);
    auto r = sts::parse_document_key(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::handle_invalid);
    CHECK_THAT(r.error().message, Catch::Contains("has an empty part; write nested keys as a/b/c"));
  }
  for (const std::string bad : {"a~", "a~2", "~x/b"}) {
    INFO("key " << bad);
    auto r = sts::parse_document_key(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::handle_invalid);
    CHECK_THAT(r.error().message, Catch::Contains("write ~1 for a '/' inside a key and ~0 for a '~'"));
  }
}

TEST_CASE("lookup_json: string leaves by nested key, decoded exactly") {
  auto r = sts::lookup_json(kJson, {"a~1b", "api_key", "db/password", "escaped", "t~0x", "x/y/z/w"}, "doc");
  REQUIRE(r);
  CHECK(r->failures.empty());
  REQUIRE(r->values.size() == 6);
  CHECK(r->values.at("db/password").view() == "pg-json-Hq71zz");
  CHECK(r->values.at("api_key").view() == "api-json-Wq28xc");
  CHECK(r->values.at("a~1b").view() == "slash-json-Pp09");
  CHECK(r->values.at("t~0x").view() == "tilde-json-Tt55");
  CHECK(r->values.at("x/y/z/w").view() == "deep-json-Dd66");
  CHECK(r->values.at("escaped").view() == "ctrl-json-Zz12\n\t\"q\"\\ \xc3\xa9 \xf0\x9f\x98\x80");

  // A UTF-8 byte-order mark is skipped.
  auto bom = sts::lookup_json("\xef\xbb\xbf{\"k\": \"api-json-Wq28xc\"}", {"k"}, "doc");
  REQUIRE(bom);
  CHECK(bom->values.at("k").view() == "api-json-Wq28xc");
}

TEST_CASE("lookup_json: each per-key failure has its code and says where the walk stopped") {
  const std::vector<KeyCase> cases{
      {"nope", Code::handle_missing, "key \"nope\": the document has no key \"nope\" at the top level; add it"},
      {"db/pasword", Code::handle_missing, "key \"db/pasword\": \"db\" has no key \"pasword\""},
      {"a/b", Code::handle_missing, "(a '/' inside one key is written ~1: a~1b for \"a/b\")"},
      {"api_key/x", Code::handle_missing, "\"api_key\" is a string, not a map, so it has no key \"x\"; use the key \"api_key\""},
      {"db/hosts/1/password", Code::handle_missing,
       "\"db/hosts\" is a list, not a map, so it has no key \"1\"; list items are not addressed"},
      {"db", Code::handle_value_not_string, "the value is a map, not a string; address a string leaf below it, e.g. \"db/<key>\""},
      {"db/hosts", Code::handle_value_not_string, "the value is a list, not a string"},
      {"db/port", Code::handle_value_not_string, "the value is a number, not a string; secrets are strings: write it between double quotes"},
      {"db/tls", Code::handle_value_not_string, "the value is a boolean, not a string"},
      {"db/none", Code::handle_value_empty, "the value is null; put the secret in the document"},
      {"db/empty", Code::handle_value_empty, "the value is empty; put the secret in the document"},
      {"db/nul", Code::handle_value_invalid, "holds a NUL character (U+0000)"},
      {"db//password", Code::handle_invalid, "has an empty part"},
      {"a~b", Code::handle_invalid, "'~' starts an escape"},
  };
  std::vector<std::string> keys;
  for (const auto& c : cases) keys.push_back(c.key);
  std::sort(keys.begin(), keys.end());
  auto r = sts::lookup_json(kJson, keys, "backend \"json\" (/etc/s.json)");
  REQUIRE(r);
  CHECK(r->values.empty());
  for (const auto& c : cases) {
    INFO("key " << c.key);
    REQUIRE(r->failures.count(c.key) == 1);
    const sts::Error& e = r->failures.at(c.key);
    CHECK(e.code == c.code);
    CHECK_THAT(e.message, Catch::StartsWith("backend \"json\" (/etc/s.json): "));
    CHECK_THAT(e.message, Catch::Contains(c.fragment));
    check_clean(e);
  }
}

TEST_CASE("lookup_json: a broken document fails every key, with an offset and never its text") {
  struct DocCase {
    std::string doc;
    std::string fragment;
  };
  const std::vector<DocCase> cases{
      {"", "the document is empty; write a JSON object"},
      {"  \n", "the document is empty"},
      {R"(["before-error-Be77"])", "must hold a JSON object (a map of keys) at the top level (byte 0)"},
      {R"({"k": "before-error-Be77", "j" "x"})", "not valid JSON (byte 31: expected ':')"},
      {R"({"k": "before-error-Be77",})", "not valid JSON (byte 26: expected '\"')"},
      {R"({"k": "before-error-Be77"} x)", "not valid JSON (byte 27: unexpected data after the JSON value)"},
      {R"({"k": "before-error-Be77)", "not valid JSON (byte 24: unterminated string)"},
      {"{\"k\": \"before-error-Be77\x01\"}", "not valid JSON (byte 24: control character in a string must be escaped)"},
      {R"({"k": "before-error-Be77\q"})", "not valid JSON (byte 24: invalid escape)"},
      {R"({"k": "\ud800x"})", "not valid UTF-8 (byte 7: "},
      {"{\"k\": \"before-error-Be77\xff\"}", "not valid UTF-8 (byte 24: "},
      {R"({"k": 01})", "not valid JSON (byte 7: expected ',' or '}')"},
      {R"({"k": tru})", "not valid JSON (byte 6: invalid literal)"},
      {R"({"dup-first-Du11": 1, "k": {"a": "dup-first-Du11", "a": "dup-second-Du22"}})",
       "the document has a duplicate key (byte 51); keep one"},
      {std::string(100, '[') , "must hold a JSON object"},
      {"{\"a\":" + std::string(70, '[') + std::string(70, ']') + "}", "is nested deeper than 32 levels (byte 36)"},
  };
  for (const auto& c : cases) {
    INFO("document " << c.doc.substr(0, 80));
    auto r = sts::lookup_json(c.doc, {"k"}, "doc");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::config_unreadable);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    check_clean(r.error());
  }
}

TEST_CASE("lookup_yaml: string leaves, and plain numbers, booleans, nulls and tags are not strings") {
  const std::string yaml = R"(db:
  password: pg-yaml-Lm40aa
  port: 5432
  quoted_port: "5432"
  str_port: !!str 5432
  tls: true
  none:
  tilde: ~
  empty: ""
  bin: !!binary aGVsbG8=
  hosts: [a, b]
  hex: 0x1F
  float: 1.5e3
  inf: -.inf
  version: 1.2.3
"a/b": slash-yaml
base: &base {user: admin}
copy: *base
)";
  auto r = sts::lookup_yaml(yaml, {"a~1b", "copy/user", "db/password", "db/quoted_port", "db/str_port", "db/version"}, "doc");
  REQUIRE(r);
  CHECK(r->failures.empty());
  CHECK(r->values.at("db/password").view() == "pg-yaml-Lm40aa");
  CHECK(r->values.at("db/quoted_port").view() == "5432");
  CHECK(r->values.at("db/str_port").view() == "5432");
  CHECK(r->values.at("db/version").view() == "1.2.3");
  CHECK(r->values.at("a~1b").view() == "slash-yaml");
  CHECK(r->values.at("copy/user").view() == "admin");

  const std::vector<KeyCase> cases{
      {"db/port", Code::handle_value_not_string, "the value is a number, not a string; secrets are strings: quote it in the document"},
      {"db/hex", Code::handle_value_not_string, "the value is a number"},
      {"db/float", Code::handle_value_not_string, "the value is a number"},
      {"db/inf", Code::handle_value_not_string, "the value is a number"},
      {"db/tls", Code::handle_value_not_string, "the value is a boolean"},
      {"db/none", Code::handle_value_empty, "the value is null"},
      {"db/tilde", Code::handle_value_empty, "the value is null"},
      {"db/empty", Code::handle_value_empty, "the value is empty"},
      {"db/bin", Code::handle_value_not_string, "the value is tagged tag:yaml.org,2002:binary, not a plain string"},
      {"db/hosts", Code::handle_value_not_string, "the value is a list"},
      {"db/hosts/0", Code::handle_missing, "\"db/hosts\" is a list, not a map"},
      {"db/nope", Code::handle_missing, "\"db\" has no key \"nope\""},
      {"db", Code::handle_value_not_string, "the value is a map"},
  };
  std::vector<std::string> keys;
  for (const auto& c : cases) keys.push_back(c.key);
  std::sort(keys.begin(), keys.end());
  auto f = sts::lookup_yaml(yaml, keys, "doc");
  REQUIRE(f);
  CHECK(f->values.empty());
  for (const auto& c : cases) {
    INFO("key " << c.key);
    REQUIRE(f->failures.count(c.key) == 1);
    CHECK(f->failures.at(c.key).code == c.code);
    CHECK_THAT(f->failures.at(c.key).message, Catch::Contains(c.fragment));
    check_clean(f->failures.at(c.key));
  }
}

TEST_CASE("lookup_yaml: a broken document fails every key without its text") {
  struct DocCase {
    std::string doc;
    std::string fragment;
  };
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    const char prev = static_cast<char>(c - 1);
    laughs += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
              ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  std::string deep = "k: ";
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  const std::vector<DocCase> cases{
      {"", "the document is empty; write a map"},
      {"- before-error-Be77\n", "must hold a map of keys at the top level"},
      {"k: [before-error-Be77\n", "not valid YAML at line"},
      {"k: before-error-Be77\nk: dup-second-Du22\n", "duplicate key at line 2, column 1; keep one"},
      {"m:\n  a: dup-first-Du11\n  a: dup-second-Du22\n", "duplicate key at line 3, column 3"},
      {laughs, "nodes with aliases expanded; remove the aliases"},
      {deep, "nests deeper than 32 levels"},
  };
  for (const auto& c : cases) {
    INFO("document " << c.doc.substr(0, 80));
    auto r = sts::lookup_yaml(c.doc, {"k"}, "doc");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::config_unreadable);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    check_clean(r.error());
  }
}

// ---- the document on disk ------------------------------------------------------------------

TEST_CASE("secret document: owner-only files are read, and the rules are reported for check") {
  TempDir dir;
  write_file(dir / "s.json", kJson, 0600);
  sts::ExecutableReport report;
  auto doc = sts::platform::read_secret_document(dir / "s.json", sts::kMaxSecretDocumentBytes, &report);
  REQUIRE(doc);
  CHECK(doc->view() == kJson);
  CHECK(report.path == dir / "s.json");
  CHECK(report.owner == "root");
  CHECK(report.mode == "0600");
  std::vector<std::string> names;
  for (const auto& rule : report.rules) {
    names.push_back(rule.name);
    CHECK(rule.ok);
  }
  CHECK(names == std::vector<std::string>{"regular file", "owner", "permissions", "size"});

  // A symlink is followed (Kubernetes secret volumes are links); the target is judged.
  REQUIRE(::symlink((dir / "s.json").c_str(), (dir / "link.json").c_str()) == 0);
  CHECK(sts::platform::read_secret_document(dir / "link.json", sts::kMaxSecretDocumentBytes));
}

TEST_CASE("secret document: each refusal has its code and fix, and blocks on nothing") {
  TempDir dir;
  const std::string shown = dir.path();
  write_file(dir / "group.json", "{}", 0640);
  write_file(dir / "world.json", "{}", 0604);
  write_file(dir / "gw.json", "{}", 0620);
  write_file(dir / "foreign.json", "{}", 0600);
  REQUIRE(::chown((dir / "foreign.json").c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);
  REQUIRE(::symlink((dir / "foreign.json").c_str(), (dir / "to-foreign.json").c_str()) == 0);
  write_file(dir / "big.json", std::string(sts::kMaxSecretDocumentBytes + 1, ' '), 0600);
  REQUIRE(::mkfifo((dir / "fifo.json").c_str(), 0600) == 0);
  REQUIRE(::mkdir((dir / "folder.json").c_str(), 0700) == 0);

  struct Case {
    std::string name;
    Code code;
    std::string fragment;
  };
  const std::vector<Case> cases{
      {"group.json", Code::config_insecure,
       "group and others have rights on secrets document " + shown + "/group.json (mode 0640), which holds secrets: run chmod 600 " +
           shown + "/group.json"},
      {"world.json", Code::config_insecure, "(mode 0604)"},
      {"gw.json", Code::config_insecure, "(mode 0620)"},
      {"foreign.json", Code::config_insecure,
       "secrets document " + shown + "/foreign.json is owned by uid 54321, not by root, and its owner chooses the "
       "secrets: run chown root " + shown + "/foreign.json"},
      {"to-foreign.json", Code::config_insecure, "is owned by uid 54321"},
      {"big.json", Code::config_unreadable, "is larger than 1048576 bytes: keep only secrets in it"},
      {"fifo.json", Code::config_unreadable, "is a FIFO, not a regular file: point path at the document itself"},
      {"folder.json", Code::config_unreadable, "is a folder, not a regular file"},
      {"missing.json", Code::config_unreadable,
       "secrets document " + shown + "/missing.json does not exist: create it owner-only (install -m 600 /dev/null " + shown +
           "/missing.json, then fill it) or fix the path"},
  };
  for (const auto& c : cases) {
    INFO("file " << c.name);
    sts::ExecutableReport report;
    auto r = sts::platform::read_secret_document(dir / c.name, sts::kMaxSecretDocumentBytes, &report);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    check_clean(r.error());
    bool failed_rule = false;
    for (const auto& rule : report.rules) {
      if (!rule.ok) {
        failed_rule = true;
        CHECK_FALSE(rule.fix.empty());
      }
    }
    CHECK(failed_rule);
  }
}

TEST_CASE("secret document: an unprivileged effective user may own it, root may too, nobody else") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0711) == 0);
  write_file(dir / "mine.json", R"({"k": "api-json-Wq28xc"})", 0600);
  REQUIRE(::chown((dir / "mine.json").c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);
  write_file(dir / "roots.json", R"({"k": "api-json-Wq28xc"})", 0644);   // readable, so the rules decide
  write_file(dir / "others.json", R"({"k": "api-json-Wq28xc"})", 0604);
  REQUIRE(::chown((dir / "others.json").c_str(), sts::test::kOtherUid + 1, sts::test::kOtherGid + 1) == 0);

  // In a child that drops to kOtherUid: exit 0 when every expectation holds, else the failing step.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) ::_exit(10);
    auto mine = sts::platform::read_secret_document(dir / "mine.json", 4096);
    if (!mine || mine->view() != R"({"k": "api-json-Wq28xc"})") ::_exit(11);
    auto roots = sts::platform::read_secret_document(dir / "roots.json", 4096);
    if (roots || roots.error().code != Code::config_insecure ||
        roots.error().message.find("(mode 0644)") == std::string::npos) {
      ::_exit(12);
    }
    auto others = sts::platform::read_secret_document(dir / "others.json", 4096);
    if (others || others.error().code != Code::config_insecure ||
        others.error().message.find("is owned by uid 54322, not by root or uid 54321 (the effective user)") ==
            std::string::npos) {
      std::fprintf(stderr, "others: %s\n", others ? "read" : others.error().message.c_str());
      ::_exit(13);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

// ---- providers through the fetcher -----------------------------------------------------------

namespace {

sts::Config named(const std::string& name, sts::BackendType type, sts::ProviderSettings settings) {
  sts::Config cfg;
  sts::Backend b;
  b.name = name;
  b.type = type;
  b.provider = std::move(settings);
  b.where = "test";
  cfg.named.emplace(name, std::move(b));
  return cfg;
}

}  // namespace

TEST_CASE("providers: file.json and file.yaml through the router, one read per batch") {
  TempDir dir;
  write_file(dir / "s.json", kJson, 0600);
  write_file(dir / "s.yaml", "db:\n  password: pg-yaml-Lm40aa\n", 0600);
  sts::Config cfg = named("json", sts::BackendType::file_json, {"", dir / "s.json", {}});
  sts::Backend y;
  y.name = "yaml";
  y.type = sts::BackendType::file_yaml;
  y.provider.path = dir / "s.yaml";
  cfg.named.emplace("yaml", y);
  auto fetcher = sts::make_fetcher(cfg);
  auto r = fetcher->fetch({"json;api_key", "json;db/password", "json;db/port", "yaml;db/password", "yaml;db/x"});
  REQUIRE(r);
  CHECK(r->values.at("json;api_key").view() == "api-json-Wq28xc");
  CHECK(r->values.at("json;db/password").view() == "pg-json-Hq71zz");
  CHECK(r->values.at("yaml;db/password").view() == "pg-yaml-Lm40aa");
  CHECK(r->failures.at("json;db/port").code == Code::handle_value_not_string);
  CHECK(r->failures.at("yaml;db/x").code == Code::handle_missing);
  CHECK_THAT(r->failures.at("yaml;db/x").message, Catch::StartsWith("backend \"yaml\" (" + dir / "s.yaml" + "): key \"db/x\""));

  // The document turns insecure: only that backend's handles fail, each with the fix.
  REQUIRE(::chmod((dir / "s.json").c_str(), 0640) == 0);
  auto insecure = fetcher->fetch({"json;api_key", "yaml;db/password"});
  REQUIRE(insecure);
  CHECK(insecure->values.count("yaml;db/password") == 1);
  REQUIRE(insecure->failures.count("json;api_key") == 1);
  CHECK(insecure->failures.at("json;api_key").code == Code::config_insecure);
  CHECK_THAT(insecure->failures.at("json;api_key").message,
             Catch::StartsWith("backend \"json\": group and others have rights on secrets document"));
}

TEST_CASE("providers: env reads only allowed keys, from the caller's environment when given") {
  sts::Config cfg = named("vars", sts::BackendType::env, {"", "", {"DB_PASSWORD", "EMPTY_ONE", "UNSET_ONE"}});
  const sts::Environment env{{"DB_PASSWORD", "env-value-Ee31"}, {"EMPTY_ONE", ""}, {"HOME", "/root"}};
  sts::FetcherOptions options;
  options.caller_environment = &env;
  auto fetcher = sts::make_fetcher(cfg, options);
  auto r = fetcher->fetch({"vars;DB_PASSWORD", "vars;EMPTY_ONE", "vars;HOME", "vars;UNSET_ONE"});
  REQUIRE(r);
  CHECK(r->values.at("vars;DB_PASSWORD").view() == "env-value-Ee31");
  const std::vector<KeyCase> cases{
      {"vars;HOME", Code::handle_invalid,
       "backend \"vars\" (env): variable \"HOME\" is not in allowed_keys; to let handles read it, add it to the backend's "
       "config: allowed_keys: [DB_PASSWORD, HOME]"},
      {"vars;UNSET_ONE", Code::handle_missing,
       "variable \"UNSET_ONE\" is not set in the agent's environment; set it where the agent is started"},
      {"vars;EMPTY_ONE", Code::handle_value_empty, "variable \"EMPTY_ONE\" is empty; set it to the secret"},
  };
  for (const auto& c : cases) {
    INFO("handle " << c.key);
    REQUIRE(r->failures.count(c.key) == 1);
    CHECK(r->failures.at(c.key).code == c.code);
    CHECK_THAT(r->failures.at(c.key).message, Catch::Contains(c.fragment));
    check_clean(r->failures.at(c.key));
  }

  // Without caller_environment: the process environment at the time of the read.
  ::setenv("STS_TEST_PROVIDER_VAR", "env-value-Ee31", 1);
  sts::Config own = named("vars", sts::BackendType::env, {"", "", {"STS_TEST_PROVIDER_VAR"}});
  auto from_process = sts::make_fetcher(own)->fetch({"vars;STS_TEST_PROVIDER_VAR"});
  ::unsetenv("STS_TEST_PROVIDER_VAR");
  REQUIRE(from_process);
  CHECK(from_process->values.at("vars;STS_TEST_PROVIDER_VAR").view() == "env-value-Ee31");
}

TEST_CASE("providers: docker.secrets and systemd.credentials take their roots from the config and environment") {
  TempDir dir;
  write_file(dir / "token", "env-value-Ee31", 0600);
  const std::string yaml = "multi_secret_backends:\n"
                           "  docker: {type: docker.secrets, config: {root: " + dir.path() + "}}\n"
                           "  default_docker: {type: docker.secrets}\n"
                           "  creds: {type: systemd.credentials}\n";
  auto with_creds = sts::load_config(YAML::Load(yaml), {{"CREDENTIALS_DIRECTORY", dir.path()}}, "test.yaml");
  REQUIRE(with_creds);
  CHECK(with_creds->named.at("default_docker").provider.root == "/run/secrets");
  auto r = sts::make_fetcher(*with_creds)->fetch({"creds;token", "docker;token"});
  REQUIRE(r);
  CHECK(r->values.at("docker;token").view() == "env-value-Ee31");
  CHECK(r->values.at("creds;token").view() == "env-value-Ee31");

  auto without = sts::load_config(YAML::Load(yaml), {}, "test.yaml");
  REQUIRE(without);
  auto unset = sts::make_fetcher(*without)->fetch({"creds;token", "docker;token"});
  REQUIRE(unset);
  CHECK(unset->values.count("docker;token") == 1);
  REQUIRE(unset->failures.count("creds;token") == 1);
  CHECK(unset->failures.at("creds;token").code == Code::config_invalid);
  CHECK_THAT(unset->failures.at("creds;token").message,
             Catch::Contains("backend \"creds\" (systemd.credentials:(unset)): CREDENTIALS_DIRECTORY is not set: run the "
                             "agent as a systemd service with LoadCredential= or SetCredential="));
}

// ---- check ----------------------------------------------------------------------------------

namespace {

const sts::CheckRule* rule_named(const sts::ExecutableReport& r, const std::string& name) {
  for (const auto& rule : r.rules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("check: each provider's rules, with the fix for every failure") {
  TempDir dir;
  write_file(dir / "ok.json", kJson, 0600);
  write_file(dir / "open.yaml", "k: v\n", 0644);
  write_file(dir / "broken.json", "{\"k\": \"before-error-Be77\",}", 0600);
  REQUIRE(::mkdir((dir / "secrets").c_str(), 0700) == 0);
  REQUIRE(::mkdir((dir / "shared").c_str(), 0777) == 0);
  REQUIRE(::chmod((dir / "shared").c_str(), 0777) == 0);
  REQUIRE(::mkdir((dir / "sticky").c_str(), 0777) == 0);
  REQUIRE(::chmod((dir / "sticky").c_str(), 01777) == 0);

  sts::Config cfg;
  auto add = [&cfg](const std::string& name, sts::BackendType type, sts::ProviderSettings p) {
    sts::Backend b;
    b.name = name;
    b.type = type;
    b.provider = std::move(p);
    cfg.named.emplace(name, std::move(b));
  };
  add("ok_json", sts::BackendType::file_json, {"", dir / "ok.json", {}});
  add("open_yaml", sts::BackendType::file_yaml, {"", dir / "open.yaml", {}});
  add("broken_json", sts::BackendType::file_json, {"", dir / "broken.json", {}});
  add("files", sts::BackendType::file, {dir / "secrets", "", {}});
  add("shared", sts::BackendType::file, {dir / "shared", "", {}});
  add("sticky", sts::BackendType::docker_secrets, {dir / "sticky", "", {}});
  add("gone", sts::BackendType::file, {dir / "gone", "", {}});
  add("creds", sts::BackendType::systemd_credentials, {});
  add("vars", sts::BackendType::env, {"", "", {"A", "B"}});
  add("novars", sts::BackendType::env, {});

  const sts::CheckReport report = sts::check_config(cfg);
  std::map<std::string, const sts::ExecutableReport*> by_name;
  for (const auto& b : report.backends) by_name[b.backend] = &b;

  CHECK(by_name.at("ok_json")->ok());
  CHECK(by_name.at("ok_json")->mode == "0600");
  REQUIRE(rule_named(*by_name.at("ok_json"), "document parses") != nullptr);
  CHECK(rule_named(*by_name.at("ok_json"), "document parses")->ok);

  const auto* open = by_name.at("open_yaml");
  REQUIRE_FALSE(open->ok());
  CHECK(open->error->code == Code::config_insecure);
  REQUIRE(rule_named(*open, "permissions") != nullptr);
  CHECK(rule_named(*open, "permissions")->fix == "chmod 600 " + dir / "open.yaml");

  const auto* broken = by_name.at("broken_json");
  REQUIRE_FALSE(broken->ok());
  CHECK(broken->error->code == Code::config_unreadable);
  CHECK_THAT(broken->error->message, Catch::Contains("not valid JSON (byte 26"));
  check_clean(*broken->error);

  CHECK(by_name.at("files")->ok());
  CHECK(by_name.at("sticky")->ok());
  const auto* shared = by_name.at("shared");
  REQUIRE_FALSE(shared->ok());
  CHECK(shared->error->code == Code::config_insecure);
  CHECK(rule_named(*shared, "root folder permissions")->fix == "chmod go-w " + dir / "shared");
  CHECK_THAT(shared->error->message,
             Catch::Contains("group or others can write root folder " + dir / "shared" + " (mode 0777)"));

  const auto* gone = by_name.at("gone");
  REQUIRE_FALSE(gone->ok());
  CHECK(gone->error->code == Code::config_invalid);
  CHECK_THAT(gone->error->message, Catch::Contains("does not exist: create it (mkdir -m 700 " + dir / "gone" + ")"));

  const auto* creds = by_name.at("creds");
  REQUIRE_FALSE(creds->ok());
  CHECK(creds->error->code == Code::config_invalid);
  CHECK(rule_named(*creds, "credentials folder") != nullptr);

  CHECK(by_name.at("vars")->ok());
  CHECK(rule_named(*by_name.at("vars"), "allowed keys")->detail == "A, B");
  const auto* novars = by_name.at("novars");
  REQUIRE_FALSE(novars->ok());
  CHECK_THAT(novars->error->message, Catch::Contains("allowed_keys is empty"));
}

// ---- memory ---------------------------------------------------------------------------------

TEST_CASE("providers: a file.json secret leaves no copy in memory once the cache is cleared") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan (shadow memory, quarantine): see tests/support/test_support.h");
    return;
  }
  TempDir dir;
  // The value is assembled at run time (no literal in the binary), written, and the text zeroed.
  std::string value;
  value.reserve(64);
  value += "doc-residue-";
  for (int i = 0; i < 12; ++i) value += static_cast<char>('a' + (::getpid() + i * 7) % 26);
  {
    std::string doc;   // appended in place: no temporary holds the value
    doc.reserve(256);
    doc += "{\"db\": {\"password\": \"";
    doc += value;
    doc += "\"}, \"other\": \"";
    doc += value;
    doc += "-2\"}";
    write_file(dir / "s.json", doc, 0600);
    sts::secure_zero(doc.data(), doc.size());
  }
  sts::Config cfg = named("json", sts::BackendType::file_json, {"", dir / "s.json", {}});
  {
    sts::Resolver resolver(cfg);
    bool got = false;
    auto r = resolver.with_values({"json;db/password"}, [&](std::string_view, std::string_view v) { got = v == value; });
    REQUIRE(r);
    REQUIRE(r->failures.empty());
    CHECK(got);
    resolver.clear();
  }
  CHECK(sts::test::count_in_own_memory(value, value.data(), value.capacity()) == 0);
}
