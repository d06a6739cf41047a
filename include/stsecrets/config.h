// File: stsecrets/config.h
//
// The typed backend configuration of SPEC 2, read from the main YAML config plus STS_*
// environment overrides. Every bad key, type or value is an Error (Code::config_invalid) whose
// message names the key, the value it got and what it wants.
//
//   sts::Environment env = sts::current_environment();
//   auto cfg = sts::load_config_file("/etc/stackstate-agent/stackstate.yaml", env);
//
// Fail-closed (handles present, no backend) is enforced where handles are resolved
// (sts::Resolver), because only there is it known whether handles exist.
//
// Rules beyond SPEC 2 (decided here; see src/common/config.cpp):
// - Strict types: numbers and booleans are unquoted YAML scalars (or !!int/!!float/!!bool);
//   booleans are true/false (True/TRUE/False/FALSE too), never yes/no/on/off/y/n/1/0.
// - Null or "" leaves the default. A key set twice is an error.
// - Unknown secret_* keys (and unknown STS_SECRET_* variables) are errors, with a suggestion.
// - Overrides: STS_<KEY>. Command, sha256, type and audit file take the variable verbatim; the
//   others are parsed as one YAML value: STS_SECRET_BACKEND_ARGUMENTS='["--a", "b"]',
//   STS_SECRET_BACKEND_CONFIG='{root: /srv/secrets}'. An empty variable is ignored.
// - timeout: 0 < t <= 86400 s, rounded up to ms; refresh: 0..31536000 s; output_max_size:
//   1..1 GiB; secret_backend_config accepts only root; config without type (or type without
//   config, or command with type) is an error.
// - Messages: `<source>: <key>: got "<value>", want <what>`, `environment: STS_<KEY>: ...` for
//   overrides; load_config_file syntax errors keep yaml-cpp's mark and the fixed part of its
//   message only, never input text.
//
// Thread-safety: plain values.
#pragma once

#include "stsecrets/error.h"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace YAML { class Node; }

namespace sts {

// A snapshot of environment variables, name -> value.
using Environment = std::map<std::string, std::string, std::less<>>;
Environment current_environment();

struct BackendConfig {
  std::string command;                               // secret_backend_command; "" = unset; absolute
  std::vector<std::string> arguments;                // secret_backend_arguments; default []
  std::chrono::milliseconds timeout{30000};          // secret_backend_timeout; default 30 s, > 0
  std::size_t output_max_size = 1048576;             // secret_backend_output_max_size; per stream
  bool allow_group_exec = false;                     // secret_backend_command_allow_group_exec_perm
  std::string sha256;                                // secret_backend_command_sha256; lower-case hex or ""
  bool remove_trailing_line_break = false;           // secret_backend_remove_trailing_line_break
  std::vector<std::string> environment;              // secret_backend_environment; allow-list of names
  std::string backend_type;                          // secret_backend_type; "" or "file"
  std::string file_root;                             // secret_backend_config.root when type is file
  std::chrono::milliseconds refresh_interval{0};     // secret_refresh_interval; 0 = disabled
  std::string audit_file;                            // secret_audit_file; "" = no audit log
  std::string source;                                // the file it came from, for messages

  bool has_backend() const noexcept { return !command.empty() || !backend_type.empty(); }
};

// Parses the secret_* keys of an already-loaded main config document. `source` names it in errors.
Result<BackendConfig> load_config(const YAML::Node& root, const Environment& env, std::string_view source);
// Reads and parses a main config file (Code::config_unreadable when it cannot be read or parsed).
Result<BackendConfig> load_config_file(const std::string& path, const Environment& env);

}  // namespace sts
