// Text helpers (text.h). One implementation of each escaper and of the UTF-8 check; every
// message writer in the library and the command calls these.
#include "common/text.h"

#include <system_error>
#include <vector>

namespace sts {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kEllipsis = "...";

void append_hex(std::string& out, unsigned value, int digits, std::string_view prefix) {
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(value >> static_cast<unsigned>(shift)) & 0xFu];
}

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

// The escape of one control byte: \n \r \t or \xNN.
void append_control(std::string& out, unsigned char c) {
  switch (c) {
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default: append_hex(out, c, 2, "\\x");
  }
}

// Builds `out` one piece (a character or an escape) at a time and keeps it within `cap`
// bytes, "..." included, cutting only between pieces.
class CappedWriter {
 public:
  explicit CappedWriter(std::size_t cap) : cap_(cap) {}
  // False once the cap is reached (the caller stops).
  bool add(std::string_view piece) {
    if (cap_ != kNoCap && out_.size() + piece.size() > cap_) {
      cut_ = true;
      return false;
    }
    out_ += piece;
    boundaries_.push_back(out_.size());
    return true;
  }
  std::string finish() && {
    if (cut_) {
      while (!boundaries_.empty() && boundaries_.back() + kEllipsis.size() > cap_) boundaries_.pop_back();
      out_.resize(boundaries_.empty() ? 0 : boundaries_.back());
      out_ += kEllipsis;
    }
    return std::move(out_);
  }

 private:
  std::size_t cap_;
  std::string out_;
  std::vector<std::size_t> boundaries_;
  bool cut_ = false;
};

}  // namespace

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c)) {
      append_control(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

namespace {

// The one escaper behind quote_text and sanitize_backend_text: controls (C0, DEL, C1) and
// invalid UTF-8 bytes as escapes, optionally " and \ with a backslash, capped at whole pieces.
std::string escape_for_message(std::string_view text, std::size_t cap, bool quotes) {
  CappedWriter w(cap);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::string piece;
  for (std::size_t i = 0; i < text.size();) {
    piece.clear();
    std::size_t consumed = 1;
    const unsigned char c = p[i];
    if (is_control(c)) {
      append_control(piece, c);
    } else if (quotes && (c == '"' || c == '\\')) {
      piece += '\\';
      piece += static_cast<char>(c);
    } else if (c < 0x80) {
      piece += static_cast<char>(c);
    } else {
      const std::size_t n = utf8_sequence_length(p + i, text.size() - i);
      if (n == 0) {
        append_hex(piece, c, 2, "\\x");
      } else if (n == 2 && c == 0xC2 && p[i + 1] < 0xA0) {
        append_hex(piece, p[i + 1], 4, "\\u");   // C1 controls (U+0080..U+009F) move terminals too
        consumed = 2;
      } else {
        piece.assign(text.substr(i, n));
        consumed = n;
      }
    }
    if (!w.add(piece)) break;
    i += consumed;
  }
  return std::move(w).finish();
}

}  // namespace

std::string quote_text(std::string_view text, std::size_t cap) { return escape_for_message(text, cap, true); }

std::string sanitize_backend_text(std::string_view text) {
  return escape_for_message(text, kMaxBackendTextBytes, false);
}

std::size_t utf8_sequence_length(const unsigned char* p, std::size_t avail) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence_length(p + i, text.size() - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string errno_text(int err) {
  // Thread-safe on both platforms: libstdc++ calls strerror_r on POSIX; on mingw it calls
  // strerror, whose buffer msvcrt keeps per thread.
  return std::generic_category().message(err);
}

void strip_trailing_line_breaks(SecureBuffer& value) noexcept {
  std::size_t n = value.size();
  while (n > 0 && (value.data()[n - 1] == '\n' || value.data()[n - 1] == '\r')) --n;
  value.truncate(n);
}

void append_json_string(SecureBuffer& out, std::string_view text) {
  out.push_back('"');
  std::size_t run_start = 0;
  // Runs of plain bytes are copied in one append; the rest is escaped byte by byte.
  auto flush = [&](std::size_t end) {
    if (end > run_start) out.append(text.substr(run_start, end - run_start));
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    const char* esc = nullptr;
    switch (text[i]) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default: break;
    }
    if (esc == nullptr && u >= 0x20) continue;
    flush(i);
    run_start = i + 1;
    if (esc != nullptr) {
      out.append(esc);
    } else {
      const char u_esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0x0f]};
      out.append(std::string_view(u_esc, sizeof u_esc));
    }
  }
  flush(text.size());
  out.push_back('"');
}

std::string json_string(std::string_view text) {
  SecureBuffer b;
  append_json_string(b, text);
  return std::string(b.view());
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace sts
