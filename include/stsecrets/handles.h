// File: stsecrets/handles.h
//
// Handle scanning (SPEC 1): finds every ENC[handle] use in YAML documents and in environment
// variables, with its origin, and rejects bad handles with located errors. Runs nothing.
//
//   YAML::Node doc = YAML::LoadFile("conf.d/postgres.yaml");
//   sts::ScanResult r = sts::scan_document(doc, "conf.d/postgres.yaml");
//   for (auto& use : r.uses) std::cout << use.origin << ": " << use.key_path << "\n";
//
// Key paths: `password`, `instances[0].password`, `[2].x` for a sequence at the root, and ""
// for a scalar root. A key that is empty or contains a space, a control byte, a dot, a bracket,
// a double quote or a backslash is written quoted in brackets, with the quote, the backslash and
// control bytes escaped: `a["b.c"]`, `["x y"].z`, `["ctl\x01"]`.
// Messages show "(document root)" for the empty path.
//
// String candidates: plain, quoted and !!str scalars. A scalar with any other tag (!!int, !foo)
// is never a handle. In YAML flow collections a plain ENC[x] is a syntax error (brackets are flow
// indicators); quote it: ["ENC[x]"].
//
// Limits: documents nested deeper than 512 levels, or needing more than 200000 node visits with
// aliases expanded, stop the scan with a Code::config_invalid error (alias cycles, "billion
// laughs"). Bad handles and handles inside top-level secret_* keys are Code::handle_invalid.
//
// Environment: in both modes an STS_SECRET_* variable holding a handle is an error, since those
// variables override secret_* settings.
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML { class Node; }

namespace sts {

constexpr std::size_t kMaxHandleBytes = 4096;

struct HandleUse {
  enum class Kind { yaml, env };
  Kind kind = Kind::yaml;
  std::string handle;    // what is between the first ENC[ and the last ]
  std::string origin;    // the file for yaml uses; "environment" for env uses
  std::string key_path;  // "instances[0].password"; the variable name for env uses
};

struct ScanResult {
  std::vector<HandleUse> uses;
  std::vector<Error> errors;   // Code::handle_invalid, each naming origin and key path
};

// The handle in a scalar, or nullopt when the scalar is not a handle. Does not validate it.
std::optional<std::string_view> parse_handle(std::string_view scalar) noexcept;
// Empty, control characters, or longer than kMaxHandleBytes -> Code::handle_invalid.
Status validate_handle(std::string_view handle, std::string_view origin, std::string_view key_path);

// Every handle in a YAML document (maps, sequences, any depth; keys are never handles).
// Handles under a key starting with "secret_" at the top level are errors.
ScanResult scan_document(const YAML::Node& doc, std::string_view origin);

enum class EnvScan {
  sts_prefix,   // STS_<NAME>=ENC[h] only: the handle for config key <name> (resolve, handles)
  all,          // every variable whose whole value is ENC[h] (stsecrets exec)
};
ScanResult scan_environment(const Environment& env, EnvScan mode);

// Sorted, de-duplicated handle names of the uses.
std::vector<std::string> unique_handles(const std::vector<HandleUse>& uses);

}  // namespace sts
