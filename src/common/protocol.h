// File: protocol.h
//
// The backend protocol of SPEC 3, both sides of it:
//   - encode_request       what stsecrets sends to a backend (request_encode.cpp);
//   - validate_request     what `stsecrets backend` and `helper read-file` accept from an agent
//                          (request_parse.cpp);
//   - validate_response    what stsecrets accepts from a backend (response_parse.cpp), with
//                          parse_expiration for the optional `expiration` field (expiration.cpp);
//   - for_each_response_string  every string value of a backend's stdout, even a broken one, for
//                          redaction of a failed run's stderr (response_strings.cpp).
//
//   std::string req = sts::encode_request({sts::ProtocolVersion::v1_1, handles, config.timeout});
//   auto fr = sts::validate_response(out, handles, {config.remove_trailing_line_break}, exe);
//   auto request = sts::validate_request(stdin_bytes);    // read with serve.h's kMaxRequestBytes cap
//
// The two validators share one strict, non-recursive JSON reader (json_lexer.h) instead of
// nlohmann: nlohmann's lexer keeps every token in a default-allocated buffer and puts
// `last read: '<token>'` into parse_error::what() (DESIGN.md), which would leave copies of secrets
// in ordinary heap memory and echo input bytes into errors. The reader
//   - decodes string values straight into SecureBuffer (the locked arena) and zeroes its scratch;
//   - never puts input bytes into an Error (exceptions: the backend's own `error` string of a
//     requested handle, capped and escaped, and a request's escaped `version`); errors give
//     0-based byte offsets;
//   - uses no recursion: a fixed stack of kMaxJsonDepth frames, so 100,000 '[' cost nothing;
//   - rejects invalid UTF-8, and duplicate keys at every level (ignored objects included).
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// SPEC 3: a response (or request) nesting deeper than this many containers is refused.
constexpr std::size_t kMaxJsonDepth = 32;
// A request's secret_backend_timeout above this is taken as this (one day, the config's own
// upper bound for secret_backend_timeout): it is the agent's budget, and a longer one means
// nothing more to a backend.
constexpr std::chrono::seconds kMaxRequestTimeout{86400};

// ---- request ---------------------------------------------------------------------------------

// ProtocolVersion (v1_0, v1_1) and protocol_version_name() live in stsecrets/config.h, where
// secret_backend_protocol_version is read. 1.1 adds "secret_backend_timeout": N (Datadog Agent 7.x).

// One request, as sent or as received.
struct Request {
  ProtocolVersion version = ProtocolVersion::v1_0;
  std::vector<std::string> handles;                   // sorted, each once
  std::optional<std::chrono::milliseconds> timeout;   // secret_backend_timeout; none: not sent
  bool operator==(const Request&) const = default;
};

// The request bytes: {"version":"1.0","secrets":["h1","h2"]}, and with v1_1 also
// "secret_backend_timeout":N, N = the timeout in whole seconds rounded up (omitted when unset).
// Handles are sorted and de-duplicated here, so the output is stable whatever the order given
// (SPEC 3: each handle once, in a stable order).
std::string encode_request(const Request& request);
// The 1.0 request for these handles.
std::string encode_request(const std::vector<std::string>& handles);

// Validates a request as a backend receives it. Every error is Code::request_invalid, one line,
// with a byte offset where one applies and no byte of the request except an escaped `version`.
//   - the top level is an object with "version" (a string) and "secrets" (an array of strings);
//   - version: "1.0", "1.1", or any "1" / "1.N" (major version 1; N > 0 is read as 1.1, whose
//     fields it includes). Anything else, or a missing version, is an error naming it;
//   - secret_backend_timeout, in any 1.x request: when present, a positive number of seconds
//     (rounded up to whole milliseconds, capped at kMaxRequestTimeout);
//   - unknown top-level keys are ignored (agents add keys over time), but are still JSON:
//     duplicate keys at any level, invalid UTF-8 and nesting deeper than kMaxJsonDepth are errors;
//   - each handle is non-empty, at most kMaxHandleBytes (stsecrets/handles.h) bytes, valid UTF-8
//     and free of control characters (U+0000-U+001F, U+007F), as SPEC 1 requires of handles;
//   - a handle sent twice is answered once: the protocol sends each handle once (SPEC 3), but a
//     repeat is harmless (the response still has one key per handle) and refusing it would fail
//     every secret of the agent, so Request::handles is sorted and de-duplicated;
//   - size: the caller that reads stdin enforces kMaxRequestBytes (stsecrets/serve.h, 1 MiB) while
//     reading, so a flood costs no memory. The validator itself has no size limit: its time and
//     memory are linear in the input (a fixed frame stack, the handles it returns), and it is not
//     its job to know where the bytes came from. (serve.h is not included here: it is the
//     resolver's API, a layer above the protocol.)
Result<Request> validate_request(std::string_view bytes);

// ---- response --------------------------------------------------------------------------------

struct ValidateOptions {
  bool remove_trailing_line_break = false;   // strip trailing \r and \n from each value
};

// Validates a backend's stdout against the requested handles. Whole-run problems are Errors
// (Code::response_*); per-handle problems land in FetchResult::failures (Code::handle_*).
// Keys that were not requested are parsed, checked and dropped. `executable` names the
// backend in messages. Rules beyond SPEC 3's letter are listed at the top of response_parse.cpp.
//   - Fields of a handle's object other than value / error / expiration (metadata) are ignored
//     at any nesting up to kMaxJsonDepth levels in all; their keys are still checked for
//     duplicates.
//   - A value holding U+0000 (`\u0000`) fails that handle: Code::handle_value_invalid.
//   - `expiration`: see parse_expiration. null and "" mean none. A malformed one, or one that is
//     not a string, fails that handle with Code::handle_value_invalid. The expirations of
//     resolved handles are in FetchResult::expirations.
Result<FetchResult> validate_response(std::string_view bytes, const std::vector<std::string>& requested,
                                      const ValidateOptions& options, std::string_view executable);

// An `expiration` (SPEC 3 extension): RFC 3339 in UTC, "2026-12-01T15:00:00Z".
//   - accepted: 'T' or 't', 'Z' or 'z' or "+00:00"; fractional seconds of any length (cut to the
//     clock's resolution, i.e. never later than written); second 60 only at 23:59 (a leap
//     second; read as 23:59:59, since the system clock does not count leap seconds);
//   - refused: other offsets (convert to UTC first), "-00:00" (RFC 3339: an unknown local
//     offset), dates or times that do not exist (2026-02-29, 24:00:00), other shapes;
//   - dates beyond what system_clock holds (about 1678..2262 with nanosecond ticks) saturate to
//     its min() / max(): long expired / never within this process's life.
// Errors are Code::handle_value_invalid whose message says what is wrong (never the text), to be
// prefixed with the handle by the caller.
Result<std::chrono::system_clock::time_point> parse_expiration(std::string_view text);

// Calls fn with every JSON string *value* in a backend's stdout that decodes to 4 bytes or more
// (redaction::kMinRedactedBytes), for scrubbing a failed run's stderr (SPEC 6 "Logs").
// Tolerant: it also reports values of invalid, truncated, over-deep or duplicate-key documents.
//   - A string is a key (skipped) only when it follows '{' or ',' and is followed by ':'; in a
//     valid document that is exactly the keys, and in a broken one it leans to reporting.
//   - Escapes are decoded as JSON does; invalid escapes and invalid UTF-8 are kept as they are.
//     A string ends at its closing quote, at a raw line break (no JSON string holds one: this
//     resynchronises after a lost quote) or at the end of input (a truncated last value).
//   - Each value is decoded into SecureBuffer scratch, passed to fn as a view valid only during
//     the call, then zeroed. No value byte goes to ordinary heap.
// Returns false when it could not finish (secure memory exhausted, or fn threw: the exception is
// swallowed); the caller should then not log the stderr it meant to scrub. Never throws.
bool for_each_response_string(std::string_view stdout_bytes,
                              const std::function<void(std::string_view)>& fn) noexcept;

}  // namespace sts
