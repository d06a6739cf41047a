// File: stsecrets/handles.h
//
// Handle scanning (SPEC 1): finds every ENC[handle] use in YAML documents and in environment
// variables, with its origin and the backend it goes to, and rejects bad handles with located
// errors. Runs nothing.
//
//   auto docs = sts::load_documents({"conf.d/postgres.yaml"});
//   sts::ScanResult r = sts::scan_inputs(*docs, &env, sts::EnvScan::sts_prefix, &config);
//   for (auto& use : r.uses) std::cout << use.origin << ": " << use.key_path << "\n";
//
// A handle is a string scalar (plain, quoted, !!str, or built in code without a tag) whose text,
// trimmed of spaces and tabs, is ENC[...]: the handle is what lies between the first ENC[ and the
// last ]. The same text with any other tag (!custom, !!binary) is an error (Code::handle_invalid),
// never passed through. Keys are never handles. In YAML flow collections a plain ENC[x] is a
// syntax error (brackets are flow indicators); quote it: ["ENC[x]"].
//
// Key paths: `password`, `instances[0].password`, `[2].x` for a sequence at the root, and ""
// for a scalar root. A key that is empty or contains a space, a control byte, a dot, a bracket,
// a double quote or a backslash is written quoted in brackets: `a["b.c"]`, `["x y"].z`.
// Messages show "(document root)" for the empty path.
//
// Limits: documents nested deeper than 512 levels, or needing more than 200000 node visits with
// aliases expanded, stop the scan with Code::config_invalid (alias cycles, "billion laughs").
// Bad handles, tagged handles and handles inside top-level secret_* / multi_secret_backends
// settings are Code::handle_invalid; a handle naming a backend that is not configured is
// Code::backend_unknown. Every error names the file and the key path.
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/documents.h"
#include "stsecrets/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts {

constexpr std::size_t kMaxHandleBytes = 4096;

struct HandleUse {
  enum class Kind { yaml, env, api };
  Kind kind = Kind::yaml;
  std::string handle;    // what is between the first ENC[ and the last ]
  std::string origin;    // the file for yaml uses; "environment" for env uses; "api" for with_values
  std::string key_path;  // "instances[0].password"; the variable name for env uses
  std::string backend;   // the backend it goes to: "" = the default one (set when scanned with a Config)
};

struct ScanResult {
  std::vector<HandleUse> uses;
  std::vector<Error> errors;   // each naming origin and key path
};

// The handle in a scalar's text, or nullopt when the text is not a handle. Does not validate it.
std::optional<std::string_view> parse_handle(std::string_view scalar) noexcept;
// Empty, control characters, or longer than kMaxHandleBytes -> Code::handle_invalid.
Status validate_handle(std::string_view handle, std::string_view origin, std::string_view key_path);

// Every handle in one YAML document.
ScanResult scan_document(const YAML::Node& doc, std::string_view origin);

enum class EnvScan {
  none,         // the environment is not scanned
  sts_prefix,   // STS_<NAME>=ENC[h] only: the handle for config key <name> (resolve, handles, check)
  all,          // every variable whose whole value is ENC[h] (stsecrets exec)
};
// In every mode an STS_SECRET_* (or STS_MULTI_SECRET_BACKENDS) variable holding a handle is an error.
ScanResult scan_environment(const Environment& env, EnvScan mode);

// The one scan-and-merge every command and the Resolver use: every document, then the
// environment (when env is given and mode is not none), each use routed to its backend when a
// config is given (unknown backend names become located errors).
ScanResult scan_inputs(const std::vector<Document>& docs, const Environment* env, EnvScan mode,
                       const Config* config);

// Sorted, de-duplicated handle names of the uses.
std::vector<std::string> unique_handles(const std::vector<HandleUse>& uses);

}  // namespace sts
