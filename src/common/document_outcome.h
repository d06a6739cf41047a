// File: document_outcome.h
//
// What a lookup found for one key of a secrets document, and the one wording of every per-key
// failure, shared by the JSON and YAML lookups (document_lookup.h) so both speak alike.
//
//   Outcome o;                       // filled while walking the document
//   o.reached = 1; o.stop = Shape::map;
//   Error e = outcome_error(label, "db/pasword", o);   // "... \"db\" has no key \"pasword\" ..."
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sts {

// The kind of a node of a document, as messages name it.
enum class Shape : std::uint8_t { missing, null, boolean, number, string, list, map, tagged };
// "null", "a boolean", "a number", "a string", "a list", "a map", "a tagged value".
const char* shape_name(Shape shape) noexcept;

// How far the walk for one key got.
struct Outcome {
  std::size_t parts = 0;        // how many parts the key has
  std::size_t reached = 0;      // how many of them led to a node (parts == reached: the leaf exists)
  Shape stop = Shape::missing;  // the node at `reached` parts (the root when reached == 0)
  std::string tag;              // Shape::tagged: the tag, for the message
  bool found_string = false;    // the leaf is a string, copied out
  bool empty = false;           // ... and it is ""
  bool holds_nul = false;       // ... and it holds U+0000
};

// The error for a key whose outcome is not a usable string (the caller has checked that),
// naming the label, the key and where the walk stopped; never a value.
Error outcome_error(std::string_view label, std::string_view key, const Outcome& outcome, bool yaml);

}  // namespace sts
