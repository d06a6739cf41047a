// lookup_json (document_lookup.h): one pass of the strict JSON reader (json_lexer.h, the same one
// the protocol validators use) over a JSON secrets document held in locked memory.
//
// How it finds keys without building a tree: the parser keeps the path of the value it is at,
// encoded part by part as "<length>:<bytes>" in a SecureBuffer (an injective encoding, so a
// part holding '/' or ':' cannot be confused with two parts), and a list item as "#", which no
// encoded part starts with, so nothing inside a list is ever addressed. Every requested key, and
// each of its prefixes, is encoded the same way in a table; at the start of each value the
// parser looks its path up there (a view into locked memory, no copy), records how far each key
// got, and, for a string at a requested key's full path, decodes it straight into that key's
// SecureBuffer (reserved once from the encoded length: the value is never moved by growth).
//
// The whole document is validated even after every key is found: a document with a syntax
// error or a duplicate key (at any depth; decoded keys are compared) is an error, not a source
// of whichever value came first. Nesting is bounded by the reader (kMaxJsonDepth, 32 levels).
// Errors carry byte offsets, never text. A UTF-8 byte-order mark at the start is skipped.
#include "common/document_lookup.h"
#include "common/document_outcome.h"
#include "common/json_lexer.h"

#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <map>
#include <optional>
#include <set>

namespace sts {
namespace {

// ---- the requested keys ----------------------------------------------------------------------

void append_part(SecureBuffer& out, std::string_view part) {
  out.append(std::to_string(part.size()));
  out.push_back(':');
  out.append(part);
}

struct Want {
  std::size_t key;     // index into Targets::keys_
  std::size_t depth;   // how many parts of that key this path spells
};

class Targets {
 public:
  Targets(const std::vector<std::string>& keys, std::string_view label, FetchResult& result)
      : label_(label), result_(result) {
    for (const auto& key : keys) {
      auto parts = parse_key_or_fail(key, label, result);
      if (!parts) continue;
      const std::size_t index = keys_.size();
      keys_.push_back(Key{key, {}, SecureBuffer()});
      keys_.back().outcome.parts = parts->size();
      // Non-secret: these are the handle's own parts.
      SecureBuffer encoded;
      by_path_[std::string()].push_back(Want{index, 0});
      for (std::size_t d = 0; d < parts->size(); ++d) {
        append_part(encoded, (*parts)[d]);
        by_path_[std::string(encoded.view())].push_back(Want{index, d + 1});
      }
    }
  }

  // A value of `shape` starts at `path`. Returns where to decode it, when it is a string that a
  // key asks for.
  SecureBuffer* at_value(std::string_view path, Shape shape) {
    const auto it = by_path_.find(path);
    if (it == by_path_.end()) return nullptr;
    SecureBuffer* sink = nullptr;
    for (const Want& w : it->second) {
      Key& k = keys_[w.key];
      if (w.depth < k.outcome.reached) continue;
      k.outcome.reached = w.depth;
      k.outcome.stop = shape;
      if (w.depth == k.outcome.parts && shape == Shape::string && sink == nullptr) {
        k.outcome.found_string = true;
        sink = &k.value;
      }
    }
    return sink;
  }

  // After a successful parse: every key's value or failure.
  void finish() {
    for (Key& k : keys_) {
      Outcome& o = k.outcome;
      if (o.found_string) {
        o.empty = k.value.empty();
        o.holds_nul = k.value.view().find('\0') != std::string_view::npos;
        if (!o.empty && !o.holds_nul) {
          result_.values.emplace(k.key, std::move(k.value));
          continue;
        }
      }
      result_.failures.emplace(k.key, outcome_error(label_, k.key, o, false));
    }
  }

  bool empty() const { return keys_.empty(); }

 private:
  struct Key {
    std::string key;
    Outcome outcome;
    SecureBuffer value;
  };
  std::string_view label_;
  FetchResult& result_;
  std::vector<Key> keys_;
  std::map<std::string, std::vector<Want>, std::less<>> by_path_;
};

// ---- the walk (json_lexer.h, the one strict JSON reader) ----------------------------------------

// Tracks the path of the value the reader is at, and hands it to Targets. A member at depth d
// replaces the path's part d (and everything after it); a list item is the part "#", which no
// encoded key part can spell, so nothing inside a list is addressed.
class PathHandler final : public json::Handler {
 public:
  explicit PathHandler(Targets& targets) : targets_(targets) { ends_.push_back(0); }

  json::Slot member(const json::Slot&, std::size_t depth, std::string_view key) override {
    enter(depth);
    append_part(path_, key);
    ends_.push_back(path_.size());
    return json::Slot{1, 0};
  }
  json::Slot element(const json::Slot&, std::size_t depth, std::size_t) override {
    enter(depth);
    path_.push_back('#');
    ends_.push_back(path_.size());
    return json::Slot{1, 0};
  }
  SecureBuffer* value(const json::Slot&, json::Type type, std::size_t) override {
    return targets_.at_value(path_.view(), shape_of(type));
  }
  void string_done(const json::Slot&) override {}
  void number(const json::Slot&, std::string_view) override {}
  std::string duplicate_name(const json::Slot&, std::size_t, std::string_view) override { return {}; }

 private:
  // The path back to the container at depth - 1 (ends_[k] is the path's length after k parts).
  void enter(std::size_t depth) {
    ends_.resize(depth);
    path_.truncate(ends_.back());
  }
  static Shape shape_of(json::Type type) {
    switch (type) {
      case json::Type::object: return Shape::map;
      case json::Type::array: return Shape::list;
      case json::Type::string: return Shape::string;
      case json::Type::number: return Shape::number;
      case json::Type::boolean: return Shape::boolean;
      case json::Type::null: return Shape::null;
      case json::Type::none: break;
    }
    return Shape::missing;
  }

  Targets& targets_;
  SecureBuffer path_;                  // keys are the handle's parts, but also other document keys: locked
  std::vector<std::size_t> ends_;
};

// A whole-document error from the reader's failure: offsets and fixed words, never text.
Error document_error(const json::Failure& f, std::string_view label) {
  const std::string head = std::string(label) + ": ";
  switch (f.kind) {
    case json::Failure::Kind::empty:
      return make_error(Code::config_unreadable,
                        head + "the document is empty; write a JSON object such as {\"db\": {\"password\": \"...\"}}");
    case json::Failure::Kind::syntax:
      return make_error(Code::config_unreadable, head + json::describe(f, "the document") + "; fix it");
    case json::Failure::Kind::utf8:
      return make_error(Code::config_unreadable, head + json::describe(f, "the document") + "; save it as UTF-8");
    case json::Failure::Kind::too_deep:
      return make_error(Code::config_unreadable, head + json::describe(f, "the document"));
    case json::Failure::Kind::duplicate_key:
      return make_error(Code::config_unreadable, head + json::describe(f, "the document") + "; keep one");
  }
  return make_error(Code::config_unreadable, head + json::describe(f, "the document"));
}

}  // namespace

Result<FetchResult> lookup_json(std::string_view document, const std::vector<std::string>& keys, std::string_view label) {
  // A UTF-8 byte-order mark at the start is skipped (editors on Windows write one).
  if (document.size() >= 3 && document.substr(0, 3) == "\xEF\xBB\xBF") document.remove_prefix(3);
  const std::size_t first = document.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && document[first] != '{') {
    return make_error(Code::config_unreadable, std::string(label) +
                                                   ": the document must hold a JSON object (a map of keys) at the top "
                                                   "level (byte " + std::to_string(first) + ")");
  }
  FetchResult result;
  Targets targets(keys, label, result);
  PathHandler handler(targets);
  if (auto failure = json::walk(document, handler, json::Slot{1, 0})) return document_error(*failure, label);
  targets.finish();
  return result;
}

}  // namespace sts
