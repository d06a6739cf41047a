// File: handle_sites.h
//
// The one "is this scalar a handle?" predicate (SPEC 1) and the only walk over a YAML tree that
// looks for handles. Scanning (handle_scan.cpp), substitution (substitution.cpp) and the config's
// "no handles in secret_* settings" rule (config.cpp) all go through walk_handle_sites(), so they
// cannot disagree on what a handle is or on how a key path is spelled.
//
//   Status st = walk_handle_sites(doc, {}, [&](const HandleSite& site) {
//     if (site.tagged) ...;              // !custom ENC[x]: an error for the scan
//     use(site.node, site.handle, site.key_path);
//   });
//
// The predicate: a scalar whose tag is "?" (plain), "!" (quoted), !!str or empty (built in code)
// and whose trimmed text is ENC[...] is a handle. The same text under any other tag
// (!custom, !!binary, !!int) is a *tagged* handle: never substituted, reported so the scan can
// refuse it (SPEC 1). Keys are never handles.
//
// Key paths: `password`, `instances[0].password`, `[2].x` for a sequence at the root, "" for a
// scalar root. A key that is empty or holds a byte outside 0x21..0x7E/0x80..0xFF or one of
// . [ ] " \ is written quoted in brackets with " \ and control bytes escaped: `a["b.c"]`,
// `["x y"].z`. A key that is a map or a sequence is written `[<map>]` / `[<list>]`.
//
// Limits: deeper than kMaxYamlDepth levels, or more than kMaxYamlVisits node visits with aliases
// expanded, ends the walk with Code::config_invalid (alias cycles, "billion laughs").
//
// Thread-safety: pure functions over the caller's nodes.
#pragma once

#include "stsecrets/error.h"

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sts {

constexpr std::size_t kMaxYamlDepth = 512;
constexpr std::size_t kMaxYamlVisits = 200000;

struct HandleSite {
  YAML::Node node;              // the scalar (shares the document's node: assigning to it edits the doc)
  std::string_view handle;      // what is between ENC[ and ] (valid during the callback)
  const std::string& key_path;  // see the banner
  bool tagged = false;          // carries a tag other than "?", "!", !!str: a configuration error
  bool in_setting = false;      // under a top-level secret_* or multi_secret_backends key
};

struct WalkOptions {
  std::string_view origin;      // names the document in errors
  bool top_level_settings = true;   // mark sites under top-level secret_* / multi_secret_backends keys
  bool key_paths = true;            // build key paths (substitution needs none: key_path is then "")
};

// Calls visit for every handle site in document order. Errors: the depth/visit limits only.
Status walk_handle_sites(const YAML::Node& root, const WalkOptions& options,
                         const std::function<void(const HandleSite&)>& visit);

// The one predicate, for one scalar: the handle, or nullopt. A tagged handle (the text is a
// handle, the tag makes it something else) is returned only when `tagged` is given, which is
// then set; without it a tagged handle is nullopt.
std::optional<std::string_view> handle_of_scalar(const YAML::Node& scalar, bool* tagged = nullptr);

// True for a top-level key whose value configures stsecrets itself (secret_*, multi_secret_backends).
bool is_setting_key(std::string_view key) noexcept;

// "file: key.path" or "file: (document root)", escaped for a one-line message.
std::string handle_location(std::string_view origin, std::string_view key_path);

}  // namespace sts
