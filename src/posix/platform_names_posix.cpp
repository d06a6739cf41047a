// How POSIX spells paths and variable names (common/platform_names.h): an absolute path starts
// with '/', and environment variable names are exact (getenv compares bytes).
#if defined(_WIN32)
#error "platform_names_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/platform_names.h"

namespace sts::platform {

bool is_absolute_path(std::string_view path) noexcept { return !path.empty() && path.front() == '/'; }

std::string_view example_path(ExamplePath which) noexcept {
  switch (which) {
    case ExamplePath::backend: return "/opt/secrets/backend";
    case ExamplePath::secrets_folder: return "/etc/stackstate-agent/secrets";
    case ExamplePath::secrets_json: return "/etc/stackstate-agent/secrets.json";
    case ExamplePath::secrets_yaml: return "/etc/stackstate-agent/secrets.yaml";
    case ExamplePath::any_folder: return "/path/to/secrets";
    case ExamplePath::other_folder: return "/srv/secrets";
    case ExamplePath::audit_file: return "/var/log/stackstate-agent/secrets-audit.jsonl";
  }
  return "/path/to/file";
}

std::string_view docker_secrets_root() noexcept { return "/run/secrets"; }

std::string shown_path(std::string_view path, std::size_t cap) { return quote_text(path, cap); }

bool env_names_ignore_case() noexcept { return false; }

}  // namespace sts::platform
