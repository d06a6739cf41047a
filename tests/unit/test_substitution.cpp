// Substitution (DESIGN step 6): all-or-nothing replacement of handle scalars and env values.
#include "common/substitution.h"

#include "common/secret_cache.h"
#include "stsecrets/handles.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

using sts::Document;
using sts::SecretCache;

namespace {

// Answers from a fixed table; handles not in it fail with handle_missing.
class TableFetcher : public sts::Fetcher {
 public:
  explicit TableFetcher(std::map<std::string, std::string> table) : table_(std::move(table)) {}
  sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
    ++runs;
    sts::FetchResult r;
    for (const auto& h : handles) {
      auto it = table_.find(h);
      if (it == table_.end()) {
        r.failures.emplace(h, sts::make_error(sts::Code::handle_missing, "no such handle"));
      } else {
        r.values.emplace(h, sts::SecureBuffer(it->second));
      }
    }
    return r;
  }
  int runs = 0;

 private:
  std::map<std::string, std::string> table_;
};

void fill(SecretCache& cache, const std::map<std::string, std::string>& table) {
  TableFetcher fetcher(table);
  std::vector<std::string> handles;
  for (const auto& [h, v] : table) handles.push_back(h);
  auto got = cache.get_or_fetch(handles, fetcher);
  REQUIRE(got);
  REQUIRE(got->failures.empty());
}

std::string dump(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

}  // namespace

TEST_CASE("substitute_documents: replaces nested handles and leaves everything else alone") {
  SecretCache cache;
  fill(cache, {{"db1", "s3cret-1"}, {"]]]", "brackets"}, {"{\"env\": \"prod\"}", "json-handle"}, {"num", "42"}});
  std::vector<Document> docs{{"conf.d/pg.yaml", YAML::Load(R"(
password: ENC[db1]
port: 5432
enabled: true
text: db-ENC[db1]
key_only:
  ENC[db1]: stays
instances:
  - host: h1
    password: "  ENC[db1]\t"
    tags: [a, "ENC[]]]]", c]
  - json: 'ENC[{"env": "prod"}]'
    n: ENC[num]
    int_tagged: !!int 7
)")}};
  REQUIRE(sts::substitute_documents(docs, cache));
  const YAML::Node& root = docs[0].root;
  CHECK(root["password"].as<std::string>() == "s3cret-1");
  CHECK(root["port"].as<std::string>() == "5432");
  CHECK(root["port"].Tag() == "?");
  CHECK(root["enabled"].as<std::string>() == "true");
  CHECK(root["text"].as<std::string>() == "db-ENC[db1]");
  CHECK(root["key_only"]["ENC[db1]"].as<std::string>() == "stays");
  CHECK(root["instances"][0]["host"].as<std::string>() == "h1");
  CHECK(root["instances"][0]["password"].as<std::string>() == "s3cret-1");
  CHECK(root["instances"][0]["tags"][0].as<std::string>() == "a");
  CHECK(root["instances"][0]["tags"][1].as<std::string>() == "brackets");
  CHECK(root["instances"][0]["tags"][2].as<std::string>() == "c");
  CHECK(root["instances"][1]["json"].as<std::string>() == "json-handle");
  CHECK(root["instances"][1]["n"].as<std::string>() == "42");
  // A substituted value is marked as a string, even when it reads like a number.
  CHECK(root["instances"][1]["n"].Tag() == "!");
  CHECK(root["instances"][1]["int_tagged"].Tag() == "tag:yaml.org,2002:int");
  // No handle use is left.
  CHECK(sts::scan_document(root, "x").uses.empty());
}

TEST_CASE("substitute_documents: all-or-nothing across documents") {
  SecretCache cache;
  fill(cache, {{"a", "value-a"}});
  std::vector<Document> docs{{"one.yaml", YAML::Load("x: ENC[a]\n")},
                             {"two.yaml", YAML::Load("list:\n  - y: ENC[a]\n  - z: ENC[missing]\n")}};
  const std::string before0 = dump(docs[0].root);
  const std::string before1 = dump(docs[1].root);
  CHECK_FALSE(sts::substitute_documents(docs, cache));
  CHECK(dump(docs[0].root) == before0);
  CHECK(dump(docs[1].root) == before1);
  CHECK(docs[0].root["x"].as<std::string>() == "ENC[a]");
}

TEST_CASE("substitute_documents: invalid handles are never cached, so they fail the whole call") {
  SecretCache cache;
  fill(cache, {{"a", "value-a"}});
  std::vector<Document> docs{{"one.yaml", YAML::Load("x: ENC[a]\ny: ENC[]\n")}};
  CHECK_FALSE(sts::substitute_documents(docs, cache));
  CHECK(docs[0].root["x"].as<std::string>() == "ENC[a]");
}

TEST_CASE("substitute_documents: no handles, empty and null documents") {
  SecretCache cache;
  std::vector<Document> docs{{"a.yaml", YAML::Load("x: 1\n")}, {"b.yaml", YAML::Load("")}, {"c.yaml", YAML::Node()}};
  CHECK(sts::substitute_documents(docs, cache));
  CHECK(docs[0].root["x"].as<int>() == 1);
  std::vector<Document> none;
  CHECK(sts::substitute_documents(none, cache));
}

TEST_CASE("substitute_documents: aliases and values that look like handles") {
  SecretCache cache;
  // The value of "outer" is itself handle-shaped; it must not be taken for a handle afterwards.
  fill(cache, {{"outer", "ENC[not_cached]"}, {"shared", "v-shared"}});
  std::vector<Document> docs{{"a.yaml", YAML::Load("base: &b\n  pw: ENC[shared]\ncopy: *b\nouter: ENC[outer]\n")}};
  REQUIRE(sts::substitute_documents(docs, cache));
  CHECK(docs[0].root["base"]["pw"].as<std::string>() == "v-shared");
  CHECK(docs[0].root["copy"]["pw"].as<std::string>() == "v-shared");
  CHECK(docs[0].root["outer"].as<std::string>() == "ENC[not_cached]");
}

TEST_CASE("substitute_documents: a root scalar handle") {
  SecretCache cache;
  fill(cache, {{"whole", "the-value"}});
  std::vector<Document> docs{{"a.yaml", YAML::Load("ENC[whole]")}};
  REQUIRE(sts::substitute_documents(docs, cache));
  CHECK(docs[0].root.as<std::string>() == "the-value");
}

TEST_CASE("substitute_environment: replaces scanned uses, all-or-nothing") {
  SecretCache cache;
  fill(cache, {{"api", "api-value"}, {"db", "db-value"}});
  sts::Environment env{{"STS_API_KEY", "ENC[api]"}, {"STS_DB", " ENC[db] "}, {"PLAIN", "ENC[api]"}, {"HOME", "/root"}};
  auto scan = sts::scan_environment(env, sts::EnvScan::sts_prefix);
  REQUIRE(scan.errors.empty());
  REQUIRE(sts::substitute_environment(env, scan.uses, cache));
  CHECK(env.at("STS_API_KEY") == "api-value");
  CHECK(env.at("STS_DB") == "db-value");
  CHECK(env.at("PLAIN") == "ENC[api]");
  CHECK(env.at("HOME") == "/root");

  sts::Environment env2{{"A", "ENC[api]"}, {"B", "ENC[nope]"}};
  auto scan2 = sts::scan_environment(env2, sts::EnvScan::all);
  REQUIRE(scan2.uses.size() == 2);
  const sts::Environment before = env2;
  CHECK_FALSE(sts::substitute_environment(env2, scan2.uses, cache));
  CHECK(env2 == before);
}

TEST_CASE("substitute_environment: a variable that changed since the scan fails the call") {
  SecretCache cache;
  fill(cache, {{"api", "api-value"}});
  sts::Environment env{{"A", "ENC[api]"}};
  auto scan = sts::scan_environment(env, sts::EnvScan::all);
  env["A"] = "something else";
  CHECK_FALSE(sts::substitute_environment(env, scan.uses, cache));
  CHECK(env.at("A") == "something else");
  env.erase("A");
  CHECK_FALSE(sts::substitute_environment(env, scan.uses, cache));
  CHECK(env.empty());
}

TEST_CASE("substitute_documents: nodes built in code") {
  SecretCache cache;
  fill(cache, {{"built", "v-built"}});
  YAML::Node root;
  root["pw"] = "ENC[built]";
  std::vector<Document> docs{{"built", root}};
  REQUIRE(sts::substitute_documents(docs, cache));
  CHECK(docs[0].root["pw"].as<std::string>() == "v-built");
  CHECK(docs[0].root["pw"].Tag() == "!");
}
