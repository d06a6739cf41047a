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
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
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

// JSON has many spellings of one string ("\/" or "/", "\u00e9", "\u00E9" or the raw bytes,
// "\u0041" for "A"); matching the spellings of a few encoders left the others unmasked (found by
// an outside review). So text is matched by meaning: read as a JSON reader reads a string's
// contents, it must decode to the value's bytes.

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The \uXXXX at text[t], or -1.
long u_escape_at(std::string_view text, std::size_t t) {
  if (text.size() - t < 6 || text[t] != '\\' || text[t + 1] != 'u') return -1;
  long cp = 0;
  for (std::size_t k = 2; k < 6; ++k) {
    const int d = hex_digit(text[t + k]);
    if (d < 0) return -1;
    cp = cp * 16 + d;
  }
  return cp;
}

// Decodes the character at text[t] into out (at most 4 bytes): an escape as JSON reads it (a
// surrogate pair as one code point, in UTF-8), anything else, an invalid escape included, as the
// byte itself. Sets `used` to the text bytes read; returns the decoded bytes.
std::size_t decode_unit(std::string_view text, std::size_t t, unsigned char* out, std::size_t& used) {
  used = 1;
  out[0] = static_cast<unsigned char>(text[t]);
  if (text[t] != '\\' || t + 1 == text.size()) return 1;
  char simple = 0;
  switch (text[t + 1]) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    default: break;
  }
  if (simple != 0) {
    used = 2;
    out[0] = static_cast<unsigned char>(simple);
    return 1;
  }
  // "\xNN": how text.h's escaper shows a control or an invalid byte in a message (not JSON).
  if (text[t + 1] == 'x' && text.size() - t >= 4 && hex_digit(text[t + 2]) >= 0 && hex_digit(text[t + 3]) >= 0) {
    used = 4;
    out[0] = static_cast<unsigned char>(hex_digit(text[t + 2]) * 16 + hex_digit(text[t + 3]));
    return 1;
  }
  long cp = u_escape_at(text, t);
  if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return 1;
  used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    const long low = u_escape_at(text, t + 6);
    if (low < 0xDC00 || low > 0xDFFF) {
      used = 1;
      return 1;
    }
    used = 12;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  const auto u = static_cast<std::uint32_t>(cp);
  if (u < 0x80) {
    out[0] = static_cast<unsigned char>(u);
    return 1;
  }
  if (u < 0x800) {
    out[0] = static_cast<unsigned char>(0xC0 | (u >> 6));
    out[1] = static_cast<unsigned char>(0x80 | (u & 0x3F));
    return 2;
  }
  if (u < 0x10000) {
    out[0] = static_cast<unsigned char>(0xE0 | (u >> 12));
    out[1] = static_cast<unsigned char>(0x80 | ((u >> 6) & 0x3F));
    out[2] = static_cast<unsigned char>(0x80 | (u & 0x3F));
    return 3;
  }
  out[0] = static_cast<unsigned char>(0xF0 | (u >> 18));
  out[1] = static_cast<unsigned char>(0x80 | ((u >> 12) & 0x3F));
  out[2] = static_cast<unsigned char>(0x80 | ((u >> 6) & 0x3F));
  out[3] = static_cast<unsigned char>(0x80 | (u & 0x3F));
  return 4;
}

// Length of the text at `pos` that decodes to `value` (to `value` from byte `from` on when the
// text starts inside it; only up to the text's end when `to_text_end`, for a stream whose end is
// inside the value), else 0. Decoded bytes stay on the stack and are zeroed: they are the
// secret's bytes, and scrub() must not allocate (it runs under the registry lock).
std::size_t match_decoded(std::string_view text, std::size_t pos, std::string_view value, std::size_t from = 0,
                          bool to_text_end = false) {
  unsigned char unit[4];
  std::size_t t = pos;
  std::size_t i = from;
  bool same = true;
  while (same && i < value.size()) {
    if (t == text.size()) {
      same = to_text_end && i > from;
      break;
    }
    std::size_t used = 0;
    const std::size_t n = decode_unit(text, t, unit, used);
    same = n <= value.size() - i && std::memcmp(unit, value.data() + i, n) == 0;
    i += n;
    t += used;
  }
  secure_zero(unit, sizeof unit);
  return same ? t - pos : 0;
}

// Ranges of text that decode to value and hold an escape (the raw ones find_all finds).
void find_all_decoded(std::string_view text, std::string_view value, std::vector<Range>& out) {
  if (value.size() < kMinRedactedBytes) return;
  const char first[] = {value[0], '\\'};
  for (std::size_t pos = text.find_first_of(std::string_view(first, 2)); pos != std::string_view::npos;
       pos = text.find_first_of(std::string_view(first, 2), pos + 1)) {
    const std::size_t len = match_decoded(text, pos, value);
    if (len != 0) out.emplace_back(pos, pos + len);
  }
}

// The bytes a cut may leave of one escape before the next character: a tail of "\uXXXX" (up to
// "uXXXX") or an escape's letter, and then, when the cut split a surrogate pair, its low half.
std::size_t escape_tail_length(std::string_view rest) {
  std::size_t n = 0;
  if (!rest.empty() && std::string_view("\"\\/nrtbfu").find(rest[0]) != std::string_view::npos) n = 1;
  const std::size_t hex_from = !rest.empty() && rest[0] == 'u' ? 1 : 0;
  std::size_t hex = 0;
  while (hex < 4 && hex_from + hex < rest.size() && hex_digit(rest[hex_from + hex]) >= 0) ++hex;
  n = std::max(n, hex_from + hex);
  const long low = u_escape_at(rest, n);
  if (low >= 0xDC00 && low <= 0xDFFF) n += 6;
  return n;
}

// A mid-stream text (from `start` on) may begin inside a value: the longest prefix of it, of
// kMinFragmentBytes or more, that decodes to an end of the value (after what a cut escape left,
// if any, and then at least kMinRedactedBytes more) is masked; so is all of it when all of it is
// inside one value.
void find_cut_start(std::string_view text, std::size_t start, std::string_view value, std::vector<Range>& out) {
  constexpr std::size_t kWindow = 4096;   // the stderr tail (process.h kStderrTailBytes)
  const std::string_view rest = text.substr(start, kWindow);
  if (rest.size() < kMinFragmentBytes || value.size() < kMinFragmentBytes) return;
  std::size_t best = 0;
  for (std::size_t skip : {std::size_t{0}, escape_tail_length(rest)}) {
    // Each end of the value, longest first: the first one the text decodes to is the longest.
    for (std::size_t from = 1; from < value.size() && best == 0; ++from) {
      const std::size_t len = match_decoded(rest, skip, value, from, text.size() - start <= kWindow);
      if (len >= kMinRedactedBytes && skip + len >= kMinFragmentBytes) best = skip + len;
    }
    if (best != 0) break;
  }
  if (best != 0) out.emplace_back(start, start + best);
}

// A text capped by text.h's escaper ends in "..." where it was cut, maybe inside a value: the
// longest run before each "..." (kMinFragmentBytes or more) that decodes to a start of the value
// is masked, as find_cut_start does for a stream cut at its start.
void find_cut_ends(std::string_view text, std::string_view value, std::vector<Range>& out) {
  constexpr std::string_view kEllipsis = "...";
  constexpr std::size_t kWindow = 1024;   // more than any cap a message uses (512)
  if (value.size() < kMinFragmentBytes) return;
  for (std::size_t end = text.find(kEllipsis); end != std::string_view::npos; end = text.find(kEllipsis, end + 1)) {
    if (end < kMinFragmentBytes) continue;
    const std::string_view before = text.substr(0, end);
    for (std::size_t pos = end > kWindow ? end - kWindow : 0; pos + kMinFragmentBytes <= end; ++pos) {
      if (before[pos] != value[0] && before[pos] != '\\') continue;
      if (match_decoded(before, pos, value, 0, true) == end - pos) {
        out.emplace_back(pos, end);
        break;   // the first start is the longest run
      }
    }
  }
}

// Every range of text that shows value, as it is or in any JSON spelling.
void collect_value(std::string_view text, std::string_view value, const ScrubOptions& options,
                   std::vector<Range>& out) {
  find_all(text, value, out);
  if (text.find('\\') != std::string_view::npos) find_all_decoded(text, value, out);
  if (options.stream_start < text.size()) find_cut_start(text, options.stream_start, value, out);
  if (text.find("...") != std::string_view::npos) find_cut_ends(text, value, out);
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
