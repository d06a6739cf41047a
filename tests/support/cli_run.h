// File: support/cli_run.h
//
// Running the real stsecrets binary (STS_CLI) from a test: a clean environment (PATH, LANG and
// what the test adds), --log-level trace, stdin bytes, and the checks every run gets: no known
// secret value on stderr. Used by the integration tests of named backends and of
// `stsecrets backend`.
//
//   auto r = sts::test::cli({"resolve", "--config", cfg}, {"DB_TOKEN=x"});
//   CHECK(sts::test::error_lines(r.err).size() == 1);
#pragma once

#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace sts::test {

// The exit status, with the run's stderr shown when it is not the expected one.
#define STS_CHECK_EXIT(r, n)          \
  do {                                \
    INFO("stderr: " << (r).err);      \
    CHECK((r).exit_code == (n));      \
  } while (false)
#define STS_REQUIRE_EXIT(r, n)        \
  do {                                \
    INFO("stderr: " << (r).err);      \
    REQUIRE((r).exit_code == (n));    \
  } while (false)

struct CliRun {
  std::vector<std::string> args;
  std::vector<std::string> env;      // NAME=VALUE beyond PATH and LANG
  std::string input;                 // stdin bytes (stdin is closed after them)
  std::vector<std::string> secrets;  // values that must not appear on stderr
};

inline CommandResult cli(const CliRun& run) {
  std::vector<std::string> argv = {STS_CLI, "--log-level", "trace"};
  argv.insert(argv.end(), run.args.begin(), run.args.end());
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LANG=C"};
  env.insert(env.end(), run.env.begin(), run.env.end());
  CommandResult r = run_command(argv, run.input, env, std::chrono::seconds(90));
  for (const auto& s : run.secrets) {
    INFO("stderr: " << r.err);
    CHECK(r.err.find(s) == std::string::npos);   // a boolean: the value itself is never printed
  }
  return r;
}

// The `stsecrets: error: ` lines of a stderr (log lines are interleaved at trace level).
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("stsecrets: error: ", 0) == 0) out.push_back(line);
  }
  return out;
}

}  // namespace sts::test
