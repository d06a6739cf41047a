// Resolved documents to YAML or JSON (render.h).
#include "render.h"

#include "stsecrets/secure_buffer.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace sts::cli {
namespace {

// ---- YAML ---------------------------------------------------------------------------------

void emit_yaml(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") {
        out << YAML::DoubleQuoted << node.Scalar();   // quoted in the source, or a secret: a string
      } else if (node.Tag() == "?" || node.Tag().empty()) {
        out << node.Scalar();
      } else {
        out << node;   // explicit tag (e.g. !!int): yaml-cpp writes it verbatim
      }
      return;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) emit_yaml(out, item);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        emit_yaml(out, kv.first);   // keys are never handles; emitted as they were
        out << YAML::Value;
        emit_yaml(out, kv.second);
      }
      out << YAML::EndMap;
      return;
  }
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

nlohmann::ordered_json json_value(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "?") return typed_plain_scalar(node.Scalar());
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& item : node) arr.push_back(json_value(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::ordered_json obj = nlohmann::ordered_json::object();
      for (const auto& kv : node) {
        std::string key;
        if (kv.first.IsScalar()) {
          key = kv.first.Scalar();
        } else {
          // A complex key: its YAML text in flow style.
          YAML::Emitter e;
          e << YAML::Flow << kv.first;
          key = e.c_str();
        }
        obj[key] = json_value(kv.second);
      }
      return obj;
    }
  }
  return nullptr;
}

}  // namespace

Result<SecretText> render_yaml(const Document& resolved) {
  YAML::Emitter out;
  emit_yaml(out, resolved.root);
  if (!out.good()) {
    return make_error(Code::internal, "cannot write " + resolved.origin + " as YAML: " + out.GetLastError());
  }
  SecretText text;
  text.str().reserve(out.size() + 1);   // one allocation: no unzeroed intermediate copies
  text.str().append(out.c_str(), out.size());
  text.str() += '\n';
  // The emitter's own buffer held the values too: zero it before the emitter frees it.
  sts::secure_zero(const_cast<char*>(out.c_str()), out.size());
  return text;
}

nlohmann::ordered_json to_json(const Document& resolved) { return json_value(resolved.root); }

SecretText dump_json(const nlohmann::ordered_json& value) {
  // The Resolver refused non-UTF-8 values; replace keeps any other bad byte from throwing.
  SecretText dumped(value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  SecretText text;
  text.str().reserve(dumped.str().size() + 1);
  text.str().append(dumped.str());
  text.str() += '\n';
  return text;
}

}  // namespace sts::cli
