// File: document_lookup.h
//
// Finding string leaves in a secrets document (the file.json and file.yaml providers, SPEC 8).
// A key addresses a leaf through nested maps, with `/` between the keys:
//
//   {"db": {"password": "s3cret"}}   key "db/password" -> s3cret
//
// Key syntax (decided here; docs/backends.md repeats it for operators):
//   - `/` separates map keys; each part must be non-empty (`a//b`, `/a`, `a/` are refused);
//   - a key that contains `/` or `~` itself is written with the escapes of JSON Pointer
//     (RFC 6901): `~1` for `/`, `~0` for `~`. `{"a/b": "x"}` is the key `a~1b`. Any other `~`
//     sequence is refused, so a literal `~` can never be read two ways;
//   - lists are not addressed: a key that reaches a list stops there with an error.
//
//   auto keys = std::vector<std::string>{"db/password", "api_key"};
//   Result<FetchResult> r = lookup_json(document.view(), keys, "backend \"json\" (file.json:/etc/s.json)");
//
// Per key (FetchResult::failures): Code::handle_invalid (key syntax), Code::handle_missing (no
// such key: the message says where the walk stopped), Code::handle_value_not_string (a map, a
// list, a number, a boolean), Code::handle_value_empty (null or ""), Code::handle_value_invalid
// (the value holds U+0000). The whole document (the Error): Code::config_unreadable for syntax,
// UTF-8, a duplicate key (at any depth), nesting deeper than kMaxDocumentDepth, a top level that
// is not a map, or (YAML) more than kMaxYamlVisits nodes with aliases expanded. Messages carry
// byte offsets (JSON) or line and column (YAML), key names, and types; never a value.
//
// Memory (SPEC 6). JSON: a non-recursive parser over the caller's locked buffer; requested
// values are decoded straight into SecureBuffer, and keys into SecureBuffer scratch that is
// zeroed; nothing of the document reaches ordinary heap. YAML: yaml-cpp builds its nodes in
// ordinary heap and copies scalars through its scanner's tokens, which are freed without being
// zeroed. lookup_yaml feeds yaml-cpp from the locked buffer without a std::string copy, copies
// the requested values into SecureBuffer, and then zeroes every scalar of the node tree (keys
// and values); the scanner's freed token copies remain until the heap reuses them. Use
// file.json where that residue matters.
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

// Maps and lists nested deeper than this make the document an error.
constexpr std::size_t kMaxDocumentDepth = 32;   // as kMaxJsonDepth (the one JSON reader)

// The decoded parts of a key ("a~1b/c" -> {"a/b", "c"}). Errors: Code::handle_invalid.
Result<std::vector<std::string>> parse_document_key(std::string_view key);

// parse_document_key, or nullopt after recording the key's failure in `result` (prefixed with
// `label`): the first step of both lookups.
std::optional<std::vector<std::string>> parse_key_or_fail(const std::string& key, std::string_view label,
                                                          FetchResult& result);

// `label` names the backend and document in messages.
Result<FetchResult> lookup_json(std::string_view document, const std::vector<std::string>& keys,
                                std::string_view label);
Result<FetchResult> lookup_yaml(std::string_view document, const std::vector<std::string>& keys,
                                std::string_view label);

}  // namespace sts
