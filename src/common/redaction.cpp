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

std::size_t scrub(std::string& text) {
  if (text.size() < kMinRedactedBytes) return 0;
  std::vector<Range> ranges;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    const std::string_view view(text);
    auto collect = [&](std::string_view value) { find_all(view, value, ranges); };
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
