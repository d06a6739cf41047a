// UTF-8 check and a SecureBuffer JSON string writer (json_text.h).
#include "cli/json_text.h"

#include <cstdint>

namespace sts::cli {

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void append_json_string(SecureBuffer& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  // Copy runs of plain bytes in one append; escape the rest one by one.
  auto flush = [&](std::size_t end) {
    if (end > run_start) out.append(text.substr(run_start, end - run_start));
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
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

}  // namespace sts::cli
