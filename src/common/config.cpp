// The typed backend configuration (SPEC 2): secret_* keys of the main config plus STS_* overrides.
//
// Decisions (also listed in config.h):
// - Strict types. Numbers and booleans must be plain (unquoted) YAML scalars or carry the
//   matching !!int/!!float/!!bool tag; `"5"` is a string and is refused with a hint. Booleans are
//   true/false (also True/TRUE/False/FALSE, the YAML 1.2 core schema); yes/no/on/off/y/n/1/0 are
//   refused. String settings accept any scalar.
// - A null value (`secret_backend_timeout:` or `~`) and an empty string leave the default.
// - Every unknown secret_* key, in the file or as STS_SECRET_* in the environment, is an error
//   (typo protection), with a "did you mean" suggestion. Other keys are ignored.
// - A key set twice in the file is an error.
// - Environment overrides: STS_ + the upper-cased key. String settings take the variable's value
//   verbatim (a path may contain '#' or ': '); numbers, booleans, lists and the backend config map
//   are parsed as one YAML value, e.g. STS_SECRET_BACKEND_ARGUMENTS='["--a", "b"]' or
//   STS_SECRET_BACKEND_CONFIG='{root: /srv/secrets}'. An empty variable is ignored.
// - Ranges: timeout 0 < t <= 86400 s, rounded up to whole milliseconds; refresh interval
//   0 <= t <= 31536000 s; output_max_size 1 .. 1 GiB.
// - Messages: `<source>: <key>: got "<value>", want <what>` for the file and
//   `environment: STS_<KEY>: got "<value>", want <what>` for overrides. One line each; values are
//   escaped and capped at 120 bytes.
#include "stsecrets/config.h"

#include "stsecrets/handles.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <system_error>

extern char** environ;  // POSIX; also declared by mingw's CRT. Read only in current_environment().

namespace sts {
namespace {

constexpr std::string_view kSecretPrefix = "secret_";
constexpr std::string_view kEnvPrefix = "STS_";
constexpr std::size_t kMaxShownValue = 120;
constexpr std::int64_t kMaxTimeoutSeconds = 86400;
constexpr std::int64_t kMaxRefreshSeconds = 31536000;
constexpr std::uint64_t kMaxOutputSize = 1024ULL * 1024 * 1024;
constexpr std::size_t kMaxConfigFileBytes = 64 * 1024 * 1024;

constexpr std::string_view kCommand = "secret_backend_command";
constexpr std::string_view kArguments = "secret_backend_arguments";
constexpr std::string_view kTimeout = "secret_backend_timeout";
constexpr std::string_view kOutputMax = "secret_backend_output_max_size";
constexpr std::string_view kGroupExec = "secret_backend_command_allow_group_exec_perm";
constexpr std::string_view kSha256 = "secret_backend_command_sha256";
constexpr std::string_view kTrailing = "secret_backend_remove_trailing_line_break";
constexpr std::string_view kEnvironment = "secret_backend_environment";
constexpr std::string_view kType = "secret_backend_type";
constexpr std::string_view kBackendConfig = "secret_backend_config";
constexpr std::string_view kRefresh = "secret_refresh_interval";
constexpr std::string_view kAudit = "secret_audit_file";

constexpr std::string_view kKnownKeys[] = {kCommand, kArguments, kTimeout, kOutputMax, kGroupExec, kSha256,
                                           kTrailing, kEnvironment, kType, kBackendConfig, kRefresh, kAudit};

// Settings whose environment override is taken verbatim rather than parsed as YAML.
bool is_string_setting(std::string_view key) {
  return key == kCommand || key == kSha256 || key == kType || key == kAudit;
}

std::string escape(std::string_view s) {
  std::string out;
  const bool cut = s.size() > kMaxShownValue;
  if (cut) s = s.substr(0, kMaxShownValue);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  if (cut) out += "...";
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

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

std::string unknown_key_hint(std::string_view key) {
  std::string_view best;
  std::size_t best_distance = 4;  // suggest only close matches
  for (std::string_view known : kKnownKeys) {
    const std::size_t d = edit_distance(key, known);
    if (d < best_distance) {
      best_distance = d;
      best = known;
    }
  }
  if (!best.empty()) return "did you mean " + std::string(best) + "?";
  std::string list = "the known secret_* settings are";
  const char* sep = " ";
  for (std::string_view known : kKnownKeys) {
    list += sep;
    list += known;
    sep = ", ";
  }
  return list;
}

// Where a value came from, for messages: "<source>: <key>" or "environment: STS_<KEY>".
struct Where {
  std::string prefix;   // everything before ": got ..."
  std::string key;      // the setting, e.g. secret_backend_timeout
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
  const std::string quoted = "\"" + escape(node.Scalar()) + "\"";
  return mention_quotes && node.Tag() == "!" ? "the quoted string " + quoted : quoted;
}

Error bad_value(const Where& where, const YAML::Node& node, std::string_view want, bool mention_quotes = false) {
  return invalid(where, "got " + describe(node, mention_quotes) + ", want " + std::string(want));
}

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

Result<std::string> get_absolute_path(const Where& where, const YAML::Node& node, std::string_view example) {
  const std::string want = "an absolute path, e.g. " + std::string(example);
  auto s = get_string(where, node, want);
  if (!s) return s;
  if (!std::filesystem::path(*s).is_absolute()) return bad_value(where, node, want);
  return s;
}

Result<bool> get_bool(const Where& where, const YAML::Node& node) {
  constexpr std::string_view want = "true or false";
  if (plain_or_tagged(node, {"tag:yaml.org,2002:bool"})) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    const std::string l = lower(s);
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

Result<std::size_t> get_size(const Where& where, const YAML::Node& node) {
  const std::string want = "a whole number of bytes from 1 to " + std::to_string(kMaxOutputSize) + " (1 GiB)";
  if (!plain_or_tagged(node, {"tag:yaml.org,2002:int"})) {
    if (node.IsScalar() && node.Tag() == "!") return bad_value(where, node, want + ", without quotes", true);
    return bad_value(where, node, want);
  }
  const std::string& s = node.Scalar();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return bad_value(where, node, want);
  std::uint64_t v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > kMaxOutputSize) return bad_value(where, node, want);
  }
  if (v == 0) return bad_value(where, node, want);
  return static_cast<std::size_t>(v);
}

Result<std::vector<std::string>> get_string_list(const Where& where, const YAML::Node& node, std::string_view want,
                                                 bool (*valid_item)(const std::string&), std::string_view item_want) {
  if (!node.IsSequence()) return bad_value(where, node, want);
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : node) {
    const Where at{where.prefix + "[" + std::to_string(i++) + "]", where.key};
    if (!item.IsScalar()) return bad_value(at, item, item_want);
    if (contains_nul(item.Scalar())) return invalid(at, "contains a NUL byte; remove it");
    if (valid_item && !valid_item(item.Scalar())) return bad_value(at, item, item_want);
    out.push_back(item.Scalar());
  }
  return out;
}

bool is_variable_name(const std::string& s) {
  if (s.empty()) return false;
  const auto first = static_cast<unsigned char>(s[0]);
  if (!(std::isalpha(first) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x80 && std::isalnum(u)) || c == '_';
  });
}

bool is_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// A handle anywhere in a setting's value. Settings are at most two levels deep (a list of strings,
// a map of a path); deeper structure is a type error found later, so the walk stops there.
bool holds_handle(const YAML::Node& node, int depth = 0) {
  if (depth > 3) return false;
  if (node.IsScalar()) {
    const std::string& tag = node.Tag();
    const bool stringy = tag.empty() || tag == "?" || tag == "!" || tag == "tag:yaml.org,2002:str";
    return stringy && parse_handle(node.Scalar()).has_value();
  }
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (holds_handle(item, depth + 1)) return true;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (holds_handle(kv.second, depth + 1)) return true;
    }
  }
  return false;
}

bool is_known(std::string_view key) {
  return std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) != std::end(kKnownKeys);
}

// What was set, so that cross-key checks know it.
struct Seen {
  bool command = false;
  bool type = false;
  bool backend_config = false;
};

Status apply(const Where& where, const YAML::Node& value, BackendConfig& cfg, Seen& seen) {
  const std::string_view key = where.key;
  if (!is_known(key)) return invalid(where, "unknown setting; " + unknown_key_hint(key));
  if (holds_handle(value)) {
    return make_error(Code::handle_invalid,
                      where.prefix + ": secret_* settings cannot be ENC[] handles; write the plain value (these "
                                     "settings configure the backend that resolves handles)");
  }
  if (is_unset(value)) return ok();

  if (key == kCommand) {
    auto v = get_absolute_path(where, value, "/opt/secrets/backend");
    if (!v) return std::move(v).error();
    cfg.command = std::move(*v);
    seen.command = true;
  } else if (key == kArguments) {
    auto v = get_string_list(where, value, "a list of strings, e.g. [\"--vault\", \"prod\"]", nullptr, "a string");
    if (!v) return std::move(v).error();
    cfg.arguments = std::move(*v);
  } else if (key == kTimeout) {
    auto v = get_seconds(where, value, false, kMaxTimeoutSeconds);
    if (!v) return std::move(v).error();
    cfg.timeout = *v;
  } else if (key == kOutputMax) {
    auto v = get_size(where, value);
    if (!v) return std::move(v).error();
    cfg.output_max_size = *v;
  } else if (key == kGroupExec) {
    auto v = get_bool(where, value);
    if (!v) return std::move(v).error();
    cfg.allow_group_exec = *v;
  } else if (key == kSha256) {
    constexpr std::string_view want = "64 hexadecimal digits (the first field of sha256sum's output)";
    auto v = get_string(where, value, want);
    if (!v) return std::move(v).error();
    if (!is_sha256(*v)) return bad_value(where, value, want);
    cfg.sha256 = lower(*v);
  } else if (key == kTrailing) {
    auto v = get_bool(where, value);
    if (!v) return std::move(v).error();
    cfg.remove_trailing_line_break = *v;
  } else if (key == kEnvironment) {
    auto v = get_string_list(where, value, "a list of variable names, e.g. [\"VAULT_ADDR\", \"HOME\"]",
                             &is_variable_name, "a variable name (letters, digits and _, not starting with a digit)");
    if (!v) return std::move(v).error();
    cfg.environment = std::move(*v);
  } else if (key == kType) {
    auto v = get_string(where, value, "one of: file");
    if (!v) return std::move(v).error();
    if (*v != "file") return bad_value(where, value, "one of: file");
    cfg.backend_type = std::move(*v);
    seen.type = true;
  } else if (key == kBackendConfig) {
    constexpr std::string_view want = "a map like {root: /path/to/secrets}";
    if (!value.IsMap()) return bad_value(where, value, want);
    bool has_root = false;
    for (const auto& kv : value) {
      const std::string sub = kv.first.IsScalar() ? kv.first.Scalar() : std::string("<non-scalar key>");
      const Where at{where.prefix + "." + escape(sub), where.key};
      if (sub != "root") return invalid(at, "unknown setting; the file backend accepts only root");
      auto v = get_absolute_path(at, kv.second, "/etc/stackstate-agent/secrets");
      if (!v) return std::move(v).error();
      cfg.file_root = std::move(*v);
      has_root = true;
    }
    if (!has_root) return invalid(where, "has no root; want " + std::string(want));
    seen.backend_config = true;
  } else if (key == kRefresh) {
    auto v = get_seconds(where, value, true, kMaxRefreshSeconds);
    if (!v) return std::move(v).error();
    cfg.refresh_interval = *v;
  } else if (key == kAudit) {
    auto v = get_absolute_path(where, value, "/var/log/stackstate-agent/secrets-audit.jsonl");
    if (!v) return std::move(v).error();
    cfg.audit_file = std::move(*v);
  }
  return ok();
}

std::string source_prefix(std::string_view source, std::string_view key) {
  std::string out;
  if (!source.empty()) {
    out += escape(source);
    out += ": ";
  }
  out += escape(key);
  return out;
}

// Keeps the fixed part of a yaml-cpp message. Some messages end in input text after ": "
// (e.g. "unknown escape character: X", "bad YAML version: ..."), which could be config bytes.
std::string sanitized_yaml_message(const std::string& msg) {
  std::string out = msg.substr(0, msg.find(": "));
  return escape(out);
}

std::string yaml_error_text(const YAML::Exception& e) {
  std::string out = "not valid YAML";
  if (!e.mark.is_null()) {
    out += " at line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1);
  }
  out += ": " + sanitized_yaml_message(e.msg);
  return out;
}

Status apply_environment(const Environment& env, BackendConfig& cfg, Seen& seen) {
  for (auto it = env.lower_bound(std::string(kEnvPrefix) + "SECRET_"); it != env.end(); ++it) {
    const std::string& name = it->first;
    if (!starts_with(name, "STS_SECRET_")) break;
    const std::string key = lower(std::string_view(name).substr(kEnvPrefix.size()));
    const Where where{"environment: " + escape(name), key};
    if (upper(key) != name.substr(kEnvPrefix.size()) || !is_known(key)) {
      return invalid(where, "unknown setting (no " + escape(key) + " key); " + unknown_key_hint(key));
    }
    const std::string& raw = it->second;
    if (raw.empty()) continue;
    YAML::Node value;
    if (is_string_setting(key)) {
      value = YAML::Node(raw);
    } else {
      try {
        value = YAML::Load(raw);
      } catch (const YAML::Exception& e) {
        return invalid(where, yaml_error_text(e) + "; write one YAML value, e.g. 5, true or [\"a\", \"b\"]");
      }
    }
    Status s = apply(where, value, cfg, seen);
    if (!s) return s;
  }
  return ok();
}

}  // namespace

Environment current_environment() {
  Environment env;
  if (environ == nullptr) return env;
  for (char** p = environ; *p != nullptr; ++p) {
    const std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));  // first wins, like getenv
  }
  return env;
}

Result<BackendConfig> load_config(const YAML::Node& root, const Environment& env, std::string_view source) {
  BackendConfig cfg;
  cfg.source = std::string(source);
  Seen seen;
  const std::string where_all = source.empty() ? std::string("config") : escape(source);

  if (root.IsDefined() && !root.IsNull()) {
    if (!root.IsMap()) {
      return make_error(Code::config_invalid, where_all + ": the main config must be a map of settings, got " +
                                                  describe(root) + "; write key: value lines at the top level");
    }
    std::set<std::string, std::less<>> keys;
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) continue;
      const std::string key = kv.first.Scalar();
      if (!starts_with(key, kSecretPrefix)) continue;
      const Where where{source_prefix(source, key), key};
      if (!keys.insert(key).second) return invalid(where, "is set more than once; keep one");
      Status s = apply(where, kv.second, cfg, seen);
      if (!s) return std::move(s).error();
    }
  }

  Status s = apply_environment(env, cfg, seen);
  if (!s) return std::move(s).error();

  if (seen.command && seen.type) {
    return make_error(Code::config_invalid,
                      where_all + ": secret_backend_command and secret_backend_type are both set; set only one "
                                  "(an executable backend or a built-in one)");
  }
  if (seen.type && !seen.backend_config) {
    return make_error(Code::config_invalid,
                      where_all + ": secret_backend_type is \"" + escape(cfg.backend_type) +
                          "\" but secret_backend_config is not set; add secret_backend_config: {root: /path/to/secrets}");
  }
  if (seen.backend_config && !seen.type) {
    return make_error(Code::config_invalid,
                      where_all + ": secret_backend_config is set but secret_backend_type is not; add "
                                  "secret_backend_type: file or remove secret_backend_config");
  }
  return cfg;
}

Result<BackendConfig> load_config_file(const std::string& path, const Environment& env) {
  const std::string shown = escape(path);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    const int err = errno;
    return make_error(Code::config_unreadable,
                      "cannot read " + shown + ": " + std::error_code(err, std::generic_category()).message(), err);
  }
  std::string text;
  char buf[16384];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, file.get());
    text.append(buf, n);
    if (text.size() > kMaxConfigFileBytes) {
      return make_error(Code::config_unreadable, "cannot read " + shown + ": larger than " +
                                                     std::to_string(kMaxConfigFileBytes / (1024 * 1024)) +
                                                     " MiB; is this the right file?");
    }
    if (n < sizeof buf) {
      if (std::ferror(file.get())) {
        const int err = errno;
        return make_error(Code::config_unreadable,
                          "cannot read " + shown + ": " + std::error_code(err, std::generic_category()).message(), err);
      }
      break;
    }
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return make_error(Code::config_unreadable, shown + ": " + yaml_error_text(e) + "; fix the syntax");
  }
  return load_config(root, env, path);
}

}  // namespace sts
