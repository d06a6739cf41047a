// Handle scanning (SPEC 1): parse_handle, validate_handle, scan_document, scan_environment.
#include "stsecrets/handles.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <string>

using sts::Code;
using sts::EnvScan;
using sts::HandleUse;
using sts::ScanResult;

namespace {

ScanResult scan(const std::string& yaml, const std::string& origin = "conf.d/pg.yaml") {
  return sts::scan_document(YAML::Load(yaml), origin);
}

std::string uses_text(const ScanResult& r) {
  std::string out;
  for (const auto& u : r.uses) out += u.key_path + "=" + u.handle + ";";
  return out;
}

}  // namespace

TEST_CASE("parse_handle: the handle is between the first ENC[ and the last ]") {
  CHECK(sts::parse_handle("ENC[db_pass]") == std::optional<std::string_view>("db_pass"));
  CHECK(sts::parse_handle("ENC[]]]]") == std::optional<std::string_view>("]]]"));
  CHECK(sts::parse_handle("ENC[a]b]") == std::optional<std::string_view>("a]b"));
  CHECK(sts::parse_handle("ENC[ENC[x]]") == std::optional<std::string_view>("ENC[x]"));
  CHECK(sts::parse_handle("  ENC[test]\t") == std::optional<std::string_view>("test"));
  CHECK(sts::parse_handle("\t ENC[ spaced ] ") == std::optional<std::string_view>(" spaced "));
  CHECK(sts::parse_handle("ENC[]") == std::optional<std::string_view>(""));
  CHECK(sts::parse_handle(R"(ENC[{"env": "prod"}])") == std::optional<std::string_view>(R"({"env": "prod"})"));
}

TEST_CASE("parse_handle: values that are not handles") {
  for (const char* s : {"db-ENC[x]", "ENC[x] tail", "ENC[", "ENC]", "test", "", "   ", "enc[x]", "ENC [x]",
                        "ENC[x]\n", "\nENC[x]", "xENC[x]", "ENC[x]]x"}) {
    INFO(s);
    CHECK_FALSE(sts::parse_handle(s).has_value());
  }
}

TEST_CASE("validate_handle: empty, control characters, too long") {
  auto empty = sts::validate_handle("", "conf.d/pg.yaml", "instances[0].password");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == Code::handle_invalid);
  CHECK_THAT(empty.error().message,
             Catch::StartsWith("conf.d/pg.yaml: instances[0].password: empty handle ENC[]") &&
                 Catch::Contains("ENC[db_password]"));

  auto ctl = sts::validate_handle(std::string("ab\x01" "c"), "f.yaml", "pw");
  REQUIRE_FALSE(ctl);
  CHECK(ctl.error().code == Code::handle_invalid);
  CHECK_THAT(ctl.error().message,
             Catch::StartsWith("f.yaml: pw: handle contains the control character \\x01 at byte 2"));
  CHECK(ctl.error().message.find('\x01') == std::string::npos);

  for (char c : {'\0', '\t', '\n', '\r', '\x1f', '\x7f'}) {
    auto r = sts::validate_handle(std::string("x") + c, "f", "k");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Code::handle_invalid);
    CHECK_THAT(r.error().message, Catch::Contains("control character \\x"));
  }

  CHECK(sts::validate_handle(std::string(sts::kMaxHandleBytes, 'a'), "f", "k"));
  auto longer = sts::validate_handle(std::string(sts::kMaxHandleBytes + 1, 'a'), "f", "k");
  REQUIRE_FALSE(longer);
  CHECK(longer.error().code == Code::handle_invalid);
  CHECK_THAT(longer.error().message, Catch::Contains("f: k: handle is 4097 bytes long, more than the maximum of 4096"));

  // UTF-8 and printable punctuation are fine.
  CHECK(sts::validate_handle("pässwörd/ü {\"env\": \"prod\"}", "f", "k"));
}

TEST_CASE("scan_document: nested maps, sequences and sequences of maps with key paths") {
  auto r = scan(R"(
password: ENC[top]
port: 5432
enabled: true
ratio: 0.5
instances:
  - host: db1
    password: ENC[db1_pass]
  - host: db2
    password: "ENC[db2_pass]"
    tags: [a, "ENC[tag_secret]", c]
nested:
  deeper:
    deepest: 'ENC[deep]'
)");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) ==
        "password=top;instances[0].password=db1_pass;instances[1].password=db2_pass;instances[1].tags[1]=tag_secret;"
        "nested.deeper.deepest=deep;");
  for (const auto& u : r.uses) {
    CHECK(u.origin == "conf.d/pg.yaml");
    CHECK(u.kind == HandleUse::Kind::yaml);
  }
}

TEST_CASE("scan_document: SPEC examples and non-handles") {
  auto r = scan(R"(
a: ENC[]]]]
b: "  ENC[test]\t"
c: db-ENC[x]
d: ENC[x] tail
e: ENC[
f: test
ENC[key]: plain
g: 'ENC[{"env": "prod"}]'
h: 42
i: true
j: ~
k: !!str ENC[tagged_str]
)");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) == R"(a=]]];b=test;g={"env": "prod"};k=tagged_str;)");
}

TEST_CASE("scan_document: a handle under any other tag is a located error, never passed through (SPEC 1)") {
  auto r = scan(R"(
a: !custom ENC[custom_tag]
b: !!binary ENC[binary_tag]
list:
  - !!int "ENC[int_tag]"
c: !custom not-a-handle
d: !!str ENC[fine]
)");
  CHECK(uses_text(r) == "d=fine;");
  REQUIRE(r.errors.size() == 3);
  for (const auto& e : r.errors) CHECK(e.code == Code::handle_invalid);
  CHECK_THAT(r.errors[0].message,
             Catch::Equals("conf.d/pg.yaml: a: the handle carries the YAML tag \"!custom\", so it would not be resolved; "
                           "remove the tag (or use !!str) to resolve it, or quote the text differently if it is not a "
                           "secret"));
  CHECK_THAT(r.errors[1].message, Catch::StartsWith("conf.d/pg.yaml: b: the handle carries the YAML tag \"!!binary\""));
  CHECK_THAT(r.errors[2].message, Catch::StartsWith("conf.d/pg.yaml: list[0]: the handle carries the YAML tag"));
}

TEST_CASE("scan_document: keys are never handles, even in nested maps") {
  auto r = scan("outer:\n  ENC[k1]: v\n  ? ENC[k2]\n  : ENC[v2]\n");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) == "outer[\"ENC[k2]\"]=v2;");
}

TEST_CASE("scan_document: sequence at the root and scalar roots") {
  auto r = scan("- x: 1\n- x: 2\n- x: ENC[third]\n- ENC[fourth]\n");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) == "[2].x=third;[3]=fourth;");

  auto s = scan("ENC[whole]");
  CHECK(uses_text(s) == "=whole;");
  CHECK(scan("").uses.empty());
  CHECK(scan("~").uses.empty());
}

TEST_CASE("scan_document: keys with dots, brackets, quotes or spaces are quoted in the key path") {
  auto r = scan(R"(
a:
  "b.c": ENC[h1]
"x[0]":
  y: ENC[h2]
"with space": ENC[h3]
"q\"uo\\te": ENC[h4]
"": ENC[h5]
"ctl\x01": ENC[h6]
list:
  - "k.k": ENC[h7]
)");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) ==
        R"(a["b.c"]=h1;["x[0]"].y=h2;["with space"]=h3;["q\"uo\\te"]=h4;[""]=h5;["ctl\x01"]=h6;list[0]["k.k"]=h7;)");
}

TEST_CASE("scan_document: bad handles are located errors and are not uses") {
  std::string long_handle(5000, 'x');
  auto r = scan("password: ENC[]\ninstances:\n  - password: \"ENC[a\\x01b]\"\n  - password: ENC[" + long_handle +
                "]\n  - password: ENC[fine]\n");
  REQUIRE(r.errors.size() == 3);
  for (const auto& e : r.errors) CHECK(e.code == Code::handle_invalid);
  CHECK_THAT(r.errors[0].message, Catch::StartsWith("conf.d/pg.yaml: password: empty handle ENC[]"));
  CHECK_THAT(r.errors[1].message,
             Catch::StartsWith("conf.d/pg.yaml: instances[0].password: handle contains the control character \\x01"));
  CHECK_THAT(r.errors[2].message,
             Catch::StartsWith("conf.d/pg.yaml: instances[1].password: handle is 5000 bytes long"));
  CHECK(uses_text(r) == "instances[2].password=fine;");
  // Messages stay one line and never carry the long handle itself.
  for (const auto& e : r.errors) {
    CHECK(e.message.find('\n') == std::string::npos);
    CHECK(e.message.size() < 300);
  }
}

TEST_CASE("scan_document: a handle with a newline (double-quoted escape) is rejected") {
  auto r = scan("pw: \"ENC[a\\nb]\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0].message, Catch::Contains("pw: handle contains the control character \\x0a at byte 1"));
}

TEST_CASE("scan_document: handles in top-level secret_* settings are errors at any depth") {
  auto r = scan(R"(
secret_backend_command: ENC[cmd]
secret_backend_arguments: [--a, "ENC[arg]"]
secret_backend_config:
  root: ENC[root]
instances:
  - secret_like: ENC[fine]
)");
  REQUIRE(r.errors.size() == 3);
  for (const auto& e : r.errors) {
    CHECK(e.code == Code::handle_invalid);
    CHECK_THAT(e.message, Catch::Contains("settings of stsecrets itself (secret_*, multi_secret_backends) cannot be ENC[] handles"));
  }
  CHECK_THAT(r.errors[0].message, Catch::StartsWith("conf.d/pg.yaml: secret_backend_command: "));
  CHECK_THAT(r.errors[1].message, Catch::StartsWith("conf.d/pg.yaml: secret_backend_arguments[1]: "));
  CHECK_THAT(r.errors[2].message, Catch::StartsWith("conf.d/pg.yaml: secret_backend_config.root: "));
  CHECK(uses_text(r) == "instances[0].secret_like=fine;");
}

TEST_CASE("scan_document: aliases are followed under every path") {
  auto r = scan("base: &b\n  pw: ENC[shared]\nother: *b\n");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) == "base.pw=shared;other.pw=shared;");
}

TEST_CASE("scan_document: alias explosions end in a clean error") {
  std::string yaml = "a: &a [\"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\", \"ENC[x]\"]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'i'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", *" : "*") + prev;
    yaml += "]\n";
    prev = std::string(1, c);
  }
  auto r = scan(yaml);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors.back().code == Code::config_invalid);
  CHECK_THAT(r.errors.back().message, Catch::Contains("aliases expanded"));
}

TEST_CASE("scan_document: very deep nesting ends in a clean error") {
  YAML::Node root = YAML::Load("leaf: ENC[x]");
  for (int i = 0; i < 600; ++i) {
    YAML::Node parent;
    parent["k"] = root;
    root = parent;
  }
  auto r = sts::scan_document(root, "deep.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].code == Code::config_invalid);
  CHECK_THAT(r.errors[0].message, Catch::Contains("nested deeper than 512 levels"));
}

TEST_CASE("scan_environment: STS_ prefix mode") {
  sts::Environment env{
      {"STS_API_KEY", "ENC[api_key]"},
      {"STS_DB_PASSWORD", " ENC[db]\t"},
      {"STS_PLAIN", "value"},
      {"STS_", "ENC[nameless]"},
      {"OTHER", "ENC[other]"},
      {"STS_EMPTY", "ENC[]"},
      {"STS_SECRET_BACKEND_COMMAND", "ENC[cmd]"},
      {"STS_SECRET_BACKEND_TIMEOUT", "5"},
      {"STS_TAIL", "ENC[x] tail"},
  };
  auto r = sts::scan_environment(env, EnvScan::sts_prefix);
  CHECK(uses_text(r) == "STS_API_KEY=api_key;STS_DB_PASSWORD=db;");
  for (const auto& u : r.uses) {
    CHECK(u.kind == HandleUse::Kind::env);
    CHECK(u.origin == "environment");
  }
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].code == Code::handle_invalid);
  CHECK_THAT(r.errors[0].message, Catch::StartsWith("environment: STS_EMPTY: empty handle ENC[]"));
  CHECK(r.errors[1].code == Code::handle_invalid);
  CHECK_THAT(r.errors[1].message,
             Catch::StartsWith("environment: STS_SECRET_BACKEND_COMMAND: settings of stsecrets itself"));
}

TEST_CASE("scan_environment: all mode takes every variable whose whole value is a handle") {
  sts::Environment env{
      {"API_KEY", "ENC[api_key]"},
      {"STS_DB", "ENC[db]"},
      {"URL", "https://ENC[x]"},
      {"HOME", "/root"},
      {"BAD", "ENC[a\x02]"},
  };
  auto r = sts::scan_environment(env, EnvScan::all);
  CHECK(uses_text(r) == "API_KEY=api_key;STS_DB=db;");
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0].message, Catch::StartsWith("environment: BAD: handle contains the control character \\x02"));
}

TEST_CASE("unique_handles: sorted and de-duplicated") {
  std::vector<HandleUse> uses{{HandleUse::Kind::yaml, "b", "f", "x", ""},
                              {HandleUse::Kind::yaml, "a", "f", "y", ""},
                              {HandleUse::Kind::env, "b", "environment", "STS_B", ""},
                              {HandleUse::Kind::yaml, "]]]", "g", "z", ""}};
  CHECK(sts::unique_handles(uses) == std::vector<std::string>{"]]]", "a", "b"});
  CHECK(sts::unique_handles({}).empty());
}

TEST_CASE("scan_document: nodes built in code (no tag) are scanned like plain scalars") {
  YAML::Node doc;
  doc["pw"] = "ENC[built]";
  doc["list"].push_back("ENC[item]");
  doc["n"] = 5;
  auto r = sts::scan_document(doc, "built");
  CHECK(r.errors.empty());
  CHECK(uses_text(r) == "pw=built;list[0]=item;");
}

TEST_CASE("scan_inputs: documents and the environment in one scan, each use routed to its backend") {
  auto cfg = sts::load_config(YAML::Load("secret_backend_command: /opt/b\n"
                                         "multi_secret_backends: {vault: {type: file, config: {root: /v}}}\n"),
                              {}, "stackstate.yaml");
  REQUIRE(cfg);
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("x: ENC[vault;db]\ny: ENC[plain]\nz: ENC[nope;k]\n")},
                                  {"b.yaml", YAML::Load("- ENC[vault;db]\n")}};
  sts::Environment env{{"STS_TOKEN", "ENC[vault;token]"}, {"OTHER", "ENC[ignored]"}};
  auto r = sts::scan_inputs(docs, &env, EnvScan::sts_prefix, &*cfg);
  std::string routed;
  for (const auto& u : r.uses) routed += u.origin + ":" + u.key_path + "->" + (u.backend.empty() ? "(default)" : u.backend) + ";";
  CHECK(routed == "a.yaml:x->vault;a.yaml:y->(default);b.yaml:[0]->vault;environment:STS_TOKEN->vault;");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].code == Code::backend_unknown);
  CHECK_THAT(r.errors[0].message, Catch::StartsWith("a.yaml: z: ENC[nope;...] names the backend \"nope\""));
  // Without a config nothing is routed and nothing is an error.
  auto plain = sts::scan_inputs(docs, nullptr, EnvScan::none, nullptr);
  CHECK(plain.errors.empty());
  CHECK(plain.uses.size() == 4);
}
