// The typed configuration (stsecrets/config.h; SPEC 2 and 8): top-level settings of the main
// config plus STS_* overrides, the default backend, and multi_secret_backends.
//
// How it reads: every top-level setting is described once in kSettings (its key and the kind of
// value it takes). The file's settings and then the environment's overrides are applied in
// turn into Collected (typed values, plus the raw YAML of the two map settings); finish() then
// builds the default backend and the named ones, and checks the rules that involve several keys.
// A named executable backend's `config` takes the same value rules as the top-level keys
// (setting_kind() maps its short names onto them), so the two cannot drift.
#include "stsecrets/config.h"

#include "common/handle_sites.h"
#include "common/platform_names.h"
#include "common/text.h"
#include "stsecrets/documents.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace sts {
namespace {

constexpr std::string_view kEnvPrefix = "STS_";
constexpr std::size_t kMaxShownValue = 120;
constexpr std::int64_t kMaxTimeoutSeconds = 86400;
constexpr std::int64_t kMaxRefreshSeconds = 31536000;
constexpr std::uint64_t kMaxOutputSize = 1024ULL * 1024 * 1024;
constexpr std::uint64_t kMinAuditSize = 4096;
constexpr std::uint64_t kMaxAuditSize = 1024ULL * 1024 * 1024 * 1024;

// ---- the settings, as data ---------------------------------------------------------------

enum class Kind : std::uint8_t {
  command, arguments, timeout, output_max, group_exec, sha256, trailing, environment,
  type, backend_config, refresh, scatter, audit_file, audit_max, protocol, multi,
};

struct Setting {
  std::string_view key;
  Kind kind;
  bool verbatim_env;   // the STS_ override is the string itself, not a YAML value
};

constexpr Setting kSettings[] = {
    {"secret_backend_command", Kind::command, true},
    {"secret_backend_arguments", Kind::arguments, false},
    {"secret_backend_timeout", Kind::timeout, false},
    {"secret_backend_output_max_size", Kind::output_max, false},
    {"secret_backend_command_allow_group_exec_perm", Kind::group_exec, false},
    {"secret_backend_command_sha256", Kind::sha256, true},
    {"secret_backend_remove_trailing_line_break", Kind::trailing, false},
    {"secret_backend_environment", Kind::environment, false},
    {"secret_backend_type", Kind::type, true},
    {"secret_backend_config", Kind::backend_config, false},
    {"secret_backend_protocol_version", Kind::protocol, true},
    {"secret_refresh_interval", Kind::refresh, false},
    {"secret_refresh_scatter", Kind::scatter, false},
    {"secret_audit_file", Kind::audit_file, true},
    {"secret_audit_file_max_size", Kind::audit_max, false},
    {"multi_secret_backends", Kind::multi, false},
};

const Setting* find_setting(std::string_view key) {
  for (const auto& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// The keys of a named executable backend's config, onto the same value rules.
constexpr std::pair<std::string_view, Kind> kExecutableEntryKeys[] = {
    {"command", Kind::command},         {"arguments", Kind::arguments},
    {"timeout", Kind::timeout},         {"output_max_size", Kind::output_max},
    {"allow_group_exec_perm", Kind::group_exec}, {"sha256", Kind::sha256},
    {"environment", Kind::environment}, {"remove_trailing_line_break", Kind::trailing},
    {"protocol_version", Kind::protocol},
};

// ---- messages ----------------------------------------------------------------------------

std::string shown(std::string_view s) { return quote_text(s, kMaxShownValue); }
// The config file's path at the head of a message (Windows: single backslashes).
std::string shown_source(std::string_view path) { return platform::shown_path(path, kMaxShownValue); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "did you mean X?" for a close match among `known`, else the list of them.
template <class Keys>
std::string unknown_key_hint(std::string_view key, const Keys& known, std::string_view what) {
  std::string_view best;
  std::size_t best_distance = 4;  // suggest only close matches
  for (std::string_view k : known) {
    const std::size_t d = edit_distance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (!best.empty()) return "did you mean " + std::string(best) + "?";
  std::string list = "the known " + std::string(what) + " are";
  const char* sep = " ";
  for (std::string_view k : known) {
    list += sep;
    list += k;
    sep = ", ";
  }
  return list;
}

std::vector<std::string_view> top_level_keys() {
  std::vector<std::string_view> out;
  for (const auto& s : kSettings) out.push_back(s.key);
  return out;
}

// Where a value came from: "<source>: <key path>" or "environment: STS_<KEY>".
struct Where {
  std::string prefix;
  Where at(std::string_view sub) const { return Where{prefix + "." + shown(sub)}; }
  Where index(std::size_t i) const { return Where{prefix + "[" + std::to_string(i) + "]"}; }
};

Error invalid(const Where& where, std::string_view what) {
  return make_error(Code::config_invalid, where.prefix + ": " + std::string(what));
}

// mention_quotes: the caller wants a number or boolean, so say that the value was quoted.
std::string describe(const YAML::Node& node, bool mention_quotes = false) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "null";
    case YAML::NodeType::Scalar: break;
  }
  const std::string quoted = "\"" + shown(node.Scalar()) + "\"";
  return mention_quotes && node.Tag() == "!" ? "the quoted string " + quoted : quoted;
}

Error bad_value(const Where& where, const YAML::Node& node, std::string_view want, bool mention_quotes = false) {
  return invalid(where, "got " + describe(node, mention_quotes) + ", want " + std::string(want));
}

// ---- typed values ------------------------------------------------------------------------

bool is_unset(const YAML::Node& node) {
  return !node.IsDefined() || node.IsNull() || (node.IsScalar() && node.Scalar().empty());
}

// A scalar that the YAML core schema may read as a number or boolean: plain, or explicitly tagged.
bool plain_or_tagged(const YAML::Node& node, std::initializer_list<std::string_view> tags) {
  if (!node.IsScalar()) return false;
  const std::string& tag = node.Tag();
  if (tag == "?" || tag.empty()) return true;
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

bool contains_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Parses "30", "0.5", ".25", "2." into milliseconds, rounding up; nullopt for anything else
// (signs, exponents, nan, inf) and for values above max_seconds.
std::optional<std::int64_t> parse_seconds(std::string_view s, std::int64_t max_seconds) {
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  auto all_digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!all_digits(whole) || !all_digits(frac)) return std::nullopt;
  std::int64_t seconds = 0;
  for (char c : whole) {
    seconds = seconds * 10 + (c - '0');
    if (seconds > max_seconds) return std::nullopt;
  }
  std::int64_t millis = 0;
  for (std::size_t i = 0; i < 3; ++i) millis = millis * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  if (frac.size() > 3 && frac.substr(3).find_first_not_of('0') != std::string_view::npos) ++millis;
  const std::int64_t total = seconds * 1000 + millis;
  if (total > max_seconds * 1000) return std::nullopt;
  return total;
}

Result<std::string> get_string(const Where& where, const YAML::Node& node, std::string_view want) {
  if (!node.IsScalar()) return bad_value(where, node, want);
  if (contains_nul(node.Scalar())) return invalid(where, "contains a NUL byte; remove it");
  return node.Scalar();
}

// "e.g. /opt/secrets/backend" (POSIX) or "e.g. C:\Program Files\stsecrets\backend.exe" (Windows).
std::string example(ExamplePath which) { return std::string(platform::example_path(which)); }

// The platform's rule (platform_names.h), on the UTF-8 text as written: no std::filesystem::path,
// whose std::string constructor is the ANSI code page on Windows.
Result<std::string> get_absolute_path(const Where& where, const YAML::Node& node, ExamplePath which) {
  const std::string want = "an absolute path, e.g. " + example(which);
  auto s = get_string(where, node, want);
  if (!s) return s;
  if (!platform::is_absolute_path(*s)) return bad_value(where, node, want);
  return s;
}

Result<bool> get_bool(const Where& where, const YAML::Node& node) {
  constexpr std::string_view want = "true or false";
  if (plain_or_tagged(node, {"tag:yaml.org,2002:bool"})) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    const std::string l = ascii_lower(s);
    if (l == "yes" || l == "no" || l == "on" || l == "off" || l == "y" || l == "n" || l == "1" || l == "0") {
      return bad_value(where, node, "true or false (yes/no/on/off/y/n/1/0 are not accepted)");
    }
  }
  if (node.IsScalar() && node.Tag() == "!") return bad_value(where, node, "true or false, without quotes", true);
  return bad_value(where, node, want);
}

Result<std::chrono::milliseconds> get_seconds(const Where& where, const YAML::Node& node, bool allow_zero,
                                              std::int64_t max_seconds) {
  const std::string want = allow_zero
      ? "a number of seconds >= 0 (integer or decimal, at most " + std::to_string(max_seconds) + "; 0 disables)"
      : "a number of seconds > 0 (integer or decimal, at most " + std::to_string(max_seconds) + ")";
  if (!plain_or_tagged(node, {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})) {
    if (node.IsScalar() && node.Tag() == "!") return bad_value(where, node, want + ", without quotes", true);
    return bad_value(where, node, want);
  }
  const auto ms = parse_seconds(node.Scalar(), max_seconds);
  if (!ms || (!allow_zero && *ms == 0)) return bad_value(where, node, want);
  return std::chrono::milliseconds(*ms);
}

// A whole number in [lo, hi]; `zero_ok` also accepts 0.
Result<std::uint64_t> get_count(const Where& where, const YAML::Node& node, std::uint64_t lo, std::uint64_t hi,
                                bool zero_ok, const std::string& want) {
  if (!plain_or_tagged(node, {"tag:yaml.org,2002:int"})) {
    if (node.IsScalar() && node.Tag() == "!") return bad_value(where, node, want + ", without quotes", true);
    return bad_value(where, node, want);
  }
  const std::string& s = node.Scalar();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return bad_value(where, node, want);
  std::uint64_t v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > hi) return bad_value(where, node, want);
  }
  if (v == 0 && zero_ok) return v;
  if (v < lo) return bad_value(where, node, want);
  return v;
}

Result<std::vector<std::string>> get_string_list(const Where& where, const YAML::Node& node, std::string_view want,
                                                 bool (*valid_item)(const std::string&), std::string_view item_want) {
  if (!node.IsSequence()) return bad_value(where, node, want);
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : node) {
    const Where at = where.index(i++);
    if (!item.IsScalar()) return bad_value(at, item, item_want);
    if (contains_nul(item.Scalar())) return invalid(at, "contains a NUL byte; remove it");
    if (valid_item != nullptr && !valid_item(item.Scalar())) return bad_value(at, item, item_want);
    out.push_back(item.Scalar());
  }
  return out;
}

bool is_variable_name(const std::string& s) {
  if (s.empty()) return false;
  const auto first = static_cast<unsigned char>(s[0]);
  if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// A backend name: what ENC[name;key] can spell, and readable in messages.
bool is_backend_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

std::string type_list(bool builtin_only = false) {
  std::string out;
  if (!builtin_only) out = "executable";
  for (auto t : {BackendType::file, BackendType::file_json, BackendType::file_yaml,
                 BackendType::docker_secrets, BackendType::systemd_credentials, BackendType::env}) {
    if (!out.empty()) out += ", ";
    out += backend_type_name(t);
  }
  return out;
}

// A handle anywhere in a setting's value: the one walker, without the top-level rule.
bool holds_handle(const YAML::Node& node) {
  bool found = false;
  Status walked = walk_handle_sites(node, WalkOptions{{}, false, false}, [&](const HandleSite&) { found = true; });
  return found || !walked;   // a setting too deep to walk is refused as if it held a handle
}

// ---- what is collected before it becomes a Config ------------------------------------------

struct Collected {
  ExecutableSettings exec;
  bool has_command = false;
  bool trailing = false;
  std::optional<BackendType> type;
  std::string type_text;
  std::optional<YAML::Node> backend_config;   // secret_backend_config, as given
  Where backend_config_where;
  std::optional<YAML::Node> multi;            // multi_secret_backends, as given
  Where multi_where;
  Config config;                              // refresh, scatter, audit settings; source
};

// Applies one executable setting (top-level key or named backend entry key) to `exec`.
Status apply_executable_value(Kind kind, const Where& where, const YAML::Node& value, ExecutableSettings& exec,
                              bool& trailing, bool& has_command) {
  switch (kind) {
    case Kind::command: {
      auto v = get_absolute_path(where, value, ExamplePath::backend);
      if (!v) return std::move(v).error();
      exec.command = std::move(*v);
      has_command = true;
      return ok();
    }
    case Kind::arguments: {
      auto v = get_string_list(where, value, "a list of strings, e.g. [\"--vault\", \"prod\"]", nullptr, "a string");
      if (!v) return std::move(v).error();
      exec.arguments = std::move(*v);
      return ok();
    }
    case Kind::timeout: {
      auto v = get_seconds(where, value, false, kMaxTimeoutSeconds);
      if (!v) return std::move(v).error();
      exec.timeout = *v;
      return ok();
    }
    case Kind::output_max: {
      auto v = get_count(where, value, 1, kMaxOutputSize, false,
                         "a whole number of bytes from 1 to " + std::to_string(kMaxOutputSize) + " (1 GiB)");
      if (!v) return std::move(v).error();
      exec.output_max_size = static_cast<std::size_t>(*v);
      return ok();
    }
    case Kind::group_exec: {
      auto v = get_bool(where, value);
      if (!v) return std::move(v).error();
      exec.allow_group_exec = *v;
      return ok();
    }
    case Kind::sha256: {
      constexpr std::string_view want = "64 hexadecimal digits (the first field of sha256sum's output)";
      auto v = get_string(where, value, want);
      if (!v) return std::move(v).error();
      if (!is_sha256(*v)) return bad_value(where, value, want);
      exec.sha256 = ascii_lower(*v);
      return ok();
    }
    case Kind::trailing: {
      auto v = get_bool(where, value);
      if (!v) return std::move(v).error();
      trailing = *v;
      return ok();
    }
    case Kind::environment: {
      auto v = get_string_list(where, value, "a list of variable names, e.g. [\"VAULT_ADDR\", \"HOME\"]",
                               &is_variable_name, "a variable name (letters, digits and _, not starting with a digit)");
      if (!v) return std::move(v).error();
      exec.environment = std::move(*v);
      return ok();
    }
    case Kind::protocol: {
      constexpr std::string_view want = "\"1.0\" or \"1.1\"";
      auto v = get_string(where, value, want);
      if (!v) return std::move(v).error();
      if (*v == "1.0" || *v == "1") {
        exec.protocol = ProtocolVersion::v1_0;
      } else if (*v == "1.1") {
        exec.protocol = ProtocolVersion::v1_1;
      } else {
        return bad_value(where, value, want);
      }
      return ok();
    }
    default: return invalid(where, "internal error: not an executable setting");
  }
}

Status apply_setting(const Setting& setting, const Where& where, const YAML::Node& value, Collected& c) {
  if (holds_handle(value)) {
    return make_error(Code::handle_invalid,
                      where.prefix + ": settings of stsecrets itself (secret_*, multi_secret_backends) cannot be ENC[] "
                                     "handles; write the plain value (these settings configure the backends that "
                                     "resolve handles)");
  }
  if (is_unset(value)) return ok();
  switch (setting.kind) {
    case Kind::type: {
      auto v = get_string(where, value, "one of: " + type_list());
      if (!v) return std::move(v).error();
      auto t = parse_backend_type(*v);
      if (!t || *t == BackendType::executable) {
        return bad_value(where, value, "one of the built-in types: " + type_list(true) +
                                           " (an executable backend is set with secret_backend_command)");
      }
      c.type = *t;
      c.type_text = *v;
      return ok();
    }
    case Kind::backend_config:
      if (!value.IsMap()) return bad_value(where, value, "a map, e.g. {root: " + example(ExamplePath::any_folder) + "}");
      c.backend_config = value;
      c.backend_config_where = where;
      return ok();
    case Kind::multi:
      if (!value.IsMap()) return bad_value(where, value, "a map of named backends, e.g. {files: {type: file, config: {root: " +
                                             example(ExamplePath::other_folder) + "}}}");
      c.multi = value;
      c.multi_where = where;
      return ok();
    case Kind::refresh: {
      auto v = get_seconds(where, value, true, kMaxRefreshSeconds);
      if (!v) return std::move(v).error();
      c.config.refresh_interval = *v;
      return ok();
    }
    case Kind::scatter: {
      auto v = get_bool(where, value);
      if (!v) return std::move(v).error();
      c.config.refresh_scatter = *v;
      return ok();
    }
    case Kind::audit_file: {
      auto v = get_absolute_path(where, value, ExamplePath::audit_file);
      if (!v) return std::move(v).error();
      c.config.audit_file = std::move(*v);
      return ok();
    }
    case Kind::audit_max: {
      auto v = get_count(where, value, kMinAuditSize, kMaxAuditSize, true,
                         "a whole number of bytes: 0 (never rotate) or from " + std::to_string(kMinAuditSize) +
                             " to " + std::to_string(kMaxAuditSize) + " (1 TiB)");
      if (!v) return std::move(v).error();
      c.config.audit_file_max_size = *v;
      return ok();
    }
    default: return apply_executable_value(setting.kind, where, value, c.exec, c.trailing, c.has_command);
  }
}

// ---- the backends ------------------------------------------------------------------------

// The keys each built-in type's config accepts, and which of them it requires.
struct ProviderKeys {
  std::vector<std::string_view> allowed;
  std::string_view required;   // "" = none
  std::string example;
};

ProviderKeys provider_keys(BackendType type) {
  switch (type) {
    case BackendType::file: return {{"root"}, "root", "{root: " + example(ExamplePath::secrets_folder) + "}"};
    case BackendType::docker_secrets:
      return {{"root"}, "", "{root: " + std::string(platform::docker_secrets_root()) + "}"};
    case BackendType::file_json: return {{"path"}, "path", "{path: " + example(ExamplePath::secrets_json) + "}"};
    case BackendType::file_yaml: return {{"path"}, "path", "{path: " + example(ExamplePath::secrets_yaml) + "}"};
    case BackendType::systemd_credentials: return {{}, "", "{}"};
    case BackendType::env: return {{"allowed_keys"}, "allowed_keys", "{allowed_keys: [DB_PASSWORD]}"};
    case BackendType::executable: break;
  }
  return {{}, "", ""};
}

// Parses a built-in type's config map (which may be absent when nothing is required).
Status parse_provider(BackendType type, const Where& where, const std::optional<YAML::Node>& config,
                      const Environment& env, Backend& out) {
  const ProviderKeys keys = provider_keys(type);
  bool has_required = keys.required.empty();
  if (config) {
    for (const auto& kv : *config) {
      const std::string sub = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
      const Where at = where.at(sub);
      if (std::find(keys.allowed.begin(), keys.allowed.end(), sub) == keys.allowed.end()) {
        return invalid(at, "unknown setting for a " + std::string(backend_type_name(type)) + " backend; " +
                               (keys.allowed.empty() ? std::string("it takes no settings")
                                                     : unknown_key_hint(sub, keys.allowed, "settings")));
      }
      if (sub == keys.required) has_required = true;
      if (sub == "root") {
        auto v = get_absolute_path(at, kv.second, ExamplePath::secrets_folder);
        if (!v) return std::move(v).error();
        out.provider.root = std::move(*v);
      } else if (sub == "path") {
        auto v = get_absolute_path(at, kv.second, ExamplePath::secrets_json);
        if (!v) return std::move(v).error();
        out.provider.path = std::move(*v);
      } else if (sub == "allowed_keys") {
        auto v = get_string_list(at, kv.second, "a list of variable names, e.g. [\"DB_PASSWORD\"]", &is_variable_name,
                                 "a variable name (letters, digits and _, not starting with a digit)");
        if (!v) return std::move(v).error();
        out.provider.allowed_keys = std::move(*v);
      }
    }
  }
  if (!has_required) {
    return invalid(where, "a " + std::string(backend_type_name(type)) + " backend needs " + std::string(keys.required) +
                              "; write e.g. " + std::string(keys.example));
  }
  if (type == BackendType::docker_secrets && out.provider.root.empty()) {
    out.provider.root = std::string(platform::docker_secrets_root());
  }
  if (type == BackendType::systemd_credentials) {
    // Resolved now, from the environment the config was loaded with; empty means "not running
    // under systemd with credentials", which the provider reports when it is used.
    if (const std::string* dir = find_env(env, "CREDENTIALS_DIRECTORY")) out.provider.root = *dir;
  }
  return ok();
}

Result<Backend> parse_named(const std::string& name, const YAML::Node& entry, const Where& where,
                            const Environment& env) {
  if (!is_backend_name(name)) {
    return invalid(where, "is not a usable backend name; use letters, digits, '_', '-' and '.' (at most 64), "
                          "since handles spell it as ENC[name;key]");
  }
  if (!entry.IsMap()) {
    return bad_value(where, entry, "a map like {type: file, config: {root: " + example(ExamplePath::any_folder) + "}}");
  }
  Backend b;
  b.name = name;
  b.where = where.prefix;
  std::optional<YAML::Node> config;
  bool has_type = false;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
    const Where at = where.at(key);
    if (key == "type") {
      auto v = get_string(at, kv.second, "one of: " + type_list());
      if (!v) return std::move(v).error();
      auto t = parse_backend_type(*v);
      if (!t) return bad_value(at, kv.second, "one of: " + type_list());
      b.type = *t;
      has_type = true;
    } else if (key == "config") {
      if (!is_unset(kv.second) && !kv.second.IsMap()) return bad_value(at, kv.second, "a map of the backend's settings");
      if (kv.second.IsMap()) config = kv.second;
    } else {
      return invalid(at, "unknown setting; a named backend takes type and config");
    }
  }
  if (!has_type) return invalid(where, "has no type; add type: one of " + type_list());
  const Where config_where = where.at("config");
  if (b.type != BackendType::executable) {
    Status st = parse_provider(b.type, config_where, config, env, b);
    if (!st) return std::move(st).error();
    return b;
  }
  bool has_command = false;
  if (config) {
    std::vector<std::string_view> known;
    for (const auto& [k, kind] : kExecutableEntryKeys) known.push_back(k);
    for (const auto& kv : *config) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
      const Where at = config_where.at(key);
      const auto it = std::find_if(std::begin(kExecutableEntryKeys), std::end(kExecutableEntryKeys),
                                   [&](const auto& p) { return p.first == key; });
      if (it == std::end(kExecutableEntryKeys)) {
        return invalid(at, "unknown setting for an executable backend; " + unknown_key_hint(key, known, "settings"));
      }
      if (is_unset(kv.second)) continue;
      Status st = apply_executable_value(it->second, at, kv.second, b.exec, b.remove_trailing_line_break, has_command);
      if (!st) return std::move(st).error();
    }
  }
  if (!has_command) {
    return invalid(config_where, "an executable backend needs command; write e.g. {command: " + example(ExamplePath::backend) + "}");
  }
  return b;
}

// Builds the default backend and the named ones, and checks the rules across keys.
Result<Config> finish(Collected c, const Environment& env, const std::string& where_all) {
  Config cfg = std::move(c.config);
  if (c.has_command && c.type) {
    return make_error(Code::config_invalid,
                      where_all + ": secret_backend_command and secret_backend_type are both set; set only one "
                                  "(an executable backend or a built-in one)");
  }
  if (c.backend_config && !c.type) {
    return make_error(Code::config_invalid,
                      where_all + ": secret_backend_config is set but secret_backend_type is not; add "
                                  "secret_backend_type (e.g. file) or remove secret_backend_config");
  }
  if (c.type) {
    Backend b;
    b.type = *c.type;
    b.where = where_all + ": secret_backend_type";
    b.remove_trailing_line_break = c.trailing;
    const ProviderKeys keys = provider_keys(*c.type);
    if (!keys.required.empty() && !c.backend_config) {
      return make_error(Code::config_invalid, where_all + ": secret_backend_type is \"" + shown(c.type_text) +
                                                  "\" but secret_backend_config is not set; add secret_backend_config: " +
                                                  std::string(keys.example));
    }
    Status st = parse_provider(*c.type, c.backend_config_where, c.backend_config, env, b);
    if (!st) return std::move(st).error();
    cfg.default_backend = std::move(b);
  } else if (c.has_command) {
    Backend b;
    b.type = BackendType::executable;
    b.exec = std::move(c.exec);
    b.remove_trailing_line_break = c.trailing;
    b.where = where_all + ": secret_backend_command";
    cfg.default_backend = std::move(b);
  }
  if (c.multi) {
    for (const auto& kv : *c.multi) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
      const Where at = c.multi_where.at(name);
      auto b = parse_named(name, kv.second, at, env);
      if (!b) return std::move(b).error();
      if (!cfg.named.emplace(name, std::move(*b)).second) return invalid(at, "is defined more than once; keep one");
    }
  }
  return cfg;
}

// Names are compared as the platform compares them (env_name_key): on Windows
// sts_secret_backend_command is the variable STS_SECRET_BACKEND_COMMAND, so it overrides like it,
// and two spellings of one setting in a hand-built block are refused rather than picked between.
Status apply_environment(const Environment& env, Collected& c) {
  std::set<std::string, std::less<>> applied;
  for (const auto& [name, raw] : env) {
    const std::string compared = env_name_key(name);
    if (!compared.starts_with(kEnvPrefix)) continue;
    const std::string key = ascii_lower(std::string_view(compared).substr(kEnvPrefix.size()));
    if (!is_setting_key(key)) continue;
    const Where where{"environment: " + shown(name)};
    const Setting* setting = find_setting(key);
    if (setting == nullptr || ascii_upper(key) != compared.substr(kEnvPrefix.size())) {
      return invalid(where, "unknown setting (no " + shown(key) + " key); " +
                                unknown_key_hint(key, top_level_keys(), "settings"));
    }
    if (raw.empty()) continue;
    if (!applied.insert(key).second) {
      return invalid(where, "is set a second time under another spelling, which Windows treats as the same "
                            "variable; keep one");
    }
    YAML::Node value;
    if (setting->verbatim_env) {
      value = YAML::Node(raw);
    } else {
      auto parsed = parse_yaml(raw, "environment: " + name);
      if (!parsed) {
        std::string message = std::move(parsed).error().message;
        constexpr std::string_view kTail = "; fix the syntax";
        if (message.ends_with(kTail)) message.resize(message.size() - kTail.size());
        return make_error(Code::config_invalid, message + "; write one YAML value, e.g. 5, true or [\"a\", \"b\"]");
      }
      value = std::move(*parsed);
    }
    Status st = apply_setting(*setting, where, value, c);
    if (!st) return st;
  }
  return ok();
}

}  // namespace

std::string_view backend_type_name(BackendType type) noexcept {
  switch (type) {
    case BackendType::executable: return "executable";
    case BackendType::file: return "file";
    case BackendType::file_json: return "file.json";
    case BackendType::file_yaml: return "file.yaml";
    case BackendType::docker_secrets: return "docker.secrets";
    case BackendType::systemd_credentials: return "systemd.credentials";
    case BackendType::env: return "env";
  }
  return "unknown";
}

std::optional<BackendType> parse_backend_type(std::string_view name) noexcept {
  if (name == "file.text") return BackendType::file;
  for (auto t : {BackendType::executable, BackendType::file, BackendType::file_json, BackendType::file_yaml,
                 BackendType::docker_secrets, BackendType::systemd_credentials, BackendType::env}) {
    if (backend_type_name(t) == name) return t;
  }
  return std::nullopt;
}

std::string_view protocol_version_name(ProtocolVersion version) noexcept {
  return version == ProtocolVersion::v1_1 ? "1.1" : "1.0";
}

std::string Backend::describe() const {
  switch (type) {
    case BackendType::executable: return exec.command;
    case BackendType::file:
    case BackendType::docker_secrets:
    case BackendType::systemd_credentials:
      return std::string(backend_type_name(type)) + ":" + (provider.root.empty() ? "(unset)" : provider.root);
    case BackendType::file_json:
    case BackendType::file_yaml: return std::string(backend_type_name(type)) + ":" + provider.path;
    case BackendType::env: return "env";
  }
  return "unknown";
}

std::vector<const Backend*> Config::backends() const {
  std::vector<const Backend*> out;
  if (default_backend) out.push_back(&*default_backend);
  for (const auto& [name, b] : named) out.push_back(&b);
  return out;
}

Result<Route> route_handle(const Config& config, std::string_view handle) {
  if (!config.named.empty()) {
    if (const auto semi = handle.find(';'); semi != std::string_view::npos) {
      const std::string_view name = handle.substr(0, semi);
      const auto it = config.named.find(name);
      if (it == config.named.end()) {
        std::string known;
        for (const auto& [n, b] : config.named) known += (known.empty() ? "" : ", ") + n;
        return make_error(Code::backend_unknown, "ENC[" + shown(name) + ";...] names the backend \"" + shown(name) +
                                                     "\", which multi_secret_backends does not define (it defines " +
                                                     known + "); fix the name or add the backend");
      }
      return Route{&it->second, handle.substr(semi + 1)};
    }
  }
  if (!config.default_backend) {
    std::string where = config.source.empty() ? std::string("the main config") : shown_source(config.source);
    return make_error(Code::config_no_backend,
                      "ENC[] handles are used but no secret backend is configured: set secret_backend_command "
                      "(or secret_backend_type" + std::string(config.named.empty() ? "" : ", or name a backend as ENC[name;key]") +
                          ") in " + where + "; handles are never passed through literally");
  }
  return Route{&*config.default_backend, handle};
}

Result<Config> load_config(const YAML::Node& root, const Environment& env, std::string_view source) {
  Collected c;
  c.config.source = std::string(source);
  const std::string where_all = source.empty() ? std::string("config") : shown_source(source);

  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) {
      return make_error(Code::config_invalid, where_all + ": the main config must be a map of settings, got " +
                                                  describe(root) + "; write key: value lines at the top level");
    }
    std::set<std::string, std::less<>> keys;
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) continue;
      const std::string& key = kv.first.Scalar();
      if (!is_setting_key(key)) continue;
      const Where where{(source.empty() ? std::string() : shown_source(source) + ": ") + shown(key)};
      const Setting* setting = find_setting(key);
      if (setting == nullptr) {
        return invalid(where, "unknown setting; " + unknown_key_hint(key, top_level_keys(), "settings"));
      }
      if (!keys.insert(key).second) return invalid(where, "is set more than once; keep one");
      // A setting the environment overrides is not read from the file at all: the override
      // replaces it, so a value that only makes sense on another host does not stop this one.
      if (const std::string* env_value = find_env(env, "STS_" + ascii_upper(key));
          env_value != nullptr && !env_value->empty()) {
        continue;
      }
      Status s = apply_setting(*setting, where, kv.second, c);
      if (!s) return std::move(s).error();
    }
  }
  Status s = apply_environment(env, c);
  if (!s) return std::move(s).error();
  return finish(std::move(c), env, where_all);
}

Result<Config> load_config_file(const std::string& path, const Environment& env) {
  auto doc = load_document(path);
  if (!doc) return std::move(doc).error();
  auto cfg = load_config(doc->root, env, path);
  if (cfg) cfg->file = path;
  return cfg;
}

}  // namespace sts
