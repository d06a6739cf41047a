// Key syntax and per-key outcomes of the secrets-document lookups (document_lookup.h,
// document_outcome.h). The parsers live in document_json.cpp and document_yaml.cpp.
#include "common/document_lookup.h"
#include "common/document_outcome.h"

#include "common/text.h"

namespace sts {
namespace {

std::string shown_key(std::string_view key) { return "\"" + quote_text(key, 256) + "\""; }

// The first n raw parts of a key as the operator wrote them ("db/password", 1 -> "db").
std::string_view raw_prefix(std::string_view key, std::size_t n) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t slash = key.find('/', at);
    if (slash == std::string_view::npos) return key;
    at = slash + 1;
  }
  return n == 0 ? std::string_view() : key.substr(0, at - 1);
}

// The raw part number n (0-based).
std::string_view raw_part(std::string_view key, std::size_t n) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < n; ++i) at = key.find('/', at) + 1;
  const std::size_t end = key.find('/', at);
  return key.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
}

Error missing(std::string_view label, std::string_view key, const Outcome& o) {
  const std::string head = std::string(label) + ": key " + shown_key(key) + ": ";
  const std::string next = shown_key(raw_part(key, o.reached));
  if (o.stop == Shape::map) {
    const std::string where =
        o.reached == 0 ? std::string("the document has no key ") + next + " at the top level"
                       : shown_key(raw_prefix(key, o.reached)) + " has no key " + next;
    // The walk stopped before the last part: a document key that holds '/' itself is the usual
    // reason, so say how to spell one.
    const std::string slash_hint =
        o.reached + 1 < o.parts ? " (a '/' inside one key is written ~1: a~1b for \"a/b\")" : "";
    return make_error(Code::handle_missing, head + where + "; add it to the document or fix the handle" + slash_hint);
  }
  const std::string here = shown_key(raw_prefix(key, o.reached));
  if (o.stop == Shape::list) {
    return make_error(Code::handle_missing, head + here + " is a list, not a map, so it has no key " + next +
                                                "; list items are not addressed: keep the secret under a map key");
  }
  return make_error(Code::handle_missing, head + here + " is " + shape_name(o.stop) + ", not a map, so it has no key " +
                                              next + "; use the key " + here);
}

Error not_string(std::string_view label, std::string_view key, const Outcome& o, bool yaml) {
  const std::string head = std::string(label) + ": key " + shown_key(key) + ": the value is ";
  switch (o.stop) {
    case Shape::map:
      return make_error(Code::handle_value_not_string,
                        head + "a map, not a string; address a string leaf below it, e.g. " +
                            shown_key(std::string(key) + "/<key>"));
    case Shape::list:
      return make_error(Code::handle_value_not_string,
                        head + "a list, not a string; secrets are strings: keep one under a map key");
    case Shape::number:
    case Shape::boolean:
      return make_error(Code::handle_value_not_string,
                        head + shape_name(o.stop) + ", not a string; secrets are strings: " +
                            (yaml ? "quote it in the document" : "write it between double quotes in the document"));
    case Shape::tagged:
      return make_error(Code::handle_value_not_string,
                        head + "tagged " + quote_text(o.tag, 64) +
                            ", not a plain string; write it as a plain or quoted string");
    case Shape::null:
      return make_error(Code::handle_value_empty, head + "null; put the secret in the document");
    case Shape::missing:
    case Shape::string: break;
  }
  return make_error(Code::internal, head + "of an unknown kind");
}

}  // namespace

const char* shape_name(Shape shape) noexcept {
  switch (shape) {
    case Shape::missing: return "missing";
    case Shape::null: return "null";
    case Shape::boolean: return "a boolean";
    case Shape::number: return "a number";
    case Shape::string: return "a string";
    case Shape::list: return "a list";
    case Shape::map: return "a map";
    case Shape::tagged: return "a tagged value";
  }
  return "unknown";
}

Error outcome_error(std::string_view label, std::string_view key, const Outcome& o, bool yaml) {
  if (o.reached < o.parts) return missing(label, key, o);
  if (o.found_string && o.holds_nul) {
    return make_error(Code::handle_value_invalid,
                      std::string(label) + ": key " + shown_key(key) +
                          ": the value holds a NUL character (U+0000), which no environment or C string can carry; "
                          "remove it");
  }
  if (o.found_string && o.empty) {
    return make_error(Code::handle_value_empty,
                      std::string(label) + ": key " + shown_key(key) + ": the value is empty; put the secret in the document");
  }
  return not_string(label, key, o, yaml);
}

Result<std::vector<std::string>> parse_document_key(std::string_view key) {
  auto bad = [key](const std::string& why) {
    return make_error(Code::handle_invalid, "key " + shown_key(key) + ": " + why);
  };
  std::vector<std::string> parts;
  std::string part;
  for (std::size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      if (part.empty()) {
        return bad("has an empty part; write nested keys as a/b/c, without a leading, trailing or doubled '/'");
      }
      parts.push_back(std::move(part));
      part.clear();
      continue;
    }
    if (key[i] != '~') {
      part.push_back(key[i]);
      continue;
    }
    // JSON Pointer escapes (RFC 6901): the only two, so a key has one reading.
    const char next = i + 1 < key.size() ? key[i + 1] : '\0';
    if (next == '0') {
      part.push_back('~');
    } else if (next == '1') {
      part.push_back('/');
    } else {
      return bad("'~' starts an escape: write ~1 for a '/' inside a key and ~0 for a '~'");
    }
    ++i;
  }
  return parts;
}

std::optional<std::vector<std::string>> parse_key_or_fail(const std::string& key, std::string_view label,
                                                          FetchResult& result) {
  auto parts = parse_document_key(key);
  if (parts) return std::move(parts).value();
  Error e = std::move(parts).error();
  e.message = std::string(label) + ": " + e.message;
  result.failures.emplace(key, std::move(e));
  return std::nullopt;
}

}  // namespace sts
