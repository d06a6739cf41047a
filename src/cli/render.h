// File: cli/render.h
//
// Turns resolved YAML documents into the bytes `stsecrets resolve` writes, as YAML or JSON.
//
// Both renderers walk the resolved document side by side with a copy taken before resolution,
// so they know which scalars were handles:
//   - a substituted secret is always a string: double-quoted in YAML (so "123456" or "true"
//     stays a string for the agent), a JSON string in JSON;
//   - it must be valid UTF-8 (JSON needs it, and yaml-cpp would silently replace bad bytes):
//     otherwise Code::handle_value_not_string naming the handle and where it is used;
//   - other scalars keep their YAML meaning: quoted ones stay strings; plain ones are typed by
//     the YAML 1.2 core schema in JSON (null, true/false, integers, floats), and emitted as they
//     were in YAML. Comments and anchors are not kept (yaml-cpp does not keep them).
//
//   std::vector<Document> originals = clone_documents(docs);
//   resolver.resolve(docs);
//   auto text = render_yaml(docs[0], originals[0]);
//
// Thread-safety: pure functions.
#pragma once

#include "cli/output.h"
#include "stsecrets/error.h"
#include "stsecrets/resolver.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace sts::cli {

// Deep copies (YAML::Clone) of the documents, taken before they are resolved in place.
std::vector<Document> clone_documents(const std::vector<Document>& docs);

// The resolved document as block YAML, ending with a newline.
Result<SecretText> render_yaml(const Document& resolved, const Document& original);
// The resolved document as a JSON value.
Result<nlohmann::ordered_json> to_json(const Document& resolved, const Document& original);
// Pretty JSON text (2-space indent) ending with a newline.
SecretText dump_json(const nlohmann::ordered_json& value);

}  // namespace sts::cli
