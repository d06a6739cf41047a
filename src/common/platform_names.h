// File: platform_names.h
//
// How this operating system spells the names the platform-neutral code judges: what an absolute
// path is, the example paths messages show, the default folder of Docker secrets, and whether
// environment variable names ignore case. config.cpp and handle_scan.cpp ask here instead of
// std::filesystem (whose path(std::string) is the ANSI code page on Windows, and which in
// libstdc++ 12 knows no UNC or \\?\ roots) or exact string comparison.
//
//   if (!platform::is_absolute_path(text)) return error("want an absolute path, e.g. " +
//                                                       std::string(platform::example_path(ExamplePath::backend)));
//   if (env_name_key(name).starts_with("STS_")) ...       // "sts_x" is STS_X on Windows
//   if (const std::string* v = find_env(env, "STS_CONFIG")) ...
//
// POSIX (src/posix/platform_names_posix.cpp): absolute is a leading '/'; names are exact, as
// getenv compares them.
// Windows (src/windows/platform_names_windows.cpp): absolute is X:\ or X:/, \\server\share (either
// separator), \\?\X:\ and \\?\UNC\server\share; relative, drive-relative (C:x), rooted (\x) and
// device (\\.\) paths are not. Names compare ASCII case-insensitively, as GetEnvironmentVariableW
// does: the variable sts_secret_backend_command is STS_SECRET_BACKEND_COMMAND to every program.
//
// Thread-safety: pure functions.
#pragma once

#include "common/text.h"
#include "stsecrets/config.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace sts {

// The example paths of configuration messages, one per kind of setting.
enum class ExamplePath {
  backend,        // secret_backend_command, a named backend's command
  secrets_folder, // the root of a file backend
  secrets_json,   // the document of a file.json backend
  secrets_yaml,   // the document of a file.yaml backend
  any_folder,     // "a map, e.g. {root: <this>}"
  other_folder,   // a second folder, in the multi_secret_backends example
  audit_file,     // secret_audit_file
};

namespace platform {

// SPEC 2 "absolute path", on the bytes as written (UTF-8); never touches the file system.
bool is_absolute_path(std::string_view path) noexcept;

// "/opt/secrets/backend" on POSIX, "C:\Program Files\stsecrets\backend.exe" on Windows, ...
std::string_view example_path(ExamplePath which) noexcept;

// The root of a docker.secrets backend without one: where Docker mounts secrets in a container
// (/run/secrets; C:\ProgramData\Docker\secrets in a Windows container).
std::string_view docker_secrets_root() noexcept;

// A file path in a message, escaped like quote_text (controls, invalid UTF-8) and capped at
// `cap` bytes; on Windows its backslashes stay single: they are the separators, and a Windows
// file name holds neither a quote nor a control character that an escape could be confused with.
std::string shown_path(std::string_view path, std::size_t cap);

// Whether environment variable names ignore case (Windows) or are exact (POSIX).
bool env_names_ignore_case() noexcept;

}  // namespace platform

// The form in which the platform compares a variable name: upper-case ASCII on Windows, the name
// itself on POSIX.
inline std::string env_name_key(std::string_view name) {
  return platform::env_names_ignore_case() ? ascii_upper(name) : std::string(name);
}

// The variable `name` as the platform looks it up, or nullptr; the entry keeps the snapshot's
// spelling of the name. Windows: in any case; the exact spelling first, else the first in map
// order (a snapshot holds several spellings only when a parent built the block by hand).
inline const Environment::value_type* find_env_entry(const Environment& env, std::string_view name) {
  if (const auto it = env.find(name); it != env.end()) return &*it;
  if (!platform::env_names_ignore_case()) return nullptr;
  const std::string key = ascii_upper(name);
  for (const auto& entry : env) {
    if (entry.first.size() == key.size() && ascii_upper(entry.first) == key) return &entry;
  }
  return nullptr;
}

// The value of `name` as the platform looks it up (find_env_entry), or nullptr.
inline const std::string* find_env(const Environment& env, std::string_view name) {
  const auto* entry = find_env_entry(env, name);
  return entry != nullptr ? &entry->second : nullptr;
}

}  // namespace sts
