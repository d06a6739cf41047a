// lookup_json (document_lookup.h): one non-recursive pass over a JSON secrets document held in
// locked memory.
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
// of whichever value came first. Errors carry byte offsets, never text. A UTF-8 byte-order mark
// at the start is skipped (editors on Windows write one).
#include "common/document_lookup.h"
#include "common/document_outcome.h"

#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <deque>
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
      auto parts = parse_document_key(key);
      if (!parts) {
        Error e = std::move(parts).error();
        e.message = std::string(label) + ": " + e.message;
        result.failures.emplace(key, std::move(e));
        continue;
      }
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

// ---- the parser --------------------------------------------------------------------------------

// A decoded key of an object, as a range of its frame's key buffer.
struct KeyRef {
  std::size_t offset;
  std::size_t size;
};
struct KeyLess {
  const SecureBuffer* keys;
  std::string_view view(const KeyRef& k) const { return keys->view().substr(k.offset, k.size); }
  bool operator()(const KeyRef& a, const KeyRef& b) const { return view(a) < view(b); }
};

struct Frame {
  enum class Kind : std::uint8_t { object, array };
  enum class State : std::uint8_t { start, need_key, need_colon, need_value, after_value };
  explicit Frame(Kind k, std::size_t b) : kind(k), base(b) {}
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;
  Kind kind;
  State state = State::start;
  std::size_t base;          // length of the path up to this container (its items add one part)
  SecureBuffer keys;         // decoded keys, for the duplicate rule (locked, zeroed)
  std::set<KeyRef, KeyLess> seen{KeyLess{&keys}};
};

int hex_digit(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class JsonWalk {
 public:
  JsonWalk(std::string_view doc, Targets& targets, std::string_view label)
      : b_(reinterpret_cast<const unsigned char*>(doc.data())), n_(doc.size()), targets_(targets), label_(label) {}

  Status run();

 private:
  Error fail(std::size_t at, const char* what) const {
    return make_error(Code::config_unreadable, std::string(label_) + ": the document is not valid JSON (byte " +
                                                   std::to_string(at) + ": " + what + "); fix it");
  }
  Error bad_utf8(std::size_t at) const {
    return make_error(Code::config_unreadable, std::string(label_) + ": the document is not valid UTF-8 (byte " +
                                                   std::to_string(at) + "); save it as UTF-8");
  }
  Error unexpected(std::size_t at, const char* expected) const {
    if (at >= n_) return fail(at, "unexpected end");
    if (b_[at] >= 0x80 && utf8_sequence_length(b_ + at, n_ - at) == 0) return bad_utf8(at);
    return fail(at, expected);
  }

  void skip_ws() noexcept {
    while (pos_ < n_ && (b_[pos_] == ' ' || b_[pos_] == '\n' || b_[pos_] == '\r' || b_[pos_] == '\t')) ++pos_;
  }

  std::optional<Error> parse_string(SecureBuffer* sink);
  std::optional<Error> parse_number();
  std::optional<Error> parse_literal(std::string_view word);
  std::optional<Error> parse_key(Frame& f);
  std::optional<Error> parse_value();
  std::optional<Error> step(Frame& f);

  const unsigned char* b_;
  std::size_t n_;
  std::size_t pos_ = 0;
  Targets& targets_;
  std::string_view label_;
  SecureBuffer path_;            // the current value's encoded path
  std::deque<Frame> frames_;     // deque: frames never move, so KeyLess's pointer stays valid
};

std::optional<Error> JsonWalk::parse_string(SecureBuffer* sink) {
  ++pos_;   // the opening quote
  if (sink != nullptr) {
    // The decoded string is never longer than its encoding: reserve once, write in place.
    std::size_t end = pos_;
    while (end < n_ && b_[end] != '"') end += b_[end] == '\\' ? 2 : 1;
    sink->reserve(sink->size() + (std::min(end, n_) - pos_));
  }
  char* out = sink != nullptr ? sink->spare() : nullptr;
  std::size_t written = 0;
  auto put = [&](unsigned char c) {
    if (out != nullptr) out[written++] = static_cast<char>(c);
  };
  auto put_code_point = [&](std::uint32_t cp) {
    if (cp < 0x80) {
      put(static_cast<unsigned char>(cp));
    } else if (cp < 0x800) {
      put(static_cast<unsigned char>(0xC0 | (cp >> 6)));
      put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      put(static_cast<unsigned char>(0xE0 | (cp >> 12)));
      put(static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F)));
      put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
    } else {
      put(static_cast<unsigned char>(0xF0 | (cp >> 18)));
      put(static_cast<unsigned char>(0x80 | ((cp >> 12) & 0x3F)));
      put(static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F)));
      put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
    }
  };
  auto hex4 = [&](std::size_t at, std::uint32_t& cp) {
    if (at + 4 > n_) return false;
    cp = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const int d = hex_digit(b_[at + i]);
      if (d < 0) return false;
      cp = cp * 16 + static_cast<std::uint32_t>(d);
    }
    return true;
  };
  auto done = [&]() -> std::optional<Error> {
    if (sink != nullptr) sink->commit(written);
    return std::nullopt;
  };
  while (pos_ < n_) {
    const unsigned char c = b_[pos_];
    if (c == '"') {
      ++pos_;
      return done();
    }
    if (c < 0x20) return fail(pos_, "control character inside a string");
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(b_ + pos_, n_ - pos_);
      if (len == 0) return bad_utf8(pos_);
      for (std::size_t i = 0; i < len; ++i) put(b_[pos_ + i]);
      pos_ += len;
      continue;
    }
    if (c != '\\') {
      put(c);
      ++pos_;
      continue;
    }
    if (pos_ + 1 >= n_) break;
    const unsigned char e = b_[pos_ + 1];
    switch (e) {
      case '"': put('"'); break;
      case '\\': put('\\'); break;
      case '/': put('/'); break;
      case 'b': put('\b'); break;
      case 'f': put('\f'); break;
      case 'n': put('\n'); break;
      case 'r': put('\r'); break;
      case 't': put('\t'); break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(pos_ + 2, cp)) return fail(pos_, "malformed \\u escape");
        std::size_t used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t low = 0;
          if (pos_ + 7 < n_ && b_[pos_ + 6] == '\\' && b_[pos_ + 7] == 'u' && hex4(pos_ + 8, low) && low >= 0xDC00 &&
              low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            used = 12;
          } else {
            return bad_utf8(pos_);   // a lone high surrogate
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return bad_utf8(pos_);     // a lone low surrogate
        }
        put_code_point(cp);
        pos_ += used;
        continue;
      }
      default: return fail(pos_, "unknown escape");
    }
    pos_ += 2;
  }
  if (sink != nullptr) sink->commit(written);   // zeroed with the buffer; the document is refused
  return fail(n_, "unterminated string");
}

std::optional<Error> JsonWalk::parse_number() {
  auto digits = [&]() {
    const std::size_t from = pos_;
    while (pos_ < n_ && b_[pos_] >= '0' && b_[pos_] <= '9') ++pos_;
    return pos_ > from;
  };
  if (b_[pos_] == '-') ++pos_;
  if (pos_ < n_ && b_[pos_] == '0') {
    ++pos_;
  } else if (!digits()) {
    return unexpected(pos_, "expected a digit");
  }
  if (pos_ < n_ && b_[pos_] == '.') {
    ++pos_;
    if (!digits()) return unexpected(pos_, "expected a digit after '.'");
  }
  if (pos_ < n_ && (b_[pos_] == 'e' || b_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < n_ && (b_[pos_] == '+' || b_[pos_] == '-')) ++pos_;
    if (!digits()) return unexpected(pos_, "expected a digit in the exponent");
  }
  return std::nullopt;
}

std::optional<Error> JsonWalk::parse_literal(std::string_view word) {
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (pos_ + i >= n_ || b_[pos_ + i] != static_cast<unsigned char>(word[i])) return unexpected(pos_ + i, "expected a value");
  }
  pos_ += word.size();
  return std::nullopt;
}

std::optional<Error> JsonWalk::parse_key(Frame& f) {
  const std::size_t at = pos_;
  const std::size_t offset = f.keys.size();
  if (auto e = parse_string(&f.keys)) return e;
  const KeyRef ref{offset, f.keys.size() - offset};
  if (!f.seen.insert(ref).second) {
    return make_error(Code::config_unreadable, std::string(label_) + ": the document has a duplicate key (byte " +
                                                   std::to_string(at) + "); keep one");
  }
  path_.truncate(f.base);
  append_part(path_, f.keys.view().substr(ref.offset, ref.size));
  return std::nullopt;
}

// A value starts at pos_ (whitespace skipped); path_ is its path.
std::optional<Error> JsonWalk::parse_value() {
  if (pos_ >= n_) return fail(pos_, "unexpected end, expected a value");
  const unsigned char c = b_[pos_];
  Shape shape = Shape::missing;
  if (c == '{') shape = Shape::map;
  else if (c == '[') shape = Shape::list;
  else if (c == '"') shape = Shape::string;
  else if (c == '-' || (c >= '0' && c <= '9')) shape = Shape::number;
  else if (c == 't' || c == 'f') shape = Shape::boolean;
  else if (c == 'n') shape = Shape::null;
  else return unexpected(pos_, "expected a value");

  SecureBuffer* sink = targets_.at_value(path_.view(), shape);
  switch (shape) {
    case Shape::map:
    case Shape::list:
      if (frames_.size() >= kMaxDocumentDepth) {
        return make_error(Code::config_unreadable, std::string(label_) + ": the document nests deeper than " +
                                                       std::to_string(kMaxDocumentDepth) + " levels (byte " +
                                                       std::to_string(pos_) + ")");
      }
      ++pos_;
      frames_.emplace_back(shape == Shape::map ? Frame::Kind::object : Frame::Kind::array, path_.size());
      return std::nullopt;
    case Shape::string: return parse_string(sink);
    case Shape::number: return parse_number();
    case Shape::boolean: return parse_literal(c == 't' ? "true" : "false");
    case Shape::null: return parse_literal("null");
    default: break;
  }
  return unexpected(pos_, "expected a value");
}

// One step of the innermost container.
std::optional<Error> JsonWalk::step(Frame& f) {
  const bool object = f.kind == Frame::Kind::object;
  const unsigned char close = object ? '}' : ']';
  if (pos_ >= n_) return fail(pos_, object ? "unexpected end inside an object" : "unexpected end inside a list");
  const unsigned char c = b_[pos_];
  auto close_frame = [&]() {
    ++pos_;
    path_.truncate(f.base);
    frames_.pop_back();   // f is gone after this
  };
  auto item = [&]() -> std::optional<Error> {
    // A list item: a part no key can spell.
    path_.truncate(f.base);
    path_.push_back('#');
    f.state = Frame::State::after_value;
    return parse_value();
  };
  switch (f.state) {
    case Frame::State::start:
      if (c == close) {
        close_frame();
        return std::nullopt;
      }
      if (!object) return item();
      [[fallthrough]];
    case Frame::State::need_key:
      if (c != '"') return unexpected(pos_, "expected '\"' (a key)");
      if (auto e = parse_key(f)) return e;
      f.state = Frame::State::need_colon;
      return std::nullopt;
    case Frame::State::need_colon:
      if (c != ':') return unexpected(pos_, "expected ':'");
      ++pos_;
      f.state = Frame::State::need_value;
      return std::nullopt;
    case Frame::State::need_value:
      if (!object) return item();
      f.state = Frame::State::after_value;
      return parse_value();
    case Frame::State::after_value:
      if (c == close) {
        close_frame();
        return std::nullopt;
      }
      if (c != ',') return unexpected(pos_, object ? "expected ',' or '}'" : "expected ',' or ']'");
      ++pos_;
      f.state = object ? Frame::State::need_key : Frame::State::need_value;
      return std::nullopt;
  }
  return fail(pos_, "unexpected state");
}

Status JsonWalk::run() {
  if (n_ >= 3 && b_[0] == 0xEF && b_[1] == 0xBB && b_[2] == 0xBF) pos_ = 3;
  skip_ws();
  if (pos_ >= n_) {
    return make_error(Code::config_unreadable, std::string(label_) +
                                                   ": the document is empty; write a JSON object such as "
                                                   "{\"db\": {\"password\": \"...\"}}");
  }
  if (b_[pos_] != '{') {
    return make_error(Code::config_unreadable, std::string(label_) +
                                                   ": the document must hold a JSON object (a map of keys) at the top "
                                                   "level (byte " + std::to_string(pos_) + ")");
  }
  if (auto e = parse_value()) return std::move(*e);
  while (!frames_.empty()) {
    skip_ws();
    if (auto e = step(frames_.back())) return std::move(*e);
  }
  skip_ws();
  if (pos_ != n_) return unexpected(pos_, "expected the end of the document");
  return ok();
}

}  // namespace

Result<FetchResult> lookup_json(std::string_view document, const std::vector<std::string>& keys, std::string_view label) {
  FetchResult result;
  Targets targets(keys, label, result);
  JsonWalk walk(document, targets, label);
  Status st = walk.run();
  if (!st) return std::move(st).error();
  targets.finish();
  return result;
}

}  // namespace sts
