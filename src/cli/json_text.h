// File: cli/json_text.h
//
// The two JSON text primitives the command needs without going through nlohmann: a UTF-8
// check, and a JSON string writer that appends straight into a SecureBuffer, so a secret value
// written into a backend response (`stsecrets helper read-file`) never lands in ordinary heap
// memory.
//
//   sts::SecureBuffer out;
//   append_json_string(out, value);   // "..." with \" \\ \n \u0001 escapes
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/secure_buffer.h"

#include <string_view>

namespace sts::cli {

// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view text) noexcept;

// Appends text as a JSON string literal (with quotes). text must be valid UTF-8; bytes >= 0x80
// are copied as they are.
void append_json_string(SecureBuffer& out, std::string_view text);

}  // namespace sts::cli
