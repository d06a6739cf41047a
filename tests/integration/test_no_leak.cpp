// SPEC 3 and 6, for auditors: drive every failure mode of the fake backend through the library
// at trace level with an audit file, while the backend prints known secrets to its stderr.
// No secret appears in any log line, the audit file or any error text; after every mode the
// caller's fd table is unchanged and no backend process is left.
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <mutex>

namespace {

const std::vector<std::string> kHandles{"lk-one", "lk-two"};

// The known secrets: what the fake backend answers for kHandles ("val-<handle>").
std::vector<std::string> secrets() {
  std::vector<std::string> out;
  for (const auto& h : kHandles) out.push_back("val-" + h);
  return out;
}

struct Setup {
  sts::test::TempDir dir;
  std::string script = dir / "backend";
  std::string audit = dir / "audit.log";
  Setup() {
    sts::test::write_file(dir / "fake", sts::test::read_file(STS_FAKE_BACKEND), 0700);
    // Every run starts by echoing the secrets to stderr, then becomes the fake backend's mode.
    std::string body = "#!/bin/sh\necho \"debug: using";
    for (const auto& s : secrets()) body += " " + s;
    body += "\" >&2\nexec " + (dir / "fake") + " \"$@\"\n";
    sts::test::write_file(script, body, 0700);
  }
  sts::Config config(const std::string& mode) const {
    sts::Config c = sts::test::executable_config(script);
    sts::test::exec_of(c).arguments = {mode};
    sts::test::exec_of(c).timeout = std::chrono::milliseconds(1000);
    sts::test::exec_of(c).output_max_size = 256 * 1024;   // deep-json writes 100 KB of nesting
    c.audit_file = audit;
    return c;
  }
};

struct Captured {
  std::mutex mu;
  std::vector<std::string> lines;
};

}  // namespace

TEST_CASE("no secret in logs, audit records or errors across every backend failure mode, no fd or process left") {
  Setup setup;
  auto captured = std::make_shared<Captured>();
  sts::set_log_level(sts::LogLevel::trace);
  sts::set_log_callback([captured](sts::LogLevel, std::string_view line) {
    std::lock_guard<std::mutex> lock(captured->mu);
    captured->lines.emplace_back(line);
  });

  // The secrets become known values: cached by a resolver that stays alive throughout.
  sts::Resolver holder(setup.config("respond"));
  REQUIRE(holder.with_values(kHandles, [](std::string_view, std::string_view) {}));

  const std::vector<std::pair<std::string, sts::Code>> modes{
      {"respond", sts::Code::internal},   // success: Code unused
      {"echo-secret-to-stderr", sts::Code::internal},
      {"hang", sts::Code::backend_timeout},
      {"hang-with-grandchild", sts::Code::backend_timeout},
      {"ignore-sigterm", sts::Code::backend_timeout},
      {"flood-stdout", sts::Code::output_too_large},
      {"flood-stderr", sts::Code::output_too_large},
      {"exit-3-with-valid-json", sts::Code::backend_exit},
      {"killed-by-signal", sts::Code::backend_signal},
      {"bad-json", sts::Code::response_not_json},
      {"dup-keys", sts::Code::response_duplicate_key},
      {"deep-json", sts::Code::response_too_deep},
      {"non-utf8", sts::Code::response_bad_utf8},
  };
  std::vector<std::string> errors;
  const std::set<int> fds_before = sts::test::open_fds();
  for (const auto& [mode, code] : modes) {
    INFO("mode " << mode);
    {
      sts::Resolver r(setup.config(mode));
      auto got = r.with_values(kHandles, [](std::string_view, std::string_view) {});
      if (mode == "respond" || mode == "echo-secret-to-stderr") {
        REQUIRE(got);
        CHECK(got->failures.empty());
      } else {
        REQUIRE_FALSE(got);
        CHECK(got.error().code == code);
        errors.push_back(got.error().message);
      }
    }
    CHECK(sts::test::open_fds() == fds_before);
    CHECK(sts::test::child_pids().empty());
  }
  sts::set_log_callback({});
  sts::set_log_level(sts::LogLevel::warn);

  const std::string audit = sts::test::read_file(setup.audit);
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(captured->mu);
    lines = captured->lines;
  }
  // The evidence was produced: stderr was logged (redacted) and every run was audited (the
  // holder's run too).
  CHECK(std::count(audit.begin(), audit.end(), '\n') == static_cast<long>(modes.size() + 1));
  bool saw_mask = false;
  for (const auto& l : lines) saw_mask = saw_mask || l.find("debug: using ********") != std::string::npos;
  CHECK(saw_mask);

  for (const auto& secret : secrets()) {
    std::size_t in_logs = 0, in_errors = 0;
    for (const auto& l : lines) in_logs += l.find(secret) != std::string::npos;
    for (const auto& e : errors) in_errors += e.find(secret) != std::string::npos;
    // Counts only: a failing assertion must not print the secret either.
    CHECK(in_logs == 0);
    CHECK(in_errors == 0);
    CHECK(audit.find(secret) == std::string::npos);
  }
}
