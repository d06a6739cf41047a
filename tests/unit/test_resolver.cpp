// The Resolver end to end over an in-process fake fetcher and over the built-in file backend:
// fail-closed, one run for many documents, cache hits, all-or-nothing substitution, refresh.
#include "stsecrets/resolver.h"
#include "stsecrets/logging.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

namespace {

struct FakeFetcher : sts::Fetcher {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::vector<std::string>> requests;
  std::string suffix = "-v1";
  std::set<std::string> fail;
  sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
    ++calls;
    std::lock_guard<std::mutex> lock(mu);
    requests.push_back(handles);
    sts::FetchResult r;
    for (const auto& h : handles) {
      if (fail.count(h)) {
        r.failures.emplace(h, sts::make_error(sts::Code::handle_missing, "backend did not return " + h));
      } else {
        r.values.emplace(h, sts::SecureBuffer("secret-for-" + h + suffix));
      }
    }
    return r;
  }
};

std::vector<sts::Document> docs_for(int files) {
  std::vector<sts::Document> docs;
  for (int i = 0; i < files; ++i) {
    docs.push_back({"conf.d/f" + std::to_string(i) + ".yaml",
                    YAML::Load("instances:\n  - host: db\n    password: ENC[pw" + std::to_string(i) +
                               "]\n    user: ENC[shared]\n    port: 5432\n")});
  }
  return docs;
}

sts::Config config_with_command() { return sts::test::executable_config("/opt/fake"); }

}  // namespace

TEST_CASE("handles without a backend fail closed and are never passed through") {
  sts::Config none;
  none.source = "/etc/stackstate.yaml";
  sts::Resolver r(none);
  auto docs = docs_for(1);
  auto report = r.resolve(docs);
  REQUIRE_FALSE(report);
  CHECK(report.error().code == sts::Code::config_no_backend);
  CHECK_THAT(report.error().message, Catch::Contains("no secret backend is configured") &&
                                         Catch::Contains("/etc/stackstate.yaml"));
  CHECK(docs[0].root["instances"][0]["password"].as<std::string>() == "ENC[pw0]");
}

TEST_CASE("documents without handles need no backend") {
  sts::Resolver r(sts::Config{});
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("a: 1\nb: text\n")}};
  auto report = r.resolve(docs);
  REQUIRE(report);
  CHECK(report->handles == 0);
  CHECK(r.stats().runs == 0);
}

TEST_CASE("one backend run serves every handle of every document, then the cache serves all") {
  auto fetcher = std::make_unique<FakeFetcher>();
  FakeFetcher* f = fetcher.get();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  auto docs = docs_for(20);
  auto report = r.resolve(docs);
  REQUIRE(report);
  CHECK(report->failures.empty());
  CHECK(report->handles == 21);
  CHECK(report->backend_runs == 1);
  CHECK(f->calls == 1);
  REQUIRE(f->requests.size() == 1);
  CHECK(f->requests[0].size() == 21);   // each handle once
  CHECK(std::is_sorted(f->requests[0].begin(), f->requests[0].end()));
  CHECK(docs[3].root["instances"][0]["password"].as<std::string>() == "secret-for-pw3-v1");
  CHECK(docs[3].root["instances"][0]["user"].as<std::string>() == "secret-for-shared-v1");
  CHECK(docs[3].root["instances"][0]["port"].as<int>() == 5432);

  auto again = docs_for(20);
  auto second = r.resolve(again);
  REQUIRE(second);
  CHECK(second->backend_runs == 0);
  CHECK(second->from_cache == 21);
  CHECK(f->calls == 1);
  const sts::ResolverStats stats = r.stats();
  CHECK(stats.runs == 1);
  CHECK(stats.misses == 21);
  CHECK(stats.hits == 21);
  CHECK(stats.cache_size == 21);
}

TEST_CASE("a per-handle failure leaves every document untouched and names the handle and its uses") {
  auto fetcher = std::make_unique<FakeFetcher>();
  fetcher->fail = {"pw1"};
  sts::Resolver r(config_with_command(), std::move(fetcher));
  auto docs = docs_for(3);
  auto report = r.resolve(docs);
  REQUIRE(report);
  REQUIRE(report->failures.size() == 1);
  CHECK(report->failures[0].handle == "pw1");
  CHECK(report->failures[0].error.code == sts::Code::handle_missing);
  REQUIRE(report->failures[0].uses.size() == 1);
  CHECK(report->failures[0].uses[0].origin == "conf.d/f1.yaml");
  CHECK(report->failures[0].uses[0].key_path == "instances[0].password");
  for (auto& d : docs) {
    CHECK(d.root["instances"][0]["user"].as<std::string>() == "ENC[shared]");
  }
}

TEST_CASE("bad handles in several documents are all reported, one line each, and nothing runs") {
  auto fetcher = std::make_unique<FakeFetcher>();
  FakeFetcher* f = fetcher.get();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("x: ENC[]\n")}, {"b.yaml", YAML::Load("y:\n  - ENC[]\n")}};
  auto report = r.resolve(docs);
  REQUIRE_FALSE(report);
  CHECK(report.error().code == sts::Code::handle_invalid);
  CHECK_THAT(report.error().message, Catch::Contains("a.yaml") && Catch::Contains("b.yaml") && Catch::Contains("\n"));
  CHECK(f->calls == 0);
}

TEST_CASE("concurrent resolves of the same uncached handles cause one backend run") {
  struct SlowFetcher : FakeFetcher {
    sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return FakeFetcher::fetch(handles);
    }
  };
  auto fetcher = std::make_unique<SlowFetcher>();
  FakeFetcher* f = fetcher.get();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto docs = docs_for(2);
      auto rep = r.resolve(docs);
      if (rep && rep->failures.empty() &&
          docs[1].root["instances"][0]["password"].as<std::string>() == "secret-for-pw1-v1")
        ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 8);
  CHECK(f->calls == 1);
}

TEST_CASE("environment handles resolve in place, with_values hands out views") {
  auto fetcher = std::make_unique<FakeFetcher>();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  sts::Environment env{{"DB_PASSWORD", "ENC[db]"}, {"HOME", "/root"}, {"NOTE", "ENC[x] tail"}};
  auto report = r.resolve_environment(env, sts::EnvScan::all);
  REQUIRE(report);
  CHECK(env["DB_PASSWORD"] == "secret-for-db-v1");
  CHECK(env["NOTE"] == "ENC[x] tail");
  std::string seen;
  auto w = r.with_values({"db"}, [&](std::string_view h, std::string_view v) { seen = std::string(h) + "=" + std::string(v); });
  REQUIRE(w);
  CHECK(seen == "db=secret-for-db-v1");
}

TEST_CASE("refresh re-fetches cached handles in one run and reports changed names only") {
  auto fetcher = std::make_unique<FakeFetcher>();
  FakeFetcher* f = fetcher.get();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  auto docs = docs_for(2);
  REQUIRE(r.resolve(docs));
  {
    std::lock_guard<std::mutex> lock(f->mu);
    f->suffix = "-v2";
  }
  auto rep = r.refresh();
  REQUIRE(rep);
  CHECK(rep->changed.size() == 3);
  CHECK(f->calls == 2);
  auto rep2 = r.refresh();
  REQUIRE(rep2);
  CHECK(rep2->changed.empty());
}

TEST_CASE("secret_refresh_interval drives background refreshes") {
  auto fetcher = std::make_unique<FakeFetcher>();
  FakeFetcher* f = fetcher.get();
  auto cfg = config_with_command();
  cfg.refresh_interval = std::chrono::milliseconds(20);
  sts::Resolver r(cfg, std::move(fetcher));
  auto docs = docs_for(1);
  REQUIRE(r.resolve(docs));
  // Bounded wait for at least two refresh runs (no timing assertion on their spacing).
  for (int i = 0; i < 500 && f->calls < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(f->calls >= 3);
}

TEST_CASE("the built-in file backend resolves in process") {
  sts::test::TempDir dir;
  sts::test::write_file(dir / "db_password", "filepw-123\n");
  sts::Config cfg = sts::test::file_config(dir.path());
  cfg.default_backend->remove_trailing_line_break = true;
  sts::Resolver r(cfg);
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("password: ENC[db_password]\nother: ENC[missing]\n")}};
  auto report = r.resolve(docs);
  REQUIRE(report);
  REQUIRE(report->failures.size() == 1);
  CHECK(report->failures[0].handle == "missing");
  CHECK(report->failures[0].error.code == sts::Code::handle_missing);
  CHECK_THAT(report->failures[0].error.message, Catch::Contains("no file"));
  std::vector<sts::Document> ok{{"a.yaml", YAML::Load("password: ENC[db_password]\n")}};
  auto r2 = r.resolve(ok);
  REQUIRE(r2);
  CHECK(r2->failures.empty());
  CHECK(ok[0].root["password"].as<std::string>() == "filepw-123");
}

TEST_CASE("with_values: the callback runs outside every lock (it may redact, log, or call back in)") {
  // Found by an outside review: the callback ran under the cache mutex, so sts::redact() (which
  // scrubs through every cache) deadlocked.
  auto fetcher = std::make_unique<FakeFetcher>();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  std::string redacted;
  bool nested = false;
  auto w = r.with_values({"db"}, [&](std::string_view, std::string_view v) {
    redacted = sts::redact("value=" + std::string(v));
    // A nested call into the same Resolver while the first callback runs.
    auto inner = r.with_values({"db"}, [&](std::string_view, std::string_view) { nested = true; });
    CHECK(inner);
    r.clear();   // dropping the value meanwhile: the view stays valid until the callback returns
    CHECK(v == "secret-for-db-v1");
    CHECK(sts::redact(std::string(v)) == "********");   // still known to redaction while in use
  });
  REQUIRE(w);
  CHECK(redacted == "value=********");
  CHECK(nested);
  CHECK(r.stats().cache_size == 0);
}

TEST_CASE("with_values: resolved handles are handed out even when others fail") {
  auto fetcher = std::make_unique<FakeFetcher>();
  fetcher->fail = {"bad"};
  sts::Resolver r(config_with_command(), std::move(fetcher));
  std::vector<std::string> seen;
  auto w = r.with_values({"good", "bad"}, [&](std::string_view h, std::string_view) { seen.emplace_back(h); });
  REQUIRE(w);
  CHECK(seen == std::vector<std::string>{"good"});
  REQUIRE(w->failures.size() == 1);
  CHECK(w->failures[0].handle == "bad");
  CHECK(r.stats().failures_by_code.at("handle_missing") == 1);
}

TEST_CASE("a value that is not UTF-8 cannot go into a YAML document: that handle fails, nothing changes") {
  struct BinaryFetcher : sts::Fetcher {
    sts::Result<sts::FetchResult> fetch(const std::vector<std::string>& handles) override {
      sts::FetchResult r;
      for (const auto& h : handles) r.values.emplace(h, sts::SecureBuffer(h == "bin" ? "\xff\xfe-binary" : "text-value"));
      return r;
    }
  };
  sts::Resolver r(config_with_command(), std::make_unique<BinaryFetcher>());
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("a: ENC[bin]\nb: ENC[txt]\n")}};
  auto report = r.resolve(docs);
  REQUIRE(report);
  REQUIRE(report->failures.size() == 1);
  CHECK(report->failures[0].handle == "bin");
  CHECK(report->failures[0].error.code == sts::Code::handle_value_invalid);
  CHECK_THAT(report->failures[0].error.message, Catch::Contains("its value is not valid UTF-8"));
  CHECK(docs[0].root["b"].as<std::string>() == "ENC[txt]");
  // The environment takes any bytes but NUL.
  sts::Environment env{{"X", "ENC[bin]"}};
  auto e = r.resolve_environment(env, sts::EnvScan::all);
  REQUIRE(e);
  CHECK(e->failures.empty());
}

TEST_CASE("substituted values are quoted strings: the tag is \"!\" whatever the original tag") {
  auto fetcher = std::make_unique<FakeFetcher>();
  sts::Resolver r(config_with_command(), std::move(fetcher));
  std::vector<sts::Document> docs{{"a.yaml", YAML::Load("a: ENC[x]\nb: !!str ENC[y]\nc: \"ENC[z]\"\n")}};
  REQUIRE(r.resolve(docs));
  for (const char* k : {"a", "b", "c"}) CHECK(docs[0].root[k].Tag() == "!");
}
