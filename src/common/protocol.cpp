// The backend protocol of SPEC 3 (see protocol.h).
//
// encode_request / parse_request use nlohmann_json: requests carry handle names only, which are
// not secret. validate_response is a small hand-written, non-recursive JSON parser:
//   - string values of requested handles are decoded straight into SecureBuffer storage;
//     every other string (keys, unrequested values, `error` strings) is either validated
//     without being copied anywhere or decoded into SecureBuffer scratch that is zeroed;
//   - errors carry byte offsets (0-based) and fixed wording, never response bytes, except the
//     backend's own `error` string of a requested handle, through sanitize_backend_text();
//   - containers are tracked on a fixed 3-slot stack (top object -> handle entry -> value),
//     so nesting costs nothing and anything deeper is Code::response_too_deep at once.
//
// Decisions beyond the letter of SPEC 3 (documented here and in the tests):
//   - A requested handle whose entry is not an object ("h1": "s1", "h1": null, ...) fails that
//     handle with Code::handle_value_not_string; the message names the JSON type only.
//   - An `error` that is neither null nor a string (a number, true, an object...) fails the handle
//     with Code::handle_backend_error; the message names the type only. "" and null mean "no error".
//   - When an entry has both a non-empty `error` and a usable `value`, the error wins.
//   - Malformed \u escapes (non-hex digits) are syntax errors (response_not_json); escapes that
//     encode lone or mismatched surrogates are response_bad_utf8.
//   - Invalid UTF-8 outside strings is response_bad_utf8; valid non-ASCII there is not_json.
//   - The whole input is validated before the top-level type is judged: "[1," is not_json,
//     "[1]" is response_not_object, "[[[[1]]]]" is response_too_deep (deeper than any schema).
//   - Duplicate keys name the key only when it is a requested handle (top level) or the fixed
//     field names "value"/"error" inside a requested handle's entry; otherwise just the offset.
#include "common/protocol.h"

#include "common/text.h"

#include "stsecrets/secure_buffer.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <set>
#include <utility>

namespace sts {

// ---- request -------------------------------------------------------------------------------

std::string encode_request(const std::vector<std::string>& handles) {
  // ordered_json keeps "version" first, as SPEC 3 writes it. Handles were validated by the
  // scanner; invalid UTF-8 would be replaced (U+FFFD) rather than throw out of here, and such a
  // handle then simply comes back missing.
  nlohmann::ordered_json request;
  request["version"] = "1.0";
  request["secrets"] = handles;
  return request.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

// Accepts "1", "1.0", "1.1", "1.2.3"; returns the major version, or -1 when not a version.
long major_version(std::string_view v) {
  if (v.empty()) return -1;
  long major = 0;
  std::size_t i = 0;
  bool in_major = true;
  bool want_digit = true;
  for (; i < v.size(); ++i) {
    char c = v[i];
    if (c >= '0' && c <= '9') {
      if (in_major) {
        if (major > 100000) return -1;
        major = major * 10 + (c - '0');
      }
      want_digit = false;
    } else if (c == '.' && !want_digit) {
      in_major = false;
      want_digit = true;
    } else {
      return -1;
    }
  }
  return want_digit ? -1 : major;
}

// SAX handler for a request: {"version": "1.x", "secrets": ["h1", ...]}. Depth is bounded at 2
// (top object -> secrets array); the parser itself is iterative, so deep input stops here.
class RequestSax {
 public:
  using json = nlohmann::json;
  static constexpr int kMaxDepth = 2;

  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(json::number_integer_t) { return scalar("a number"); }
  bool number_unsigned(json::number_unsigned_t) { return scalar("a number"); }
  bool number_float(json::number_float_t, const json::string_t&) { return scalar("a number"); }
  bool binary(json::binary_t&) { return scalar("binary"); }
  bool string(json::string_t& s) {
    if (depth_ == 1 && key_ == Key::version) {
      version_ = s;
      has_version_ = true;
      return true;
    }
    if (depth_ == 2 && in_secrets_) {
      secrets_.push_back(s);
      return true;
    }
    return scalar("a string");
  }
  bool start_object(std::size_t) { return open("an object"); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) {
    bool at_secrets = depth_ == 1 && key_ == Key::secrets;
    if (!open("an array")) return false;
    if (at_secrets) {
      in_secrets_ = true;
      has_secrets_ = true;
    }
    return true;
  }
  bool end_array() {
    in_secrets_ = false;
    return close();
  }
  bool key(json::string_t& k) {
    if (depth_ != 1) return true;
    if (!keys_.insert(k).second) return fail("has a duplicate key \"" + sanitize_backend_text(k) + "\"");
    key_ = k == "version" ? Key::version : k == "secrets" ? Key::secrets : Key::other;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    // Never ex.what(): it quotes the last token read.
    return fail("is not valid JSON (byte " + std::to_string(position > 0 ? position - 1 : 0) + ")");
  }

  Result<std::vector<std::string>> finish(bool parsed) {
    if (!error_.empty()) return make_error(Code::usage, "request " + error_);
    if (!parsed) return make_error(Code::usage, "request is not valid JSON");
    if (!has_version_) return make_error(Code::usage, "request has no \"version\" string");
    long major = major_version(version_);
    if (major != 1) {
      return make_error(Code::usage, "unsupported protocol version \"" + sanitize_backend_text(version_) +
                                         "\": this backend speaks 1.x");
    }
    if (!has_secrets_) return make_error(Code::usage, "request has no \"secrets\" array");
    return std::move(secrets_);
  }

 private:
  enum class Key { none, version, secrets, other };

  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool scalar(const char* type) {
    if (depth_ == 0) return fail("is " + std::string(type) + ", not an object");
    if (depth_ == 1 && key_ == Key::version) return fail("\"version\" is " + std::string(type) + ", not a string");
    if (depth_ == 1 && key_ == Key::secrets) return fail("\"secrets\" is " + std::string(type) + ", not an array");
    if (depth_ == 2 && in_secrets_) {
      return fail("\"secrets\"[" + std::to_string(secrets_.size()) + "] is " + std::string(type) + ", not a string");
    }
    return true;  // unknown keys are ignored
  }
  bool open(const char* type) {
    if (depth_ == 0 && std::string_view(type) != "an object") return fail("is " + std::string(type) + ", not an object");
    if (depth_ == 1 && key_ == Key::version) return fail("\"version\" is " + std::string(type) + ", not a string");
    if (depth_ == 1 && key_ == Key::secrets && std::string_view(type) != "an array") {
      return fail("\"secrets\" is " + std::string(type) + ", not an array");
    }
    if (depth_ == 2 && in_secrets_) {
      return fail("\"secrets\"[" + std::to_string(secrets_.size()) + "] is " + std::string(type) + ", not a string");
    }
    if (depth_ >= kMaxDepth) return fail("is nested deeper than the protocol allows");
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  Key key_ = Key::none;
  bool in_secrets_ = false;
  bool has_version_ = false;
  bool has_secrets_ = false;
  std::string version_;
  std::vector<std::string> secrets_;
  std::set<std::string> keys_;
  std::string error_;
};

}  // namespace

Result<std::vector<std::string>> parse_request(std::string_view bytes) {
  RequestSax sax;
  bool parsed = false;
  try {
    parsed = nlohmann::json::sax_parse(bytes.begin(), bytes.end(), &sax, nlohmann::json::input_format_t::json,
                                       /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception&) {
    // sax_parse reports through parse_error(); anything thrown is a bug in the input we cannot
    // describe without echoing it.
    parsed = false;
  }
  return sax.finish(parsed);
}

// ---- response ------------------------------------------------------------------------------

namespace {

enum class JType : std::uint8_t { none, null, boolean, number, string, array, object };

const char* type_name(JType t) noexcept {
  switch (t) {
    case JType::none: return "missing";
    case JType::null: return "null";
    case JType::boolean: return "a boolean";
    case JType::number: return "a number";
    case JType::string: return "a string";
    case JType::array: return "an array";
    case JType::object: return "an object";
  }
  return "unknown";
}

// What one requested handle's entry looked like.
struct Entry {
  std::string_view handle;
  JType entry = JType::none;   // none: missing from the response
  JType value = JType::none;
  JType error = JType::none;
  SecureBuffer value_bytes;    // decoded `value` when it is a string
  bool error_nonempty = false;
  std::string error_text;      // sanitized `error` when it is a non-empty string
};

// Where the value being parsed goes.
struct Slot {
  enum class Kind : std::uint8_t { discard, top, entry, value, error };
  Kind kind = Kind::discard;
  std::size_t index = 0;
};

// A key of an object, stored as a range of the frame's key buffer (locked, zeroed on pop).
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
  enum class State : std::uint8_t { start, need_key, need_colon, after_value };
  Kind kind = Kind::object;
  State state = State::start;
  bool owned = false;        // the entry object of a requested handle (index owner)
  std::size_t owner = 0;
  Slot pending;              // slot for the value after the colon
  SecureBuffer keys;
  std::set<KeyRef, KeyLess> seen{KeyLess{&keys}};
  void reset() {
    seen.clear();
    keys.clear();
  }
};

// The schema is top object -> handle entry -> value; one more level of containers is the most
// a valid response can hold.
constexpr std::size_t kMaxDepth = 3;

class ResponseParser {
 public:
  ResponseParser(std::string_view bytes, std::vector<Entry>& entries,
                 const std::map<std::string_view, std::size_t, std::less<>>& index, std::string_view executable)
      : b_(reinterpret_cast<const unsigned char*>(bytes.data())), n_(bytes.size()), entries_(entries),
        index_(index), executable_(executable) {}

  ~ResponseParser() { scratch_.release(); }
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  Status run();

 private:
  Error fail(Code code, const std::string& what) const {
    return make_error(code, "backend " + std::string(executable_) + ": " + what);
  }
  Error not_json(std::size_t at, const char* what) const {
    return fail(Code::response_not_json,
                "response is not valid JSON (byte " + std::to_string(at) + ": " + what + ")");
  }
  Error bad_utf8(std::size_t at, const char* what) const {
    return fail(Code::response_bad_utf8,
                "response is not valid UTF-8 (byte " + std::to_string(at) + ": " + what + ")");
  }
  // An unexpected byte: invalid UTF-8 there is reported as such, anything else as a syntax error.
  Error unexpected(std::size_t at, const char* expected) const {
    if (b_[at] >= 0x80 && utf8_sequence_length(b_ + at, n_ - at) == 0) return bad_utf8(at, "invalid byte sequence");
    return not_json(at, expected);
  }

  static const char* end_message(const Frame& f) noexcept {
    const bool object = f.kind == Frame::Kind::object;
    switch (f.state) {
      case Frame::State::start: return object ? "unexpected end, expected '\"' or '}'" : "unexpected end, expected a value or ']'";
      case Frame::State::need_key: return object ? "unexpected end, expected '\"'" : "unexpected end, expected a value";
      case Frame::State::need_colon: return "unexpected end, expected ':'";
      case Frame::State::after_value: return object ? "unexpected end, expected ',' or '}'" : "unexpected end, expected ',' or ']'";
    }
    return "unexpected end";
  }

  void skip_ws() noexcept {
    while (pos_ < n_ && (b_[pos_] == ' ' || b_[pos_] == '\n' || b_[pos_] == '\r' || b_[pos_] == '\t')) ++pos_;
  }

  void record(const Slot& slot, JType t) {
    switch (slot.kind) {
      case Slot::Kind::discard: break;
      case Slot::Kind::top: top_ = t; break;
      case Slot::Kind::entry: entries_[slot.index].entry = t; break;
      case Slot::Kind::value: entries_[slot.index].value = t; break;
      case Slot::Kind::error: entries_[slot.index].error = t; break;
    }
  }

  std::optional<Error> parse_value(const Slot& slot);
  std::optional<Error> parse_string(SecureBuffer* sink);
  std::optional<Error> parse_number();
  std::optional<Error> parse_literal(std::string_view word);
  std::optional<Error> parse_key(Frame& f);
  std::optional<Error> open(Frame::Kind kind, const Slot& slot);
  void close();

  const unsigned char* b_;
  std::size_t n_;
  std::size_t pos_ = 0;
  std::vector<Entry>& entries_;
  const std::map<std::string_view, std::size_t, std::less<>>& index_;
  std::string_view executable_;
  JType top_ = JType::none;
  std::array<Frame, kMaxDepth> frames_;
  std::size_t depth_ = 0;
  SecureBuffer scratch_;   // `error` strings; zeroed after each use
};

int hex_digit(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Error> ResponseParser::parse_string(SecureBuffer* sink) {
  ++pos_;  // the opening quote
  if (sink != nullptr) {
    // The decoded string is never longer than its encoding: reserve once, so the value is never
    // copied by growth, and write straight into the buffer.
    std::size_t end = pos_;
    while (end < n_ && b_[end] != '"') end += b_[end] == '\\' ? 2 : 1;
    sink->reserve(sink->size() + (std::min(end, n_) - pos_));
  }
  char* out = sink != nullptr ? sink->spare() : nullptr;
  std::size_t written = 0;
  auto put = [&](const unsigned char* src, std::size_t len) {
    if (out != nullptr) {
      for (std::size_t i = 0; i < len; ++i) out[written + i] = static_cast<char>(src[i]);
      written += len;
    }
  };
  auto put_code_point = [&](std::uint32_t cp) {
    if (out == nullptr) return;
    if (cp < 0x80) {
      out[written++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      out[written++] = static_cast<char>(0xC0 | (cp >> 6));
      out[written++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[written++] = static_cast<char>(0xE0 | (cp >> 12));
      out[written++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out[written++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out[written++] = static_cast<char>(0xF0 | (cp >> 18));
      out[written++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out[written++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out[written++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  auto read_hex4 = [&](std::size_t at, std::uint32_t& cp) {
    if (at + 4 > n_) return false;
    cp = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      int d = hex_digit(b_[at + i]);
      if (d < 0) return false;
      cp = (cp << 4) | static_cast<std::uint32_t>(d);
    }
    return true;
  };
  auto done = [&]() {
    if (sink != nullptr) sink->commit(written);
  };

  while (true) {
    if (pos_ >= n_) {
      done();
      return not_json(pos_, "unterminated string");
    }
    unsigned char c = b_[pos_];
    if (c == '"') {
      ++pos_;
      done();
      return std::nullopt;
    }
    if (c < 0x20) {
      done();
      return not_json(pos_, "control character in a string must be escaped");
    }
    if (c < 0x80 && c != '\\') {
      std::size_t run = pos_;
      while (run < n_ && b_[run] >= 0x20 && b_[run] < 0x80 && b_[run] != '"' && b_[run] != '\\') ++run;
      put(b_ + pos_, run - pos_);
      pos_ = run;
      continue;
    }
    if (c >= 0x80) {
      std::size_t len = utf8_sequence_length(b_ + pos_, n_ - pos_);
      if (len == 0) {
        done();
        return bad_utf8(pos_, "invalid byte sequence in a string");
      }
      put(b_ + pos_, len);
      pos_ += len;
      continue;
    }
    // An escape.
    if (pos_ + 1 >= n_) {
      done();
      return not_json(pos_, "unterminated escape");
    }
    unsigned char e = b_[pos_ + 1];
    char simple = 0;
    switch (e) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': break;
      default:
        done();
        return not_json(pos_, "invalid escape");
    }
    if (simple != 0) {
      if (out != nullptr) out[written++] = simple;
      pos_ += 2;
      continue;
    }
    std::uint32_t cp = 0;
    if (!read_hex4(pos_ + 2, cp)) {
      done();
      return not_json(pos_, "\\u must be followed by four hex digits");
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      done();
      return bad_utf8(pos_, "\\u escape is a lone low surrogate");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (pos_ + 7 >= n_ || b_[pos_ + 6] != '\\' || b_[pos_ + 7] != 'u' || !read_hex4(pos_ + 8, low) ||
          low < 0xDC00 || low > 0xDFFF) {
        done();
        return bad_utf8(pos_, "\\u escape is a high surrogate without a low surrogate");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      pos_ += 12;
    } else {
      pos_ += 6;
    }
    put_code_point(cp);
  }
}

std::optional<Error> ResponseParser::parse_number() {
  const std::size_t start = pos_;
  auto digits = [&]() {
    std::size_t from = pos_;
    while (pos_ < n_ && b_[pos_] >= '0' && b_[pos_] <= '9') ++pos_;
    return pos_ - from;
  };
  if (b_[pos_] == '-') ++pos_;
  if (pos_ < n_ && b_[pos_] == '0') {
    ++pos_;
  } else if (digits() == 0) {
    return not_json(start, "invalid number");
  }
  if (pos_ < n_ && b_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) return not_json(start, "invalid number");
  }
  if (pos_ < n_ && (b_[pos_] == 'e' || b_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < n_ && (b_[pos_] == '+' || b_[pos_] == '-')) ++pos_;
    if (digits() == 0) return not_json(start, "invalid number");
  }
  return std::nullopt;
}

std::optional<Error> ResponseParser::parse_literal(std::string_view word) {
  if (n_ - pos_ < word.size() || std::string_view(reinterpret_cast<const char*>(b_ + pos_), word.size()) != word) {
    return not_json(pos_, "invalid literal");
  }
  pos_ += word.size();
  return std::nullopt;
}

std::optional<Error> ResponseParser::open(Frame::Kind kind, const Slot& slot) {
  if (depth_ >= kMaxDepth) {
    return fail(Code::response_too_deep, "response is nested deeper than the protocol schema (byte " +
                                             std::to_string(pos_) + ")");
  }
  record(slot, kind == Frame::Kind::object ? JType::object : JType::array);
  Frame& f = frames_[depth_++];
  f.reset();
  f.kind = kind;
  f.state = Frame::State::start;
  f.owned = kind == Frame::Kind::object && slot.kind == Slot::Kind::entry;
  f.owner = slot.index;
  f.pending = Slot{};
  ++pos_;
  return std::nullopt;
}

void ResponseParser::close() {
  frames_[--depth_].reset();
  ++pos_;
}

std::optional<Error> ResponseParser::parse_key(Frame& f) {
  const std::size_t at = pos_;
  const std::size_t offset = f.keys.size();
  if (auto err = parse_string(&f.keys)) return err;
  KeyRef ref{offset, f.keys.size() - offset};
  std::string_view key = f.keys.view().substr(offset);
  if (!f.seen.insert(ref).second) {
    std::string what = "response has a duplicate key";
    if (depth_ == 1) {
      if (auto it = index_.find(key); it != index_.end()) what += " \"" + sanitize_backend_text(it->first) + "\"";
    } else if (f.owned && (key == "value" || key == "error")) {
      what += " \"" + std::string(key) + "\" in the entry for handle \"" +
              sanitize_backend_text(entries_[f.owner].handle) + "\"";
    }
    f.keys.truncate(offset);
    return fail(Code::response_duplicate_key, what + " (byte " + std::to_string(at) + ")");
  }
  f.pending = Slot{};
  if (depth_ == 1) {
    if (auto it = index_.find(key); it != index_.end()) f.pending = Slot{Slot::Kind::entry, it->second};
  } else if (f.owned) {
    if (key == "value") f.pending = Slot{Slot::Kind::value, f.owner};
    if (key == "error") f.pending = Slot{Slot::Kind::error, f.owner};
  }
  return std::nullopt;
}

// Parses a scalar, or opens a container (its contents are parsed by run()).
std::optional<Error> ResponseParser::parse_value(const Slot& slot) {
  skip_ws();
  if (pos_ >= n_) return not_json(pos_, "unexpected end, expected a value");
  switch (b_[pos_]) {
    case '{': return open(Frame::Kind::object, slot);
    case '[': return open(Frame::Kind::array, slot);
    case '"': {
      record(slot, JType::string);
      if (slot.kind == Slot::Kind::value) return parse_string(&entries_[slot.index].value_bytes);
      if (slot.kind != Slot::Kind::error) return parse_string(nullptr);
      auto err = parse_string(&scratch_);
      Entry& e = entries_[slot.index];
      e.error_nonempty = !scratch_.empty();
      if (err == std::nullopt && e.error_nonempty) e.error_text = sanitize_backend_text(scratch_.view());
      scratch_.clear();
      return err;
    }
    case 't': record(slot, JType::boolean); return parse_literal("true");
    case 'f': record(slot, JType::boolean); return parse_literal("false");
    case 'n': record(slot, JType::null); return parse_literal("null");
    default:
      if (b_[pos_] == '-' || (b_[pos_] >= '0' && b_[pos_] <= '9')) {
        record(slot, JType::number);
        return parse_number();
      }
      return unexpected(pos_, "expected a value");
  }
}

Status ResponseParser::run() {
  skip_ws();
  if (pos_ >= n_) return fail(Code::response_not_json, "response is empty; expected one JSON object");
  if (auto err = parse_value(Slot{Slot::Kind::top, 0})) return *err;
  while (depth_ > 0) {
    Frame& f = frames_[depth_ - 1];
    skip_ws();
    if (pos_ >= n_) return not_json(pos_, end_message(f));
    unsigned char c = b_[pos_];
    std::optional<Error> err;
    if (f.kind == Frame::Kind::object) {
      switch (f.state) {
        case Frame::State::start:
        case Frame::State::need_key:
          if (c == '}' && f.state == Frame::State::start) {
            close();
          } else if (c == '"') {
            err = parse_key(f);
            f.state = Frame::State::need_colon;
          } else {
            err = unexpected(pos_, f.state == Frame::State::start ? "expected '\"' or '}'" : "expected '\"'");
          }
          break;
        case Frame::State::need_colon:
          if (c != ':') {
            err = unexpected(pos_, "expected ':'");
            break;
          }
          ++pos_;
          f.state = Frame::State::after_value;
          err = parse_value(f.pending);
          break;
        case Frame::State::after_value:
          if (c == ',') {
            ++pos_;
            f.state = Frame::State::need_key;
          } else if (c == '}') {
            close();
          } else {
            err = unexpected(pos_, "expected ',' or '}'");
          }
          break;
      }
    } else {
      switch (f.state) {
        case Frame::State::start:
        case Frame::State::need_key:   // for arrays: after ',' a value must follow
          if (c == ']' && f.state == Frame::State::start) {
            close();
            break;
          }
          f.state = Frame::State::after_value;
          err = parse_value(Slot{});
          break;
        case Frame::State::need_colon: break;  // not used by arrays
        case Frame::State::after_value:
          if (c == ',') {
            ++pos_;
            f.state = Frame::State::need_key;
          } else if (c == ']') {
            close();
          } else {
            err = unexpected(pos_, "expected ',' or ']'");
          }
          break;
      }
    }
    if (err) return *err;
  }
  skip_ws();
  if (pos_ < n_) return unexpected(pos_, "unexpected data after the JSON value");
  if (top_ != JType::object) {
    return fail(Code::response_not_object,
                std::string("response is ") + type_name(top_) + ", not a JSON object of handles");
  }
  return ok();
}

void strip_trailing_line_breaks(SecureBuffer& value) noexcept {
  std::size_t size = value.size();
  while (size > 0 && (value.data()[size - 1] == '\n' || value.data()[size - 1] == '\r')) --size;
  value.truncate(size);
}

}  // namespace

Result<FetchResult> validate_response(std::string_view bytes, const std::vector<std::string>& requested,
                                      const ValidateOptions& options, std::string_view executable) {
  std::map<std::string_view, std::size_t, std::less<>> index;
  std::vector<Entry> entries;
  entries.reserve(requested.size());
  for (const auto& h : requested) {
    if (index.emplace(h, entries.size()).second) {
      entries.emplace_back();
      entries.back().handle = h;
    }
  }

  {
    ResponseParser parser(bytes, entries, index, executable);
    if (Status st = parser.run(); !st) return std::move(st).error();
  }

  const std::string prefix = "backend " + std::string(executable) + ": handle \"";
  FetchResult result;
  for (Entry& e : entries) {
    const std::string name = sanitize_backend_text(e.handle);
    auto failure = [&](Code code, const std::string& why) {
      e.value_bytes.release();
      result.failures.emplace(std::string(e.handle), make_error(code, prefix + name + "\": " + why));
    };
    if (e.entry == JType::none) {
      failure(Code::handle_missing, "missing from the response");
    } else if (e.entry != JType::object) {
      failure(Code::handle_value_not_string,
              std::string("its entry is ") + type_name(e.entry) + ", not an object with a \"value\" string");
    } else if (e.error == JType::string && e.error_nonempty) {
      failure(Code::handle_backend_error, "backend error: " + e.error_text);
    } else if (e.error != JType::none && e.error != JType::null && e.error != JType::string) {
      failure(Code::handle_backend_error,
              std::string("its \"error\" is ") + type_name(e.error) + ", not a string (treated as an error)");
    } else if (e.value == JType::none) {
      failure(Code::handle_value_empty, "its entry has no \"value\"");
    } else if (e.value == JType::null) {
      failure(Code::handle_value_empty, "its \"value\" is null");
    } else if (e.value != JType::string) {
      failure(Code::handle_value_not_string, std::string("its \"value\" is ") + type_name(e.value) + ", not a string");
    } else {
      if (options.remove_trailing_line_break) strip_trailing_line_breaks(e.value_bytes);
      if (e.value_bytes.empty()) {
        failure(Code::handle_value_empty, options.remove_trailing_line_break
                                              ? "its \"value\" is empty (after removing trailing line breaks)"
                                              : "its \"value\" is empty");
      } else {
        result.values.emplace(std::string(e.handle), std::move(e.value_bytes));
      }
    }
  }
  return result;
}

}  // namespace sts
