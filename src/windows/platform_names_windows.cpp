// How Windows spells paths and variable names (common/platform_names.h).
//
// Absolute paths: a drive root (X:\ or X:/), a UNC share (\\server\share, either separator), or
// the \\?\ forms of both (\\?\X:\, \\?\UNC\server\share), which skip Win32 name normalisation.
// Not absolute: "name", "C:name" (relative to drive C:'s current folder), "\name" (relative to
// the current drive), and device paths (\\.\pipe\x, \\.\C:), which name devices, not files.
// Whether a given setting may live on a share is the setting's rule: the executable check
// refuses UNC and \\?\ paths for the backend (executable_check_windows.cpp).
//
// Variable names: ASCII case-insensitive, as GetEnvironmentVariableW and every program that
// reads the environment compare them.
#if !defined(_WIN32)
#error "platform_names_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/platform_names.h"

namespace sts::platform {
namespace {

bool is_separator(char c) noexcept { return c == '\\' || c == '/'; }

bool is_drive_root(std::string_view p) noexcept {
  const auto letter = static_cast<unsigned char>(p.empty() ? '\0' : p[0]);
  const bool alpha = (letter >= 'A' && letter <= 'Z') || (letter >= 'a' && letter <= 'z');
  return p.size() >= 3 && alpha && p[1] == ':' && is_separator(p[2]);
}

// "server\share[\...]" after the leading "\\": a server that is not "." or "?" (the device and
// \\?\ namespaces) and a share name.
bool is_unc_share(std::string_view rest) noexcept {
  std::size_t cut = 0;
  while (cut < rest.size() && !is_separator(rest[cut])) ++cut;
  const std::string_view server = rest.substr(0, cut);
  if (server.empty() || server == "." || server == "?" || cut == rest.size()) return false;
  const std::string_view after = rest.substr(cut + 1);
  return !after.empty() && !is_separator(after.front());
}

}  // namespace

bool is_absolute_path(std::string_view path) noexcept {
  if (is_drive_root(path)) return true;
  if (path.starts_with("\\\\?\\")) {
    const std::string_view rest = path.substr(4);
    if (is_drive_root(rest) && rest[2] == '\\') return true;  // \\?\ paths take no '/'
    return rest.size() > 4 && (rest[0] | 0x20) == 'u' && (rest[1] | 0x20) == 'n' && (rest[2] | 0x20) == 'c' &&
           rest[3] == '\\' && is_unc_share(rest.substr(4));
  }
  return path.size() > 2 && is_separator(path[0]) && is_separator(path[1]) && is_unc_share(path.substr(2));
}

std::string_view example_path(ExamplePath which) noexcept {
  switch (which) {
    case ExamplePath::backend: return "C:\\Program Files\\stsecrets\\backend.exe";
    case ExamplePath::secrets_folder: return "C:\\ProgramData\\StackState\\secrets";
    case ExamplePath::secrets_json: return "C:\\ProgramData\\StackState\\secrets.json";
    case ExamplePath::secrets_yaml: return "C:\\ProgramData\\StackState\\secrets.yaml";
    case ExamplePath::any_folder: return "C:\\path\\to\\secrets";
    case ExamplePath::other_folder: return "D:\\secrets";
    case ExamplePath::audit_file: return "C:\\ProgramData\\StackState\\logs\\secrets-audit.jsonl";
  }
  return "C:\\path\\to\\file";
}

std::string_view docker_secrets_root() noexcept { return "C:\\ProgramData\\Docker\\secrets"; }

std::string shown_path(std::string_view path, std::size_t cap) {
  // quote_text's escapes, then each "\\" it made of a separator back to one backslash.
  const std::string quoted = quote_text(path, cap);
  std::string out;
  out.reserve(quoted.size());
  for (std::size_t i = 0; i < quoted.size(); ++i) {
    out += quoted[i];
    if (quoted[i] == '\\' && i + 1 < quoted.size() && quoted[i + 1] == '\\') ++i;
  }
  return out;
}

bool env_names_ignore_case() noexcept { return true; }

}  // namespace sts::platform
