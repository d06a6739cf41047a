// File: protocol.h
//
// The backend protocol of SPEC 3: the request encoder, the request parser (for
// `stsecrets helper read-file`) and the strict response validator.
//
// The validator is a small hand-written JSON parser, not nlohmann: nlohmann's lexer keeps every
// token in a default-allocated buffer and puts `last read: '<token>'` into parse_error::what()
// (DESIGN.md), which would leave copies of secrets in ordinary heap memory and echo response
// bytes into errors. This parser
//   - decodes string values straight into SecureBuffer (the locked arena) and zeroes its scratch;
//   - never puts response bytes into an Error, except the backend's own `error` string for a
//     handle, capped at 512 bytes with control characters escaped; parse errors give offsets;
//   - uses no recursion, and rejects nesting deeper than the schema (top object -> handle
//     object -> value), so 100,000 '[' cost nothing;
//   - rejects invalid UTF-8 and duplicate keys at every level.
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <string>
#include <string_view>
#include <vector>

namespace sts {


// {"version":"1.0","secrets":["h1","h2"]} for sorted, unique handles.
std::string encode_request(const std::vector<std::string>& handles);

// Parses a request as a backend would (helper read-file). Accepts protocol major version 1;
// anything else is Code::usage with a message naming the version it got.
Result<std::vector<std::string>> parse_request(std::string_view bytes);

struct ValidateOptions {
  bool remove_trailing_line_break = false;   // strip trailing \r and \n from each value
};

// Validates a backend's stdout against the requested handles. Whole-run problems are Errors
// (Code::response_*); per-handle problems land in FetchResult::failures (Code::handle_*).
// Keys that were not requested are parsed, checked and dropped. `executable` names the
// backend in messages.
Result<FetchResult> validate_response(std::string_view bytes, const std::vector<std::string>& requested,
                                      const ValidateOptions& options, std::string_view executable);

}  // namespace sts
