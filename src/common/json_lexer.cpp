// The strict, non-recursive JSON reader of json_lexer.h.
//
// One Walker per walk(): a fixed array of kMaxJsonDepth frames (object or array, its parse state,
// its slot, its keys) and a position. run() drives the frames in a loop; values are read by
// parse_value(), which reads scalars at once and pushes a frame for a container.
#include "common/json_lexer.h"

#include "common/protocol.h"
#include "common/text.h"

#include <algorithm>
#include <array>
#include <set>

namespace sts::json {

const char* type_name(Type t) noexcept {
  switch (t) {
    case Type::none: return "missing";
    case Type::null: return "null";
    case Type::boolean: return "a boolean";
    case Type::number: return "a number";
    case Type::string: return "a string";
    case Type::array: return "an array";
    case Type::object: return "an object";
  }
  return "unknown";
}

std::string describe(const Failure& failure, std::string_view subject) {
  const std::string s(subject);
  const std::string at = std::to_string(failure.offset);
  switch (failure.kind) {
    case Failure::Kind::empty: return s + " is empty; expected one JSON object";
    case Failure::Kind::syntax: return s + " is not valid JSON (byte " + at + ": " + failure.what + ")";
    case Failure::Kind::utf8: return s + " is not valid UTF-8 (byte " + at + ": " + failure.what + ")";
    case Failure::Kind::too_deep:
      return s + " is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (byte " + at + ")";
    case Failure::Kind::duplicate_key:
      return s + " has a duplicate key" + (failure.key_name.empty() ? "" : " " + failure.key_name) + " (byte " + at + ")";
  }
  return s + " is not valid JSON";
}

char simple_escape(unsigned char c) noexcept {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
  }
}

namespace {

int hex_digit(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool read_hex4(const unsigned char* p, std::size_t avail, std::uint32_t& cp) noexcept {
  if (avail < 4) return false;
  cp = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int d = hex_digit(p[i]);
    if (d < 0) return false;
    cp = (cp << 4) | static_cast<std::uint32_t>(d);
  }
  return true;
}

std::size_t encode_utf8(std::uint32_t cp, char* out) noexcept {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

std::size_t encoded_length(const unsigned char* b, std::size_t n, std::size_t from) noexcept {
  std::size_t end = from;
  while (end < n && b[end] != '"') end += b[end] == '\\' ? 2 : 1;
  return std::min(end, n) - from;
}

namespace {

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
  // Objects: start -> (need_colon -> after_value -> need_key)* ; arrays use start, need_key
  // (after a ','), after_value.
  enum class State : std::uint8_t { start, need_key, need_colon, after_value };
  Kind kind = Kind::object;
  State state = State::start;
  Slot slot;                 // the container's own slot
  Slot pending;              // objects: the slot of the member whose value comes next
  std::size_t count = 0;     // arrays: elements so far
  SecureBuffer keys;
  std::set<KeyRef, KeyLess> seen{KeyLess{&keys}};

  Frame() = default;
  Frame(const Frame&) = delete;             // `seen` points at this frame's `keys`
  Frame& operator=(const Frame&) = delete;
  void reset() {
    seen.clear();
    keys.clear();
  }
};

// Decoded bytes go to the sink's spare room, reserved up front, or nowhere.
struct Output {
  char* out = nullptr;
  std::size_t written = 0;
  void put(const unsigned char* src, std::size_t len) noexcept {
    if (out == nullptr) return;
    for (std::size_t i = 0; i < len; ++i) out[written + i] = static_cast<char>(src[i]);
    written += len;
  }
  void put_char(char c) noexcept {
    if (out != nullptr) out[written++] = c;
  }
  void put_code_point(std::uint32_t cp) noexcept {
    if (out != nullptr) written += encode_utf8(cp, out + written);
  }
};

class Walker {
 public:
  Walker(std::string_view input, Handler& handler)
      : b_(reinterpret_cast<const unsigned char*>(input.data())), n_(input.size()), handler_(handler) {}
  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;

  std::optional<Failure> run(Slot top);

 private:
  static Failure failure(Failure::Kind kind, std::size_t at, const char* what) { return Failure{kind, at, what, {}}; }
  Failure syntax(std::size_t at, const char* what) const { return failure(Failure::Kind::syntax, at, what); }
  Failure utf8(std::size_t at, const char* what) const { return failure(Failure::Kind::utf8, at, what); }
  // An unexpected byte: invalid UTF-8 there is reported as such, anything else as a syntax error.
  Failure unexpected(std::size_t at, const char* expected) const {
    if (b_[at] >= 0x80 && utf8_sequence_length(b_ + at, n_ - at) == 0) return utf8(at, "invalid byte sequence");
    return syntax(at, expected);
  }
  static const char* end_message(const Frame& f) noexcept;

  void skip_ws() noexcept {
    while (pos_ < n_ && (b_[pos_] == ' ' || b_[pos_] == '\t' || b_[pos_] == '\n' || b_[pos_] == '\r')) ++pos_;
  }

  std::optional<Failure> step_object(Frame& f, unsigned char c);
  std::optional<Failure> step_array(Frame& f, unsigned char c);
  std::optional<Failure> parse_value(const Slot& slot);
  std::optional<Failure> parse_key(Frame& f);
  std::optional<Failure> open(Frame::Kind kind, const Slot& slot);
  void close();

  // The string literal at pos_ (the opening quote), decoded into sink when not null.
  std::optional<Failure> parse_string(SecureBuffer* sink);
  std::optional<Failure> copy_utf8_sequence(Output& out);
  std::optional<Failure> decode_escape(Output& out);
  std::optional<Failure> decode_unicode_escape(Output& out);
  std::optional<Failure> parse_number();
  std::optional<Failure> parse_literal(std::string_view word);

  const unsigned char* b_;
  std::size_t n_;
  std::size_t pos_ = 0;
  Handler& handler_;
  std::array<Frame, kMaxJsonDepth> frames_;
  std::size_t depth_ = 0;
};

const char* Walker::end_message(const Frame& f) noexcept {
  const bool object = f.kind == Frame::Kind::object;
  switch (f.state) {
    case Frame::State::start: return object ? "unexpected end, expected '\"' or '}'" : "unexpected end, expected a value or ']'";
    case Frame::State::need_key: return object ? "unexpected end, expected '\"'" : "unexpected end, expected a value";
    case Frame::State::need_colon: return "unexpected end, expected ':'";
    case Frame::State::after_value: return object ? "unexpected end, expected ',' or '}'" : "unexpected end, expected ',' or ']'";
  }
  return "unexpected end";
}

// ---- strings ---------------------------------------------------------------------------------

std::optional<Failure> Walker::parse_string(SecureBuffer* sink) {
  ++pos_;  // the opening quote
  Output out;
  if (sink != nullptr) {
    // The decoded string is never longer than its encoding: reserve once, so the value is never
    // copied by growth, and write straight into the buffer.
    sink->reserve(sink->size() + encoded_length(b_, n_, pos_));
    out.out = sink->spare();
  }
  std::optional<Failure> result;
  while (!result) {
    if (pos_ >= n_) {
      result = syntax(pos_, "unterminated string");
      break;
    }
    const unsigned char c = b_[pos_];
    if (c == '"') {
      ++pos_;
      break;
    }
    if (c < 0x20) {
      result = syntax(pos_, "control character in a string must be escaped");
    } else if (c == '\\') {
      result = decode_escape(out);
    } else if (c >= 0x80) {
      result = copy_utf8_sequence(out);
    } else {
      // A run of plain ASCII in one go.
      std::size_t run = pos_;
      while (run < n_ && b_[run] >= 0x20 && b_[run] < 0x80 && b_[run] != '"' && b_[run] != '\\') ++run;
      out.put(b_ + pos_, run - pos_);
      pos_ = run;
    }
  }
  // Even a failed string is committed: the sink's owner zeroes it like any other contents.
  if (sink != nullptr) sink->commit(out.written);
  return result;
}

std::optional<Failure> Walker::copy_utf8_sequence(Output& out) {
  const std::size_t len = utf8_sequence_length(b_ + pos_, n_ - pos_);
  if (len == 0) return utf8(pos_, "invalid byte sequence in a string");
  out.put(b_ + pos_, len);
  pos_ += len;
  return std::nullopt;
}

std::optional<Failure> Walker::decode_escape(Output& out) {
  if (pos_ + 1 >= n_) return syntax(pos_, "unterminated escape");
  const unsigned char e = b_[pos_ + 1];
  if (e == 'u') return decode_unicode_escape(out);
  const char simple = simple_escape(e);
  if (simple == 0) return syntax(pos_, "invalid escape");
  out.put_char(simple);
  pos_ += 2;
  return std::nullopt;
}

// \uXXXX, or a \uD8xx\uDCxx surrogate pair; a lone or mismatched surrogate is not Unicode text.
std::optional<Failure> Walker::decode_unicode_escape(Output& out) {
  std::uint32_t cp = 0;
  if (!read_hex4(b_ + pos_ + 2, n_ - (pos_ + 2), cp)) return syntax(pos_, "\\u must be followed by four hex digits");
  if (cp >= 0xDC00 && cp <= 0xDFFF) return utf8(pos_, "\\u escape is a lone low surrogate");
  std::size_t used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    std::uint32_t low = 0;
    const bool paired = pos_ + 7 < n_ && b_[pos_ + 6] == '\\' && b_[pos_ + 7] == 'u' &&
                        read_hex4(b_ + pos_ + 8, n_ - (pos_ + 8), low) && low >= 0xDC00 && low <= 0xDFFF;
    if (!paired) return utf8(pos_, "\\u escape is a high surrogate without a low surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    used = 12;
  }
  out.put_code_point(cp);
  pos_ += used;
  return std::nullopt;
}

// ---- numbers and literals --------------------------------------------------------------------

std::optional<Failure> Walker::parse_number() {
  const std::size_t start = pos_;
  auto digits = [&]() {
    const std::size_t from = pos_;
    while (pos_ < n_ && b_[pos_] >= '0' && b_[pos_] <= '9') ++pos_;
    return pos_ - from;
  };
  if (b_[pos_] == '-') ++pos_;
  if (pos_ < n_ && b_[pos_] == '0') {
    ++pos_;
  } else if (digits() == 0) {
    return syntax(start, "invalid number");
  }
  if (pos_ < n_ && b_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) return syntax(start, "invalid number");
  }
  if (pos_ < n_ && (b_[pos_] == 'e' || b_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < n_ && (b_[pos_] == '+' || b_[pos_] == '-')) ++pos_;
    if (digits() == 0) return syntax(start, "invalid number");
  }
  return std::nullopt;
}

std::optional<Failure> Walker::parse_literal(std::string_view word) {
  if (n_ - pos_ < word.size() || std::string_view(reinterpret_cast<const char*>(b_ + pos_), word.size()) != word) {
    return syntax(pos_, "invalid literal");
  }
  pos_ += word.size();
  return std::nullopt;
}

// ---- containers ------------------------------------------------------------------------------

std::optional<Failure> Walker::open(Frame::Kind kind, const Slot& slot) {
  if (depth_ >= kMaxJsonDepth) return failure(Failure::Kind::too_deep, pos_, "nested too deep");
  handler_.value(slot, kind == Frame::Kind::object ? Type::object : Type::array, pos_);
  Frame& f = frames_[depth_++];
  f.reset();
  f.kind = kind;
  f.state = Frame::State::start;
  f.slot = slot;
  f.pending = Slot{};
  f.count = 0;
  ++pos_;
  return std::nullopt;
}

void Walker::close() {
  frames_[--depth_].reset();
  ++pos_;
}

std::optional<Failure> Walker::parse_key(Frame& f) {
  const std::size_t at = pos_;
  const std::size_t offset = f.keys.size();
  if (auto err = parse_string(&f.keys)) return err;
  const KeyRef ref{offset, f.keys.size() - offset};
  const std::string_view key = f.keys.view().substr(offset);
  if (!f.seen.insert(ref).second) {
    Failure dup = failure(Failure::Kind::duplicate_key, at, "duplicate key");
    dup.key_name = handler_.duplicate_name(f.slot, depth_, key);
    return dup;
  }
  f.pending = handler_.member(f.slot, depth_, key);
  return std::nullopt;
}

// Reads a scalar, or opens a container (its contents are read by run()).
std::optional<Failure> Walker::parse_value(const Slot& slot) {
  skip_ws();
  if (pos_ >= n_) return syntax(pos_, "unexpected end, expected a value");
  const unsigned char c = b_[pos_];
  switch (c) {
    case '{': return open(Frame::Kind::object, slot);
    case '[': return open(Frame::Kind::array, slot);
    case '"': {
      SecureBuffer* sink = handler_.value(slot, Type::string, pos_);
      auto err = parse_string(sink);
      if (!err) handler_.string_done(slot);
      return err;
    }
    case 't': handler_.value(slot, Type::boolean, pos_); return parse_literal("true");
    case 'f': handler_.value(slot, Type::boolean, pos_); return parse_literal("false");
    case 'n': handler_.value(slot, Type::null, pos_); return parse_literal("null");
    default: break;
  }
  if (c != '-' && (c < '0' || c > '9')) return unexpected(pos_, "expected a value");
  handler_.value(slot, Type::number, pos_);
  const std::size_t start = pos_;
  if (auto err = parse_number()) return err;
  handler_.number(slot, std::string_view(reinterpret_cast<const char*>(b_ + start), pos_ - start));
  return std::nullopt;
}

std::optional<Failure> Walker::step_object(Frame& f, unsigned char c) {
  switch (f.state) {
    case Frame::State::start:
    case Frame::State::need_key:
      if (c == '}' && f.state == Frame::State::start) {
        close();
        return std::nullopt;
      }
      if (c != '"') return unexpected(pos_, f.state == Frame::State::start ? "expected '\"' or '}'" : "expected '\"'");
      f.state = Frame::State::need_colon;
      return parse_key(f);
    case Frame::State::need_colon:
      if (c != ':') return unexpected(pos_, "expected ':'");
      ++pos_;
      f.state = Frame::State::after_value;
      return parse_value(f.pending);
    case Frame::State::after_value:
      if (c == ',') {
        ++pos_;
        f.state = Frame::State::need_key;
      } else if (c == '}') {
        close();
      } else {
        return unexpected(pos_, "expected ',' or '}'");
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Failure> Walker::step_array(Frame& f, unsigned char c) {
  switch (f.state) {
    case Frame::State::start:
    case Frame::State::need_key:   // for arrays: after ',' a value must follow
      if (c == ']' && f.state == Frame::State::start) {
        close();
        return std::nullopt;
      }
      f.state = Frame::State::after_value;
      return parse_value(handler_.element(f.slot, depth_, f.count++));
    case Frame::State::need_colon: return std::nullopt;  // not used by arrays
    case Frame::State::after_value:
      if (c == ',') {
        ++pos_;
        f.state = Frame::State::need_key;
      } else if (c == ']') {
        close();
      } else {
        return unexpected(pos_, "expected ',' or ']'");
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Failure> Walker::run(Slot top) {
  skip_ws();
  if (pos_ >= n_) return failure(Failure::Kind::empty, 0, "empty");
  if (auto err = parse_value(top)) return err;
  while (depth_ > 0) {
    Frame& f = frames_[depth_ - 1];
    skip_ws();
    if (pos_ >= n_) return syntax(pos_, end_message(f));
    const unsigned char c = b_[pos_];
    auto err = f.kind == Frame::Kind::object ? step_object(f, c) : step_array(f, c);
    if (err) return err;
  }
  skip_ws();
  if (pos_ < n_) return unexpected(pos_, "unexpected data after the JSON value");
  return std::nullopt;
}

}  // namespace

std::optional<Failure> walk(std::string_view input, Handler& handler, Slot top) {
  Walker walker(input, handler);
  return walker.run(top);
}

}  // namespace sts::json
