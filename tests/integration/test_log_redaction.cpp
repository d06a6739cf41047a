// SPEC 6 "Logs", as an outside review attacked it: values reached the log from failed runs.
// A backend that answers with values and then fails (non-zero exit, duplicate key, output cap,
// invalid JSON) and echoes those values to its stderr must not get them logged, not whole, not
// JSON-escaped, and not as a fragment cut by the 4 KiB stderr tail. Real backend processes
// (shell scripts), the log captured through the library's callback at trace level.
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Capture {
  std::mutex mu;
  std::string all;
  Capture() {
    sts::set_log_level(sts::LogLevel::trace);
    sts::set_log_callback([this](sts::LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      all.append(line).append("\n");
    });
  }
  ~Capture() {
    sts::set_log_callback({});
    sts::set_log_level(sts::LogLevel::warn);
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu);
    return all;
  }
};

// A backend script in a private folder: prints `out` on stdout, `err` on stderr, exits `status`.
std::string backend(const sts::test::TempDir& dir, const std::string& out, const std::string& err, int status) {
  fs::create_directories(dir / "bin");
  fs::permissions(dir / "bin", fs::perms::owner_all);
  sts::test::write_file(dir / "bin/out", out, 0600);
  sts::test::write_file(dir / "bin/err", err, 0600);
  const std::string script = dir / "bin/backend";
  sts::test::write_file(script,
                        "#!/bin/sh\ncat >/dev/null\ncat '" + (dir / "bin/out") + "'\ncat '" + (dir / "bin/err") +
                            "' >&2\nexit " + std::to_string(status) + "\n",
                        0700);
  return script;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

// Runs one resolution of handle "h" against the backend and returns the captured log.
std::string run(const std::string& script, std::size_t output_cap = 1048576) {
  Capture capture;
  sts::Config cfg = sts::test::executable_config(script);
  sts::test::exec_of(cfg).output_max_size = output_cap;
  sts::Resolver resolver(cfg);
  auto r = resolver.with_values({"h"}, [](std::string_view, std::string_view) {});
  return capture.text();
}

const std::string kValue = "fail-run-Secret-7Qz9";   // never known to any cache in these tests

}  // namespace

TEST_CASE("logs: a failed run's stdout values are masked in its logged stderr (non-zero exit)") {
  sts::test::TempDir dir;
  const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + kValue + "\"}}", "debug: answering " + kValue + "\n", 3));
  CHECK(count(log, "stderr") >= 1);    // the tail was logged
  CHECK(count(log, "debug: answering ********") == 1);
  CHECK(count(log, kValue) == 0);      // counts only: a failure must not print the value
}

TEST_CASE("logs: a failed run's stdout values are masked (duplicate key, invalid JSON, over the cap)") {
  sts::test::TempDir dir;
  SECTION("duplicate key") {
    const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + kValue + "\"},\"h\":{\"value\":\"x\"}}",
                                        "echo " + kValue + "\n", 0));
    CHECK(count(log, "echo ********") == 1);
    CHECK(count(log, kValue) == 0);
  }
  SECTION("invalid JSON after the value") {
    const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + kValue + "\"}} trailing", "echo " + kValue + "\n", 0));
    CHECK(count(log, "echo ********") == 1);
    CHECK(count(log, kValue) == 0);
  }
  SECTION("stderr over the cap: the values stdout held are still known") {
    // stdout is complete before stderr floods past the cap; the run is killed at the cap.
    std::string err;
    while (err.size() < 64 * 1024) err += "still echoing " + kValue + "\n";
    const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + kValue + "\"}}", err, 0), 32 * 1024);
    CHECK(count(log, "stderr (last 4096 of") == 1);
    CHECK(count(log, "still echoing ********") >= 1);
    CHECK(count(log, kValue) == 0);
    CHECK(count(log, kValue.substr(kValue.size() - 8)) == 0);
  }
}

TEST_CASE("logs: a JSON-escaped value is masked like the value") {
  sts::test::TempDir dir;
  // The value holds a quote, a backslash and a non-ASCII letter; the backend echoes it escaped
  // the way Python's json.dumps writes it.
  const std::string value_json = "pa\\\"ss\\\\w\\u00f6rd-Kx81";   // as written in stdout
  const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + value_json + "\"}}",
                                      "request done, answered {\"h\": \"" + value_json + "\"}\n", 0));
  CHECK(count(log, "answered {\"h\": \"********\"}") == 1);
  CHECK(count(log, "w\\u00f6rd-Kx81") == 0);
  CHECK(count(log, "rd-Kx81") == 0);
}

TEST_CASE("logs: a value cut by the 4 KiB stderr tail leaves no 8-byte fragment") {
  sts::test::TempDir dir;
  // stderr: the value, then exactly so much padding that the last 4096 bytes start 6 bytes into it.
  const std::string padding(4096 - (kValue.size() - 6), '.');
  const std::string log = run(backend(dir, "{\"h\":{\"value\":\"" + kValue + "\"}}", kValue + padding, 1));
  CHECK(count(log, "stderr (last 4096 of") == 1);
  CHECK(count(log, kValue.substr(6)) == 0);         // the 14-byte fragment the tail starts with
  CHECK(count(log, kValue.substr(6, 8)) == 0);
  CHECK(count(log, "): ********...") == 1);
}
