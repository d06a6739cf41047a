// File: redaction.h
//
// Redaction (SPEC 6). Known values are those of every live SecretCache (caches register
// themselves) plus any extra values a component registers while it holds them outside a cache
// (for example a validated FetchResult before it reaches the cache). redact() (logging.h)
// replaces each known value of 4 bytes or more with "********".
//
// Thread-safety: all functions are safe from any thread.
#pragma once

#include "stsecrets/logging.h"

#include <functional>
#include <string>
#include <string_view>

namespace sts {

class SecretCache;

namespace redaction {

constexpr std::size_t kMinRedactedBytes = 4;
constexpr std::string_view kMask = "********";

void register_cache(const SecretCache* cache);
void unregister_cache(const SecretCache* cache);

// A value source that is not a cache (e.g. a FetchResult in transit). The function must call
// its argument once per value; it is called under the registry lock.
using ValueSource = std::function<void(const std::function<void(std::string_view)>&)>;
// Returns a token to pass to unregister_source.
std::size_t register_source(ValueSource source);
void unregister_source(std::size_t token);

struct ScrubOptions {
  // Where a stream cut at its start begins in the text (a stderr tail after the log line's
  // prefix): the longest prefix of it, kMinFragmentBytes or more, that is the end of a known
  // value (or of its escaped form) is masked too, so no fragment of that size remains.
  std::size_t stream_start = static_cast<std::size_t>(-1);
};
constexpr std::size_t kMinFragmentBytes = 8;

// Redacts in place; returns the number of replacements. Each known value is masked as it is,
// and in every JSON spelling of it: any text a JSON reader decodes to the value ("\/", "\u00e9"
// or "\u00E9", "\u0041" for "A", surrogate pairs, minimal or full escaping, mixed), and as
// text.h's escaper shows it in a message ("\x01" for a control or invalid byte). A text cut by
// a cap ends in "...": the run of kMinFragmentBytes or more before it that is a start of a
// value is masked too.
std::size_t scrub(std::string& text, const ScrubOptions& options = {});

}  // namespace redaction
}  // namespace sts
