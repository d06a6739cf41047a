// File: stsecrets/check.h
//
// "Is my security backend set up right?" as data: what the executable check of SPEC 5 found,
// rule by rule, each with the exact fix. `stsecrets check` prints this.
//
//   auto report = sts::check_backend(cfg);
//   for (auto& rule : report.rules) std::cout << (rule.ok ? "OK  " : "FAIL") << rule.name << "\n";
//
// Thread-safety: pure function of the config and the file system.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"

#include <optional>
#include <string>
#include <vector>

namespace sts {

struct CheckRule {
  std::string name;     // stable short name, e.g. "owner", "mode", "ancestor /opt", "sha256"
  bool ok = false;
  std::string detail;   // what was found
  std::string fix;      // the command that fixes it; empty when ok
};

struct ExecutableReport {
  std::string path;
  std::string owner;                 // user name (or uid) / account name (or SID)
  std::string group;                 // POSIX only
  std::string mode;                  // POSIX: "0700"
  std::vector<std::string> acl;      // Windows: one line per ACE
  std::string sha256;                // lower-case hex of the bytes checked; "" if not readable
  std::vector<CheckRule> rules;      // every rule evaluated, in order
  std::optional<Error> error;        // the first failing rule as an Error (Code::exec_rejected, ...)
  bool ok() const noexcept { return !error.has_value(); }
};

// Runs every check of SPEC 5 for the configured executable without running it.
// For secret_backend_type: file it reports the root folder instead (no executable checks).
ExecutableReport check_backend(const BackendConfig& config);

}  // namespace sts
