// File: cli/render.h
//
// Turns resolved YAML documents into the bytes `stsecrets resolve` writes, as YAML or JSON.
//
// The Resolver gives every substituted secret the tag "!" (a quoted string) and refuses values
// that are not valid UTF-8, so no copy of the original document is needed:
//   - a quoted scalar, secrets included, is a string: double-quoted in YAML (so "123456" or
//     "true" stays a string for the agent), a JSON string in JSON;
//   - plain scalars keep their YAML meaning: typed by the YAML 1.2 core schema in JSON (null,
//     true/false, integers, floats), emitted as they were in YAML. Comments and anchors are not
//     kept (yaml-cpp does not keep them).
//
//   resolver.resolve(docs);
//   auto text = render_yaml(docs[0]);
//
// Thread-safety: pure functions.
#pragma once

#include "output.h"
#include "stsecrets/error.h"
#include "stsecrets/documents.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace sts::cli {

// The resolved document as block YAML, ending with a newline.
Result<SecretText> render_yaml(const Document& resolved);
// The resolved document as a JSON value.
nlohmann::ordered_json to_json(const Document& resolved);
// Pretty JSON text (2-space indent) ending with a newline.
SecretText dump_json(const nlohmann::ordered_json& value);

}  // namespace sts::cli
