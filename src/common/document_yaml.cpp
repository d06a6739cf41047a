// lookup_yaml (document_lookup.h): a YAML secrets document through yaml-cpp.
//
// yaml-cpp keeps its nodes in ordinary heap memory (document_lookup.h says what that leaves
// behind). What is done about it here:
//   - yaml-cpp reads from an istream over the caller's locked buffer, so there is no std::string
//     copy of the whole document;
//   - the requested values are copied into SecureBuffer, and then every scalar of the tree (keys
//     and values) is zeroed in place before the nodes are freed.
//
// Strings: a quoted scalar, a !!str scalar, or a plain scalar that the YAML 1.2 core schema does
// not read as null, a boolean or a number (`port: 5432` is a number: quote it). Any other tag is
// not a string. Duplicate keys (yaml-cpp keeps both) make the document an error, like in JSON.
// Aliases are followed; the walk counts node visits with aliases expanded and stops past
// kMaxYamlVisits ("billion laughs").
#include "common/document_lookup.h"
#include "common/document_outcome.h"

#include "common/handle_sites.h"
#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <yaml-cpp/yaml.h>

#include <istream>
#include <set>
#include <streambuf>

namespace sts {
namespace {

// Reads the caller's bytes in place (no copy into a std::string).
class ViewBuffer : public std::streambuf {
 public:
  explicit ViewBuffer(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());   // read only: setg needs char*
    setg(p, p, p + bytes.size());
  }
};

bool digits(std::string_view s, bool (*is_digit)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}
bool dec(char c) { return c >= '0' && c <= '9'; }
bool oct(char c) { return c >= '0' && c <= '7'; }
bool hex(char c) { return dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool core_float(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t whole = 0, frac = 0;
  while (i < s.size() && dec(s[i])) ++i, ++whole;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && dec(s[i])) ++i, ++frac;
  }
  if (whole == 0 && frac == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t from = i;
    while (i < s.size() && dec(s[i])) ++i;
    if (i == from) return false;
  }
  return i == s.size();
}

// The YAML 1.2 core schema's reading of a plain scalar.
Shape plain_shape(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Shape::null;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") return Shape::boolean;
  std::string_view unsigned_part = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  if (digits(unsigned_part, dec)) return Shape::number;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && digits(s.substr(2), oct)) return Shape::number;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && digits(s.substr(2), hex)) return Shape::number;
  if (core_float(s)) return Shape::number;
  for (std::string_view special : {".inf", ".Inf", ".INF"}) {
    if (unsigned_part == special) return Shape::number;
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return Shape::number;
  return Shape::string;
}

Shape shape_of(const YAML::Node& node, std::string* tag) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined: return Shape::missing;
    case YAML::NodeType::Null: return Shape::null;
    case YAML::NodeType::Sequence: return Shape::list;
    case YAML::NodeType::Map: return Shape::map;
    case YAML::NodeType::Scalar: break;
  }
  const std::string& t = node.Tag();
  if (t == "!" || t == "tag:yaml.org,2002:str") return Shape::string;
  if (t == "?" || t.empty()) return plain_shape(node.Scalar());
  if (tag != nullptr) *tag = t;
  return Shape::tagged;
}

std::string at_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return " at line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

// Visits every node (aliases expanded, bounded), in an explicit stack: no recursion.
template <class Visit>
Status walk(const YAML::Node& root, std::string_view label, Visit&& visit) {
  struct Item {
    YAML::Node node;
    std::size_t depth;
  };
  std::vector<Item> stack{{root, 0}};
  std::size_t visits = 0;
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    if (++visits > kMaxYamlVisits) {
      return make_error(Code::config_unreadable,
                        std::string(label) + ": the document has more than " + std::to_string(kMaxYamlVisits) +
                            " nodes with aliases expanded; remove the aliases");
    }
    if (item.depth > kMaxDocumentDepth) {
      return make_error(Code::config_unreadable, std::string(label) + ": the document nests deeper than " +
                                                     std::to_string(kMaxDocumentDepth) + " levels" +
                                                     at_mark(item.node.Mark()));
    }
    if (Status st = visit(item.node); !st) return st;
    if (item.node.IsMap()) {
      for (auto it = item.node.begin(); it != item.node.end(); ++it) {
        stack.push_back(Item{it->first, item.depth + 1});
        stack.push_back(Item{it->second, item.depth + 1});
      }
    } else if (item.node.IsSequence()) {
      for (auto it = item.node.begin(); it != item.node.end(); ++it) stack.push_back(Item{*it, item.depth + 1});
    }
  }
  return ok();
}

// A map's keys are unique (compared as scalars, without copies).
Status unique_keys(const YAML::Node& node, std::string_view label) {
  if (!node.IsMap()) return ok();
  std::set<std::string_view> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    if (!seen.insert(it->first.Scalar()).second) {
      return make_error(Code::config_unreadable,
                        std::string(label) + ": the document has a duplicate key" + at_mark(it->first.Mark()) + "; keep one");
    }
  }
  return ok();
}

// Zeroes every scalar of the tree in place, before yaml-cpp frees it.
void zero_scalars(const YAML::Node& root, std::string_view label) {
  (void)walk(root, label, [](const YAML::Node& n) -> Status {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      // The string is the node's own (non-const) member, reached through a const accessor.
      secure_zero(const_cast<char*>(s.data()), s.size());
    }
    return ok();
  });
}

struct ZeroOnExit {
  const YAML::Node& root;
  std::string_view label;
  ~ZeroOnExit() { zero_scalars(root, label); }
};

// The node a key's parts lead to, recording how far the walk got. Nodes are re-pointed with
// reset(): yaml-cpp's operator= would write into the node it refers to, i.e. into the document.
YAML::Node descend(const YAML::Node& root, const std::vector<std::string>& parts, Outcome& o) {
  YAML::Node cur(root);
  o.parts = parts.size();
  o.reached = 0;
  o.stop = Shape::map;
  for (const auto& part : parts) {
    if (!cur.IsMap()) break;
    YAML::Node next;
    bool found = false;
    for (auto it = cur.begin(); it != cur.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == part) {
        next.reset(it->second);
        found = true;
        break;
      }
    }
    if (!found) break;
    cur.reset(next);
    ++o.reached;
    o.tag.clear();
    o.stop = shape_of(cur, &o.tag);
  }
  return cur;
}

}  // namespace

Result<FetchResult> lookup_yaml(std::string_view document, const std::vector<std::string>& keys, std::string_view label) {
  YAML::Node root;
  try {
    ViewBuffer buffer(document);
    std::istream in(&buffer);
    root.reset(YAML::Load(in));
  } catch (const YAML::Exception& e) {
    // Only the fixed part of yaml-cpp's message: some end in ": <input text>".
    return make_error(Code::config_unreadable, std::string(label) + ": the document is not valid YAML" + at_mark(e.mark) +
                                                   ": " + escape_controls(e.msg.substr(0, e.msg.find(": "))) + "; fix it");
  }
  const ZeroOnExit zero{root, label};
  if (Status st = walk(root, label, [&](const YAML::Node& n) { return unique_keys(n, label); }); !st) {
    return std::move(st).error();
  }
  if (!root.IsMap()) {
    return make_error(Code::config_unreadable,
                      std::string(label) + (root.IsNull() || !root.IsDefined()
                                                ? ": the document is empty; write a map such as db: {password: ...}"
                                                : ": the document must hold a map of keys at the top level"));
  }
  FetchResult result;
  for (const auto& key : keys) {
    auto parts = parse_key_or_fail(key, label, result);
    if (!parts) continue;
    Outcome o;
    const YAML::Node leaf = descend(root, *parts, o);
    if (o.reached == o.parts && o.stop == Shape::string) {
      const std::string& text = leaf.Scalar();
      o.found_string = true;
      o.empty = text.empty();
      o.holds_nul = text.find('\0') != std::string::npos;
      if (!o.empty && !o.holds_nul) {
        result.values.emplace(key, SecureBuffer(text));
        continue;
      }
    }
    result.failures.emplace(key, outcome_error(label, key, o, true));
  }
  return result;
}

}  // namespace sts
