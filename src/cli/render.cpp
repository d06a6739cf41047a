// Resolved documents to YAML or JSON (render.h).
#include "cli/render.h"

#include "common/text.h"

#include "stsecrets/handles.h"
#include "stsecrets/secure_buffer.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace sts::cli {
namespace {

// The handle in an original (pre-resolution) scalar, if it was one.
std::optional<std::string_view> handle_of(const YAML::Node& original) {
  if (!original.IsScalar()) return std::nullopt;
  return parse_handle(original.Scalar());
}

Error not_utf8(std::string_view handle, std::string_view origin, const std::string& path) {
  return make_error(Code::handle_value_not_string,
                    "the value of handle \"" + escape_controls(handle) + "\" (" + std::string(origin) + ": " + path +
                        ") is not valid UTF-8 and cannot be written");
}

std::string child_path(const std::string& parent, const YAML::Node& key) {
  std::string k = key.IsScalar() ? key.Scalar() : std::string("?");
  return parent.empty() ? k : parent + "." + k;
}

std::string index_path(const std::string& parent, std::size_t i) { return parent + "[" + std::to_string(i) + "]"; }

// ---- YAML ---------------------------------------------------------------------------------

Status emit_yaml(YAML::Emitter& out, const YAML::Node& node, const YAML::Node& original, std::string_view origin,
                 const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return ok();
    case YAML::NodeType::Scalar: {
      if (auto h = handle_of(original)) {
        if (!valid_utf8(node.Scalar())) return not_utf8(*h, origin, path);
        out << YAML::DoubleQuoted << node.Scalar();
      } else if (node.Tag() == "!") {
        // Quoted in the source: keep it a string.
        out << YAML::DoubleQuoted << node.Scalar();
      } else if (node.Tag() == "?" || node.Tag().empty()) {
        out << node.Scalar();
      } else {
        out << node;   // explicit tag (e.g. !!str): yaml-cpp writes it verbatim
      }
      return ok();
    }
    case YAML::NodeType::Sequence: {
      out << YAML::BeginSeq;
      std::size_t i = 0;
      auto o = original.begin();
      for (auto it = node.begin(); it != node.end(); ++it, ++o, ++i) {
        auto st = emit_yaml(out, *it, *o, origin, index_path(path, i));
        if (!st) return st;
      }
      out << YAML::EndSeq;
      return ok();
    }
    case YAML::NodeType::Map: {
      out << YAML::BeginMap;
      auto o = original.begin();
      for (auto it = node.begin(); it != node.end(); ++it, ++o) {
        out << YAML::Key;
        // Keys are never handles; emit them as they were.
        auto st = emit_yaml(out, it->first, o->first, origin, path);
        if (!st) return st;
        out << YAML::Value;
        st = emit_yaml(out, it->second, o->second, origin, child_path(path, it->first));
        if (!st) return st;
      }
      out << YAML::EndMap;
      return ok();
    }
  }
  return ok();
}

// ---- JSON ---------------------------------------------------------------------------------

bool all_of(std::string_view s, std::string_view allowed) {
  if (s.empty()) return false;
  for (char c : s) {
    if (allowed.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A plain scalar typed by the YAML 1.2 core schema. Infinity and NaN have no JSON form and
// stay strings, as do integers outside int64.
nlohmann::ordered_json typed_plain_scalar(const std::string& s) {
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::string_view v = s;
  std::string_view digits = v;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (all_of(digits, "0123456789")) {
    std::int64_t n = 0;
    std::string_view body = v[0] == '+' ? v.substr(1) : v;
    auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), n);
    if (ec == std::errc() && p == body.data() + body.size()) return n;
    return s;
  }
  if (v.size() > 2 && (v.substr(0, 2) == "0x" || v.substr(0, 2) == "0o")) {
    std::string_view body = v.substr(2);
    int base = v[1] == 'x' ? 16 : 8;
    if (all_of(body, base == 16 ? "0123456789abcdefABCDEF" : "01234567")) {
      std::int64_t n = 0;
      auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), n, base);
      if (ec == std::errc() && p == body.data() + body.size()) return n;
    }
    return s;
  }
  // [-+]? ( \.[0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  {
    std::size_t i = 0;
    if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++int_digits;
    bool dot = false;
    if (i < v.size() && v[i] == '.') {
      dot = true;
      ++i;
      while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++frac_digits;
    }
    bool mantissa_ok = int_digits > 0 || (dot && frac_digits > 0);
    bool exp_ok = true;
    bool has_exp = false;
    if (mantissa_ok && i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
      has_exp = true;
      ++i;
      if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
      std::size_t exp_digits = 0;
      while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++exp_digits;
      exp_ok = exp_digits > 0;
    }
    if (mantissa_ok && exp_ok && i == v.size() && (dot || has_exp)) {
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size() && d - d == 0.0) return d;   // finite only
    }
  }
  return s;
}

Result<nlohmann::ordered_json> json_value(const YAML::Node& node, const YAML::Node& original, std::string_view origin,
                                  const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nlohmann::ordered_json(nullptr);
    case YAML::NodeType::Scalar: {
      if (auto h = handle_of(original)) {
        if (!valid_utf8(node.Scalar())) return not_utf8(*h, origin, path);
        return nlohmann::ordered_json(node.Scalar());
      }
      if (node.Tag() == "?") return typed_plain_scalar(node.Scalar());
      return nlohmann::ordered_json(node.Scalar());
    }
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      std::size_t i = 0;
      auto o = original.begin();
      for (auto it = node.begin(); it != node.end(); ++it, ++o, ++i) {
        auto v = json_value(*it, *o, origin, index_path(path, i));
        if (!v) return v;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::ordered_json obj = nlohmann::ordered_json::object();
      auto o = original.begin();
      for (auto it = node.begin(); it != node.end(); ++it, ++o) {
        std::string key;
        if (it->first.IsScalar()) {
          key = it->first.Scalar();
        } else {
          // A complex key: its YAML text in flow style.
          YAML::Emitter e;
          e << YAML::Flow << it->first;
          key = e.c_str();
        }
        auto v = json_value(it->second, o->second, origin, child_path(path, it->first));
        if (!v) return v;
        obj[key] = std::move(*v);
      }
      return obj;
    }
  }
  return nlohmann::ordered_json(nullptr);
}

}  // namespace

std::vector<Document> clone_documents(const std::vector<Document>& docs) {
  std::vector<Document> out;
  out.reserve(docs.size());
  for (const auto& d : docs) out.push_back(Document{d.origin, YAML::Clone(d.root)});
  return out;
}

Result<SecretText> render_yaml(const Document& resolved, const Document& original) {
  YAML::Emitter out;
  auto st = emit_yaml(out, resolved.root, original.root, resolved.origin, "");
  if (!st) return st.error();
  if (!out.good()) return make_error(Code::internal, "cannot write " + resolved.origin + " as YAML: " + out.GetLastError());
  SecretText text;
  text.str().reserve(out.size() + 1);   // one allocation: no unzeroed intermediate copies
  text.str().append(out.c_str(), out.size());
  text.str() += '\n';
  // The emitter's own buffer held the values too: zero it before the emitter frees it.
  sts::secure_zero(const_cast<char*>(out.c_str()), out.size());
  return text;
}

Result<nlohmann::ordered_json> to_json(const Document& resolved, const Document& original) {
  return json_value(resolved.root, original.root, resolved.origin, "");
}

SecretText dump_json(const nlohmann::ordered_json& value) {
  // Values were checked for UTF-8 above; replace keeps any other bad byte from throwing.
  SecretText dumped(value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  SecretText text;
  text.str().reserve(dumped.str().size() + 1);
  text.str().append(dumped.str());
  text.str() += '\n';
  return text;
}

}  // namespace sts::cli
