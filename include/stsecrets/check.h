// File: stsecrets/check.h
//
// "Is my secrets setup right?" as data: the main config file's own rules (SPEC 2), each
// backend's rules (SPEC 5 for an executable, the provider's for a built-in one), rule by rule,
// each with the exact fix. `stsecrets check` prints this (as text or JSON).
//
//   sts::CheckReport report = sts::check_config(cfg);
//   for (auto& b : report.backends)
//     for (auto& rule : b.rules) std::cout << (rule.ok ? "OK  " : "FAIL") << rule.name << "\n";
//
// Thread-safety: pure function of the config and the file system; runs nothing.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"

#include <optional>
#include <string>
#include <vector>

namespace sts {

struct CheckRule {
  std::string name;     // stable short name, e.g. "owner", "permissions", "directory /opt", "sha256 pin"
  bool ok = false;
  std::string detail;   // what was found
  std::string fix;      // the command that fixes it; empty when ok
};

// One backend's report.
struct ExecutableReport {
  std::string backend;               // "" for the default backend, else its multi_secret_backends name
  std::string type;                  // backend_type_name(): "executable", "file", ...
  std::string path;                  // the executable, the root folder or the document
  std::string owner;                 // user name (or uid) / account name (or SID)
  std::string group;                 // POSIX only
  std::string mode;                  // POSIX: "0700"
  std::vector<std::string> acl;      // Windows: one line per ACE
  std::string sha256;                // lower-case hex of the bytes checked; "" if not readable
  std::vector<CheckRule> rules;      // every rule evaluated, in order
  std::optional<Error> error;        // the first failing rule as an Error (Code::exec_rejected, ...)
  bool ok() const noexcept { return !error.has_value(); }
};

struct CheckReport {
  std::string config_file;                 // the main config file checked ("" when not loaded from a file)
  std::vector<CheckRule> config_rules;     // SPEC 2: the file and its folders
  std::vector<ExecutableReport> backends;  // the default backend first, then the named ones
  struct Containment {
    std::string name;         // "pid-namespace", "subreaper", "process-group", "job-object"
    std::string guarantees;   // what it guarantees, one sentence
    std::string limits;       // why nothing stronger is in force here; "" when nothing is missing
  } containment;                           // how backend process trees are contained (SPEC 4)
  std::optional<Error> error;              // the first failure: of the config file, else of a backend
  bool ok() const noexcept { return !error.has_value(); }
};

// Every check of SPEC 2 and 5 (and the providers' own) for the config, without running anything.
// A config without any backend yields Code::config_no_backend.
CheckReport check_config(const Config& config);

}  // namespace sts
