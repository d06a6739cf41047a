// File: text.h
//
// The one home for the small text jobs every stage needs: making untrusted or odd text safe
// for a one-line message, UTF-8 checks, OS error texts, and JSON string literals written
// straight into secure memory.
//
//   make_error(code, "cannot read " + quote_text(path) + ": " + errno_text(err));
//   if (!valid_utf8(value)) ...;
//   append_json_string(secure_out, value);     // "..." with escapes, never in ordinary heap
//
// Which escaper to use:
//   - escape_controls: log lines and error lines (the log sink and the CLI's error writer);
//   - quote_text: a name or value shown between double quotes (key paths, config values);
//   - sanitize_backend_text: text a backend wrote (its `error` strings): capped, invalid UTF-8
//     and C1 controls escaped too.
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/logging.h"   // declares sts::escape_controls (defined in text.cpp)
#include "stsecrets/secure_buffer.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace sts {

constexpr std::size_t kNoCap = static_cast<std::size_t>(-1);
// The cap of sanitize_backend_text (SPEC 3: a backend's `error` string, at most 512 bytes).
constexpr std::size_t kMaxBackendTextBytes = 512;

// For a name or value shown between double quotes in a message: controls (C0, DEL and C1) and
// invalid UTF-8 bytes as escapes, and `"` and `\` escaped with a backslash. Longer than `cap`
// bytes: cut (at a whole character or escape) and "..." appended.
std::string quote_text(std::string_view text, std::size_t cap = kNoCap);

// For text a backend produced: controls (C0, DEL and C1) escaped, invalid UTF-8 bytes as \xNN,
// at most kMaxBackendTextBytes bytes including a trailing "..." when cut; never splits an
// escape or a character.
std::string sanitize_backend_text(std::string_view text);

// Length of the well-formed UTF-8 sequence at p (1..4), or 0 when it is not one: overlongs,
// surrogates, code points past U+10FFFF and truncated sequences are all invalid.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t avail) noexcept;
bool valid_utf8(std::string_view text) noexcept;

// The C library's text for an errno value ("No such file or directory"), thread-safe.
std::string errno_text(int err);

// Appends text as a JSON string literal, quotes included: `"` `\` and controls escaped
// (\n \r \t \b \f, else \u00XX). Bytes >= 0x80 are copied as they are (check valid_utf8 first).
void append_json_string(SecureBuffer& out, std::string_view text);
// SPEC 2 secret_backend_remove_trailing_line_break: drops every trailing '\n' and '\r'.
void strip_trailing_line_breaks(SecureBuffer& value) noexcept;
// The same literal as ordinary text, for names (never for values).
std::string json_string(std::string_view text);

std::string ascii_lower(std::string_view text);
std::string ascii_upper(std::string_view text);

}  // namespace sts
