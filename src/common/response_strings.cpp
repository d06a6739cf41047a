// for_each_response_string(): every string value a backend's stdout held, valid JSON or not, for
// redaction (SPEC 6 "Logs"; rules in protocol.h).
//
// A single forward pass, no stack and so no depth limit: it only needs to know where strings
// start and end, and whether one is a key. It shares the escape primitives of the strict reader
// (json_lexer.h) so a valid document decodes to exactly the bytes validate_response() would
// produce, and differs where the strict reader stops: invalid escapes and bytes are kept as they
// are, and nothing ends the pass but the end of input.
#include "common/protocol.h"

#include "common/json_lexer.h"
#include "common/redaction.h"

#include "stsecrets/secure_buffer.h"

#include <algorithm>

namespace sts {
namespace {

bool is_ws(unsigned char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class StringScanner {
 public:
  StringScanner(std::string_view bytes, const std::function<void(std::string_view)>& fn)
      : b_(reinterpret_cast<const unsigned char*>(bytes.data())), n_(bytes.size()), fn_(fn) {}
  StringScanner(const StringScanner&) = delete;
  StringScanner& operator=(const StringScanner&) = delete;
  ~StringScanner() { scratch_.release(); }

  // Throws only what SecureBuffer or fn throw.
  void run();

 private:
  // The tolerant body length from `from` to the closing quote, a raw line break or the end:
  // an upper bound of the decoded size.
  std::size_t body_length(std::size_t from) const noexcept;
  // Decodes the string whose opening quote is at pos_ into scratch_; pos_ ends after it.
  // Returns true when it ended at a closing quote.
  bool decode_string();
  void decode_escape(char* out, std::size_t& written);
  // A closed string is a key when it follows '{' or ',' and is followed by ':'.
  bool is_key(unsigned char before) const noexcept;

  const unsigned char* b_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const std::function<void(std::string_view)>& fn_;
  SecureBuffer scratch_;
};

std::size_t StringScanner::body_length(std::size_t from) const noexcept {
  std::size_t end = from;
  while (end < n_ && b_[end] != '"' && b_[end] != '\n' && b_[end] != '\r') end += b_[end] == '\\' ? 2 : 1;
  return std::min(end, n_) - from;
}

void StringScanner::decode_escape(char* out, std::size_t& written) {
  if (pos_ + 1 >= n_) {   // a lone '\' at the end: keep it
    out[written++] = '\\';
    ++pos_;
    return;
  }
  const unsigned char e = b_[pos_ + 1];
  std::uint32_t cp = 0;
  if (const char simple = json::simple_escape(e); simple != 0) {
    out[written++] = simple;
    pos_ += 2;
  } else if (e == 'u' && json::read_hex4(b_ + pos_ + 2, n_ - (pos_ + 2), cp)) {
    std::size_t used = 6;
    std::uint32_t low = 0;
    if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 7 < n_ && b_[pos_ + 6] == '\\' && b_[pos_ + 7] == 'u' &&
        json::read_hex4(b_ + pos_ + 8, n_ - (pos_ + 8), low) && low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      used = 12;
    }
    // A lone surrogate is written in its 3-byte form: no valid value holds one anyway.
    written += json::encode_utf8(cp, out + written);
    pos_ += used;
  } else {
    // Not an escape JSON knows: the two bytes as they are (a raw line break ends the string).
    out[written++] = '\\';
    ++pos_;
  }
}

bool StringScanner::decode_string() {
  ++pos_;  // the opening quote
  scratch_.clear();
  // body_length() bounds the decoded size (no step writes more bytes than it reads); the slack
  // of one code point lets the loop check room before every step, in case that ever changes.
  scratch_.reserve(body_length(pos_) + 4);
  char* out = scratch_.spare();
  const std::size_t room = scratch_.spare_size();
  std::size_t written = 0;
  bool closed = false;
  while (pos_ < n_ && room - written >= 4) {
    const unsigned char c = b_[pos_];
    if (c == '"') {
      ++pos_;
      closed = true;
      break;
    }
    if (c == '\n' || c == '\r') break;   // no JSON string spans lines: a quote was lost
    if (c == '\\') {
      decode_escape(out, written);
    } else {
      out[written++] = static_cast<char>(c);
      ++pos_;
    }
  }
  scratch_.commit(written);
  return closed;
}

bool StringScanner::is_key(unsigned char before) const noexcept {
  if (before != '{' && before != ',') return false;
  std::size_t i = pos_;
  while (i < n_ && is_ws(b_[i])) ++i;
  return i < n_ && b_[i] == ':';
}

void StringScanner::run() {
  unsigned char before = 0;   // the last byte outside strings that is not whitespace
  while (pos_ < n_) {
    const unsigned char c = b_[pos_];
    if (c != '"') {
      if (!is_ws(c)) before = c;
      ++pos_;
      continue;
    }
    const bool closed = decode_string();
    if (!(closed && is_key(before)) && scratch_.size() >= redaction::kMinRedactedBytes) fn_(scratch_.view());
    scratch_.clear();
    before = '"';
  }
}

}  // namespace

bool for_each_response_string(std::string_view stdout_bytes, const std::function<void(std::string_view)>& fn) noexcept {
  try {
    StringScanner scanner(stdout_bytes, fn);
    scanner.run();
    return true;
  } catch (...) {
    // bad_alloc from the arena, or whatever fn threw; the scanner's destructor zeroed its scratch.
    return false;
  }
}

}  // namespace sts
