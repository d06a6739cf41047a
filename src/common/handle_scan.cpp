// Handle scanning (SPEC 1): finds ENC[handle] uses in YAML documents and in the environment.
//
// Rules implemented here, beyond the header:
// - A scalar is a string candidate when its tag is "?" (plain), "!" (quoted), !!str or empty
//   (a node built in code). Plain
//   scalars shaped like ENC[...] can never resolve to a number, boolean or null, so a plain
//   `42` is never looked at and a tagged `!!int`/`!custom` value is never a handle.
// - Key paths: `password`, `instances[0].password`, `[2].x` (sequence at the root). A key that
//   is empty or holds a byte outside 0x21..0x7E/0x80..0xFF or one of . [ ] " \ is written
//   quoted in brackets, with " \ and control bytes escaped: `a["b.c"]`, `["with space"].x`.
//   A key that is itself a map or a sequence is written `[<map>]` / `[<list>]`.
// - Aliases are followed (each use is reported under every path it is reachable by), bounded by
//   kMaxDepth and kMaxVisits so that alias cycles and "billion laughs" documents end in a clean
//   Code::config_invalid error instead of a stack overflow or an endless walk.
#include "stsecrets/handles.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>

namespace sts {
namespace {

constexpr std::string_view kOpen = "ENC[";
constexpr std::string_view kYamlStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kSecretPrefix = "secret_";
constexpr std::string_view kEnvOrigin = "environment";
constexpr std::string_view kEnvPrefix = "STS_";
constexpr std::string_view kEnvSecretPrefix = "STS_SECRET_";
constexpr std::size_t kMaxDepth = 512;          // nesting levels followed (alias cycles end here)
constexpr std::size_t kMaxVisits = 200000;      // nodes visited per document, aliases expanded

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
  return buf;
}

// Escapes control bytes (and, when `quote` is set, " and \) so a message stays one line.
std::string escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c)) {
      out += hex_byte(c);
    } else if (quote && (ch == '"' || ch == '\\')) {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  return out;
}

bool key_needs_quotes(std::string_view key) noexcept {
  if (key.empty()) return true;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || ch == '.' || ch == '[' || ch == ']' || ch == '"' || ch == '\\') return true;
  }
  return false;
}

void append_key(std::string& path, std::string_view key) {
  if (key_needs_quotes(key)) {
    path += "[\"";
    path += escape(key, true);
    path += "\"]";
    return;
  }
  if (!path.empty()) path += '.';
  path += key;
}

std::string location(std::string_view origin, std::string_view key_path) {
  std::string out;
  if (!origin.empty()) {
    out += escape(origin, false);
    out += ": ";
  }
  out += key_path.empty() ? std::string("(document root)") : escape(key_path, false);
  return out;
}

bool is_string_candidate(const YAML::Node& node) {
  if (!node.IsScalar()) return false;
  const std::string& tag = node.Tag();
  // "" is a node built in code (node["pw"] = "ENC[x]"), which has no tag: treat it as plain.
  return tag.empty() || tag == "?" || tag == "!" || tag == kYamlStrTag;
}

struct Walker {
  std::string_view origin;
  ScanResult& result;
  std::size_t visits = 0;
  bool stopped = false;

  void stop(std::string_view key_path, std::string why) {
    stopped = true;
    result.errors.push_back(make_error(Code::config_invalid, location(origin, key_path) + ": " + why));
  }

  void walk(const YAML::Node& node, std::string& path, std::size_t depth, bool in_secret_setting) {
    if (stopped) return;
    if (++visits > kMaxVisits) {
      stop(path, "more than " + std::to_string(kMaxVisits) +
                     " values to scan (aliases expanded); split the document or use fewer aliases");
      return;
    }
    if (depth > kMaxDepth) {
      stop(path, "nested deeper than " + std::to_string(kMaxDepth) +
                     " levels (or an alias refers to itself); flatten the document");
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar: scalar(node, path, in_secret_setting); return;
      case YAML::NodeType::Sequence: {
        std::size_t i = 0;
        for (const auto& item : node) {
          const std::size_t mark = path.size();
          path += '[' + std::to_string(i++) + ']';
          walk(item, path, depth + 1, in_secret_setting);
          path.resize(mark);
          if (stopped) return;
        }
        return;
      }
      case YAML::NodeType::Map: {
        for (const auto& kv : node) {
          const YAML::Node& key = kv.first;
          const std::size_t mark = path.size();
          bool secret = in_secret_setting;
          if (key.IsScalar()) {
            const std::string& k = key.Scalar();
            if (depth == 0 && k.compare(0, kSecretPrefix.size(), kSecretPrefix) == 0) secret = true;
            append_key(path, k);
          } else {
            path += key.IsMap() ? "[<map>]" : key.IsSequence() ? "[<list>]" : "[<null>]";
          }
          walk(kv.second, path, depth + 1, secret);
          path.resize(mark);
          if (stopped) return;
        }
        return;
      }
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return;
    }
  }

  void scalar(const YAML::Node& node, const std::string& path, bool in_secret_setting) {
    if (!is_string_candidate(node)) return;
    const auto handle = parse_handle(node.Scalar());
    if (!handle) return;
    if (in_secret_setting) {
      result.errors.push_back(make_error(
          Code::handle_invalid,
          location(origin, path) +
              ": secret_* settings cannot be ENC[] handles; write the plain value (these settings "
              "configure the backend that resolves handles)"));
      return;
    }
    Status valid = validate_handle(*handle, origin, path);
    if (!valid) {
      result.errors.push_back(std::move(valid).error());
      return;
    }
    result.uses.push_back(HandleUse{HandleUse::Kind::yaml, std::string(*handle), std::string(origin), path});
  }
};

}  // namespace

std::optional<std::string_view> parse_handle(std::string_view scalar) noexcept {
  const auto first = scalar.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  const auto last = scalar.find_last_not_of(" \t");
  const std::string_view trimmed = scalar.substr(first, last - first + 1);
  if (trimmed.size() < kOpen.size() + 1) return std::nullopt;
  if (trimmed.substr(0, kOpen.size()) != kOpen || trimmed.back() != ']') return std::nullopt;
  return trimmed.substr(kOpen.size(), trimmed.size() - kOpen.size() - 1);
}

Status validate_handle(std::string_view handle, std::string_view origin, std::string_view key_path) {
  if (handle.empty()) {
    return make_error(Code::handle_invalid,
                      location(origin, key_path) +
                          ": empty handle ENC[]; write the secret's name between the brackets, e.g. ENC[db_password]");
  }
  if (handle.size() > kMaxHandleBytes) {
    return make_error(Code::handle_invalid,
                      location(origin, key_path) + ": handle is " + std::to_string(handle.size()) +
                          " bytes long, more than the maximum of " + std::to_string(kMaxHandleBytes) +
                          "; use a shorter secret name");
  }
  for (std::size_t i = 0; i < handle.size(); ++i) {
    const auto c = static_cast<unsigned char>(handle[i]);
    if (is_control(c)) {
      return make_error(Code::handle_invalid,
                        location(origin, key_path) + ": handle contains the control character " + hex_byte(c) +
                            " at byte " + std::to_string(i) +
                            "; handles must not contain control characters (U+0000-U+001F, U+007F), remove it");
    }
  }
  return ok();
}

ScanResult scan_document(const YAML::Node& doc, std::string_view origin) {
  ScanResult result;
  Walker walker{origin, result};
  std::string path;
  walker.walk(doc, path, 0, false);
  return result;
}

ScanResult scan_environment(const Environment& env, EnvScan mode) {
  ScanResult result;
  for (const auto& [name, value] : env) {
    const bool sts_name = name.size() > kEnvPrefix.size() && name.compare(0, kEnvPrefix.size(), kEnvPrefix) == 0;
    if (mode == EnvScan::sts_prefix && !sts_name) continue;
    const auto handle = parse_handle(value);
    if (!handle) continue;
    if (name.compare(0, kEnvSecretPrefix.size(), kEnvSecretPrefix) == 0) {
      result.errors.push_back(make_error(
          Code::handle_invalid,
          location(kEnvOrigin, name) +
              ": secret_* settings cannot be ENC[] handles; set the plain value (these settings configure "
              "the backend that resolves handles)"));
      continue;
    }
    Status valid = validate_handle(*handle, kEnvOrigin, name);
    if (!valid) {
      result.errors.push_back(std::move(valid).error());
      continue;
    }
    result.uses.push_back(HandleUse{HandleUse::Kind::env, std::string(*handle), std::string(kEnvOrigin), name});
  }
  return result;
}

std::vector<std::string> unique_handles(const std::vector<HandleUse>& uses) {
  std::vector<std::string> out;
  out.reserve(uses.size());
  for (const auto& use : uses) out.push_back(use.handle);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sts
