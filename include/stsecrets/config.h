// File: stsecrets/config.h
//
// The typed configuration of SPEC 2 and SPEC 8, read from the main YAML config plus STS_*
// environment overrides: the default backend (secret_backend_*), the named backends
// (multi_secret_backends), and the settings of the cache and the audit log. Every bad key, type
// or value is an Error (Code::config_invalid) whose message names the key, the value it got and
// what it wants.
//
//   sts::Environment env = sts::current_environment();
//   auto cfg = sts::load_config_file("/etc/stackstate-agent/stackstate.yaml", env);
//   auto route = sts::route_handle(*cfg, "vault;db/password");   // backend "vault", key "db/password"
//
// Rules beyond SPEC 2 (decided here; docs/configuration.md lists them for operators):
// - Strict types: numbers and booleans are unquoted YAML scalars (or !!int/!!float/!!bool);
//   booleans are true/false (True/TRUE/False/FALSE too), never yes/no/on/off/y/n/1/0.
// - Null or "" leaves the default. A key set twice is an error.
// - Unknown secret_* keys (and unknown STS_SECRET_* variables) are errors, with a suggestion; so
//   are unknown keys inside secret_backend_config and inside a named backend.
// - Overrides: STS_<KEY>. Command, sha256, type, protocol version and audit file take the variable
//   verbatim; the others are parsed as one YAML value: STS_SECRET_BACKEND_ARGUMENTS='["--a", "b"]',
//   STS_SECRET_BACKEND_CONFIG='{root: /srv/secrets}', STS_MULTI_SECRET_BACKENDS='{files: {...}}'.
//   An empty variable is ignored.
// - timeout: 0 < t <= 86400 s, rounded up to ms; refresh: 0..31536000 s; output_max_size:
//   1..1 GiB; audit max size: 0 (no rotation) or 4096..1 TiB.
// - A command together with a type, a type without its config (where the type needs one), or a
//   config without a type is an error.
// - Messages: `<source>: <key>: got "<value>", want <what>`; `environment: STS_<KEY>: ...` for
//   overrides.
//
// Fail closed (handles present, no backend) is enforced where handles are resolved, because only
// there is it known whether handles exist (route_handle, sts::Resolver).
//
// Thread-safety: plain values.
#pragma once

#include "stsecrets/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML { class Node; }

namespace sts {

// A snapshot of environment variables, name -> value (UTF-8 on Windows).
using Environment = std::map<std::string, std::string, std::less<>>;
// The process's environment (POSIX environ; Windows GetEnvironmentStringsW).
Environment current_environment();

// What answers a backend's handles (SPEC 8).
enum class BackendType : std::uint8_t {
  executable,            // a checked, hardened backend process (SPEC 3-6)
  file,                  // one file per handle under root ("file.text" is an alias)
  file_json,             // string leaves of one JSON document, nested keys joined with "/"
  file_yaml,             // the same for a YAML document
  docker_secrets,        // file, root /run/secrets by default
  systemd_credentials,   // file, root $CREDENTIALS_DIRECTORY
  env,                   // the caller's variable named by the handle, if in allowed_keys
};
// "executable", "file", "file.json", "file.yaml", "docker.secrets", "systemd.credentials", "env".
std::string_view backend_type_name(BackendType type) noexcept;
// Accepts the names above and "file.text"; nullopt otherwise.
std::optional<BackendType> parse_backend_type(std::string_view name) noexcept;

enum class ProtocolVersion : std::uint8_t { v1_0, v1_1 };   // secret_backend_protocol_version
std::string_view protocol_version_name(ProtocolVersion version) noexcept;   // "1.0", "1.1"

// The settings of an executable backend (top-level secret_backend_* keys, or the `config` of a
// named backend of type executable). Defaults as in SPEC 2.
struct ExecutableSettings {
  std::string command;                           // absolute path; required
  std::vector<std::string> arguments;            // argv[1..]; default []; never a shell
  std::chrono::milliseconds timeout{30000};      // default 30 s, > 0
  std::size_t output_max_size = 1048576;         // per stream (stdout, stderr)
  bool allow_group_exec = false;                 // POSIX group rule of SPEC 5; an error on Windows
  std::string sha256;                            // lower-case hex pin, or "" for none
  std::vector<std::string> environment;          // variable names copied into the backend's env
  ProtocolVersion protocol = ProtocolVersion::v1_0;
};

// The settings of a built-in provider (secret_backend_config, or a named backend's `config`).
struct ProviderSettings {
  std::string root;                       // file, docker.secrets, systemd.credentials: the folder
  std::string path;                       // file.json, file.yaml: the document
  std::vector<std::string> allowed_keys;  // env: the variables a handle may name
};

struct Backend {
  std::string name;                       // "" for the default backend, else its multi_secret_backends key
  BackendType type = BackendType::executable;
  ExecutableSettings exec;                // type executable
  ProviderSettings provider;              // built-in types
  bool remove_trailing_line_break = false;  // secret_backend_remove_trailing_line_break (or the entry's)
  std::string where;                      // "stackstate.yaml: multi_secret_backends.vault", for messages
  // "executable /opt/backend", "file /etc/secrets", "file.json /etc/s.json", "env": for messages and audit.
  std::string describe() const;
};

struct Config {
  std::optional<Backend> default_backend;                 // secret_backend_command or secret_backend_type
  std::map<std::string, Backend, std::less<>> named;      // multi_secret_backends
  std::chrono::milliseconds refresh_interval{0};          // secret_refresh_interval; 0 = disabled
  bool refresh_scatter = true;                            // secret_refresh_scatter
  std::string audit_file;                                 // secret_audit_file; "" = no audit log
  std::uint64_t audit_file_max_size = 10485760;           // secret_audit_file_max_size; 0 = never rotate
  std::string source;                                     // where it came from, for messages
  std::string file;                                       // the main config file, when loaded by load_config_file:
                                                          // checked like the executable before a backend runs (SPEC 2)

  bool has_backend() const noexcept { return default_backend.has_value() || !named.empty(); }
  // Every backend, the default first, then the named ones by name.
  std::vector<const Backend*> backends() const;
};

// Where a handle goes (SPEC 1): with multi_secret_backends configured, ENC[name;key] goes to the
// backend `name` (split at the first ';'); otherwise, and for a handle without ';', the whole
// handle is the key of the default backend.
struct Route {
  const Backend* backend = nullptr;
  std::string_view key;      // a view into the handle
};
// Errors: Code::backend_unknown (the name is not configured), Code::config_no_backend (no default
// backend for a handle without a name; fail closed). Messages do not name the handle's location:
// the caller adds it.
Result<Route> route_handle(const Config& config, std::string_view handle);

// Parses the settings of an already-loaded main config document. `source` names it in errors.
Result<Config> load_config(const YAML::Node& root, const Environment& env, std::string_view source);
// Reads and parses a main config file (Code::config_unreadable when it cannot be read or parsed).
Result<Config> load_config_file(const std::string& path, const Environment& env);

}  // namespace sts
