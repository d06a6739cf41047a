// Redaction of known secret values (SPEC 6): the registry of value sources and the scrubber
// behind sts::redact() and the redacting log sink.
//
// Masking works on positions, not on values: every occurrence of every known value (>= 4
// bytes) is located in the original text, the byte ranges are merged, and each merged run
// becomes one "********". This masks overlapping and adjacent values completely whatever their
// order (a plain "replace longest first" loop would leave the tail of the second of two
// overlapping values of equal length), and the mask itself can never be matched again.
//
// Locking: scrub() holds the registry lock, then each cache's own lock (for_each_value) one
// at a time. No value is copied: only offsets leave the callbacks. Therefore nothing reached
// from here may log or take the registry lock (caches never log while holding their lock; the
// arena never logs while holding its lock).
#include "common/redaction.h"

#include "common/secret_cache.h"
#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace sts {
namespace redaction {
namespace {

struct Registry {
  std::mutex mu;
  std::set<const SecretCache*> caches;
  std::map<std::size_t, ValueSource> sources;
  std::size_t next_token = 1;
};

Registry& registry() {
  // Leaked on purpose: caches in static objects may unregister after main returns.
  static Registry* r = new Registry();
  return *r;
}

using Range = std::pair<std::size_t, std::size_t>;  // [begin, end)

void find_all(std::string_view text, std::string_view value, std::vector<Range>& out) {
  if (value.size() < kMinRedactedBytes || value.size() > text.size()) return;
  for (std::size_t pos = text.find(value); pos != std::string_view::npos; pos = text.find(value, pos + 1)) {
    out.emplace_back(pos, pos + value.size());
  }
}

enum class Escaping { minimal, ascii, html };

// The escaped form of the character at value[i] (how a JSON encoder writes it inside a string):
// writes at most 12 bytes to piece, returns their number, and sets `consumed` to the source bytes.
std::size_t escape_piece(std::string_view value, std::size_t i, Escaping how, char* piece, std::size_t& consumed) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto u_escape = [&](std::uint32_t cp, char* at) {
    at[0] = '\\';
    at[1] = 'u';
    at[2] = kHex[(cp >> 12) & 0xF];
    at[3] = kHex[(cp >> 8) & 0xF];
    at[4] = kHex[(cp >> 4) & 0xF];
    at[5] = kHex[cp & 0xF];
    return std::size_t{6};
  };
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const unsigned char c = p[i];
  consumed = 1;
  char simple = 0;
  switch (c) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '\n': simple = 'n'; break;
    case '\r': simple = 'r'; break;
    case '\t': simple = 't'; break;
    case '\b': simple = 'b'; break;
    case '\f': simple = 'f'; break;
    default: break;
  }
  if (simple != 0) {
    piece[0] = '\\';
    piece[1] = simple;
    return 2;
  }
  if (c < 0x20 || (how == Escaping::html && (c == '<' || c == '>' || c == '&'))) return u_escape(c, piece);
  if (c >= 0x80 && how != Escaping::minimal) {
    const std::size_t n = utf8_sequence_length(p + i, value.size() - i);
    if (n != 0) {
      std::uint32_t cp = n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
      for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (p[i + k] & 0x3Fu);
      consumed = n;
      if (how == Escaping::html && cp != 0x2028 && cp != 0x2029) {   // Go keeps other non-ASCII as it is
        for (std::size_t k = 0; k < n; ++k) piece[k] = static_cast<char>(p[i + k]);
        return n;
      }
      if (cp < 0x10000) return u_escape(cp, piece);
      cp -= 0x10000;
      return u_escape(0xD800 + (cp >> 10), piece) + u_escape(0xDC00 + (cp & 0x3FF), piece + 6);
    }
  }
  piece[0] = static_cast<char>(c);
  return 1;
}

bool needs_escaping(std::string_view value) {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == '&') return true;
  }
  return false;
}

// Length of value's escaped form if it starts at text[pos], else 0. Generated piece by piece on
// the stack (zeroed): the escaped form of a secret is a secret too, and scrub() must not allocate
// (it runs under the registry lock, and the arena may log).
std::size_t match_escaped(std::string_view text, std::size_t pos, std::string_view value, Escaping how) {
  char piece[12];
  std::size_t t = pos;
  std::size_t matched = 0;
  for (std::size_t i = 0, n = 0; i < value.size(); i += n) {
    const std::size_t len = escape_piece(value, i, how, piece, n);
    if (text.size() - t < len || text.compare(t, len, piece, len) != 0) {
      t = pos;
      break;
    }
    t += len;
    if (i + n == value.size()) matched = t - pos;
  }
  secure_zero(piece, sizeof piece);
  return matched;
}

// Ranges of text that show value escaped.
void find_all_escaped(std::string_view text, std::string_view value, Escaping how, std::vector<Range>& out) {
  char first[12];
  std::size_t n = 0;
  const std::size_t first_len = escape_piece(value, 0, how, first, n);
  for (std::size_t pos = text.find(first[0]); pos != std::string_view::npos; pos = text.find(first[0], pos + 1)) {
    const std::size_t len = match_escaped(text, pos, value, how);
    if (len >= kMinRedactedBytes) out.emplace_back(pos, pos + len);
  }
  secure_zero(first, first_len);
}

// A mid-stream text (from `start` on) may begin inside a value: the longest prefix of it, of
// kMinFragmentBytes or more, that is an end of the value's form is masked. The form's last
// bytes are built backwards on the stack, only as many as the text could show.
void find_cut_start(std::string_view text, std::size_t start, std::string_view value, std::optional<Escaping> how,
                    std::vector<Range>& out) {
  constexpr std::size_t kWindow = 4096;   // the stderr tail (process.h kStderrTailBytes)
  const std::string_view rest = text.substr(start, kWindow);
  if (rest.size() < kMinFragmentBytes || value.size() < kMinFragmentBytes) return;
  char form[kWindow + 16];
  std::size_t begin = sizeof form;   // form[begin, sizeof form) holds the form's last bytes
  if (!how) {
    const std::size_t take = std::min(value.size(), rest.size());
    begin -= take;
    std::memcpy(form + begin, value.data() + value.size() - take, take);
  } else {
    // Walk characters backwards (UTF-8 lead bytes), prepending each one's escaped piece.
    std::size_t end = value.size();
    char piece[12];
    while (end > 0 && sizeof form - begin < rest.size()) {
      std::size_t lead = end - 1;
      while (lead > 0 && (static_cast<unsigned char>(value[lead]) & 0xC0) == 0x80 && end - lead < 4) --lead;
      std::size_t n = 0;
      std::size_t len = escape_piece(value, lead, *how, piece, n);
      if (lead + n != end) {   // not a whole character: the byte stands alone
        lead = end - 1;
        len = escape_piece(value, lead, *how, piece, n);
      }
      if (len > begin) break;
      begin -= len;
      std::memcpy(form + begin, piece, len);
      end = lead;
    }
    secure_zero(piece, sizeof piece);
  }
  const std::string_view suffix(form + begin, sizeof form - begin);
  // A whole occurrence is found by find_all; a cut one ends strictly inside the text's start.
  const std::size_t longest = std::min(suffix.size(), rest.size());
  for (std::size_t k = longest; k >= kMinFragmentBytes; --k) {
    if (rest.compare(0, k, suffix.substr(suffix.size() - k)) == 0) {
      out.emplace_back(start, start + k);
      break;
    }
  }
  secure_zero(form + begin, sizeof form - begin);
}

// Every range of text that shows value, as it is or escaped.
void collect_value(std::string_view text, std::string_view value, const ScrubOptions& options,
                   std::vector<Range>& out) {
  find_all(text, value, out);
  const bool cut = options.stream_start < text.size();
  if (cut) find_cut_start(text, options.stream_start, value, std::nullopt, out);
  if (value.size() < kMinRedactedBytes || !needs_escaping(value)) return;
  for (Escaping how : {Escaping::minimal, Escaping::ascii, Escaping::html}) {
    find_all_escaped(text, value, how, out);
    if (cut) find_cut_start(text, options.stream_start, value, how, out);
  }
}

}  // namespace

void register_cache(const SecretCache* cache) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.caches.insert(cache);
}

void unregister_cache(const SecretCache* cache) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.caches.erase(cache);
}

std::size_t register_source(ValueSource source) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::size_t token = r.next_token++;
  r.sources.emplace(token, std::move(source));
  return token;
}

void unregister_source(std::size_t token) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.sources.erase(token);
}

std::size_t scrub(std::string& text, const ScrubOptions& options) {
  if (text.size() < kMinRedactedBytes) return 0;
  std::vector<Range> ranges;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    const std::string_view view(text);
    auto collect = [&](std::string_view value) { collect_value(view, value, options, ranges); };
    for (const SecretCache* cache : r.caches) cache->for_each_value(collect);
    for (const auto& [token, source] : r.sources) source(collect);
  }
  if (ranges.empty()) return 0;

  std::sort(ranges.begin(), ranges.end());
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  std::size_t masked = 0;
  for (std::size_t i = 0; i < ranges.size();) {
    std::size_t begin = ranges[i].first;
    std::size_t end = ranges[i].second;
    // Merge every range that overlaps or touches this run.
    for (++i; i < ranges.size() && ranges[i].first <= end; ++i) end = std::max(end, ranges[i].second);
    out.append(text, at, begin - at);
    out.append(kMask);
    at = end;
    ++masked;
  }
  out.append(text, at, std::string::npos);
  // The old contents held the values: wipe them before the storage goes back to the heap.
  secure_zero(text.data(), text.size());
  text = std::move(out);
  return masked;
}

}  // namespace redaction

std::string redact(std::string_view text) {
  std::string copy(text);
  redaction::scrub(copy);
  return copy;
}

}  // namespace sts
