// File: json_lexer.h
//
// The one strict JSON reader behind the protocol's validators (protocol.h): the request
// validator and the response validator are handlers of the same walk(), so both reject exactly
// the same inputs as JSON and differ only in what they do with the values.
//
//   class Mine final : public sts::json::Handler { ... };   // says where values go
//   Mine h;
//   if (auto failure = sts::json::walk(bytes, h, sts::json::Slot{kTop, 0})) {
//     return make_error(code_for(failure->kind), sts::json::describe(*failure, "response"));
//   }
//
// The reader
//   - is non-recursive: a fixed stack of kMaxJsonDepth frames; one level deeper is a too_deep
//     failure at once, so nesting costs nothing;
//   - decodes a string value only when the handler gives it a SecureBuffer to decode into
//     (reserved once to the encoded length, so it is never copied by growth); keys are decoded
//     into the frame's own SecureBuffer, zeroed when the frame closes;
//   - checks every object's keys for duplicates (after unescaping), ignored objects included;
//   - reports failures as a kind, a byte offset and fixed wording: never input bytes.
// Strictness: RFC 8259 only. No BOM, no comments, no trailing commas, no leading zeros, no NaN;
// invalid UTF-8 and escapes of lone surrogates are utf8 failures; raw control characters in a
// string are syntax failures.
//
// Ownership: walk() borrows the input and the handler for the call. Thread-safety: pure.
#pragma once

#include "stsecrets/secure_buffer.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sts::json {

enum class Type : std::uint8_t { none, null, boolean, number, string, array, object };
// "null", "a boolean", "a number", "a string", "an array", "an object", "missing" (none).
const char* type_name(Type t) noexcept;

// What a value means to the handler: kind 0 is "nothing of interest"; the rest is the handler's.
struct Slot {
  std::uint8_t kind = 0;
  std::size_t index = 0;
};

struct Failure {
  enum class Kind : std::uint8_t {
    empty,           // nothing but whitespace
    syntax,          // not JSON
    utf8,            // invalid UTF-8, or a \u escape of a lone surrogate
    too_deep,        // more than kMaxJsonDepth containers open
    duplicate_key,   // a key twice in one object
  };
  Kind kind = Kind::syntax;
  std::size_t offset = 0;     // 0-based byte offset of the offending byte or token
  const char* what = "";      // fixed wording, never input bytes
  std::string key_name;       // duplicate_key: the handler's name for the key, or ""
};

// "<subject> is not valid JSON (byte 12: expected ':')" and the like, one line.
std::string describe(const Failure& failure, std::string_view subject);

// Says where values go. The walker calls it in document order; a slot of kind 0 is passed down
// for everything inside a value the handler did not name.
class Handler {
 public:
  virtual ~Handler() = default;
  // The slot of the member `key` of the object in slot `object`, at `depth` (1: the top level).
  virtual Slot member(const Slot& object, std::size_t depth, std::string_view key) = 0;
  // The slot of element `index` of the array in slot `array`, at `depth`.
  virtual Slot element(const Slot& array, std::size_t depth, std::size_t index) = 0;
  // A value of `type` starts at byte `offset` in `slot`. For a string, the returned buffer gets
  // the decoded bytes appended (nullptr: validate only); for other types the return is unused.
  virtual SecureBuffer* value(const Slot& slot, Type type, std::size_t offset) = 0;
  // The string value in `slot` was decoded completely.
  virtual void string_done(const Slot& slot) = 0;
  // The text of a number value in `slot` (numbers are not secrets: no value is a number).
  virtual void number(const Slot& slot, std::string_view text) = 0;
  // How to name a duplicated key of the object in `slot` in an error: "" for the offset only.
  virtual std::string duplicate_name(const Slot& object, std::size_t depth, std::string_view key) = 0;
};

// Reads the whole input as one JSON value, the top-level value in slot `top`.
std::optional<Failure> walk(std::string_view input, Handler& handler, Slot top);

// ---- primitives shared with the tolerant scanner (response_strings.cpp) ----------------------

// The byte a one-character escape stands for (\" \\ \/ \b \f \n \r \t), or 0.
char simple_escape(unsigned char c) noexcept;
// Four hex digits at p (avail bytes readable) into cp; false when they are not.
bool read_hex4(const unsigned char* p, std::size_t avail, std::uint32_t& cp) noexcept;
// Writes cp as UTF-8 (1..4 bytes; surrogates are written as their 3-byte form) and returns
// the number of bytes.
std::size_t encode_utf8(std::uint32_t cp, char* out) noexcept;
// The length of the string literal body starting at `from` (just after the opening quote) up
// to its closing quote or the end: an upper bound of its decoded size.
std::size_t encoded_length(const unsigned char* b, std::size_t n, std::size_t from) noexcept;

}  // namespace sts::json
