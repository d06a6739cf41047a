// File: substitution.h
//
// Substitution (DESIGN step 6): replace each handle use with its value. All-or-nothing: the
// documents are touched only when every handle has a value that can go there.
//
// The values come from a ValueLookup: the SecretCache, or (as the Resolver does) a CacheSnapshot,
// whose pinned values cannot vanish between the check of the first phase and the assignment of
// the second (a concurrent clear() or an expiration in between would otherwise leave a handle
// unsubstituted).
//
// Thread-safety: operates on the caller's documents; the cache is locked per lookup.
#pragma once

#include "common/secret_cache.h"
#include "stsecrets/documents.h"
#include "stsecrets/handles.h"

#include <string>
#include <vector>

namespace sts {

// Replaces every handle scalar of docs (found by the one walker, handle_sites.h) with its cached
// value, as a quoted string (tag "!"). A value that is not valid UTF-8 cannot be written into a
// YAML document: such handles are returned and nothing changes. Code::internal when a value
// is no longer cached (a concurrent clear()); nothing changes then either.
Result<std::vector<std::string>> substitute_documents(std::vector<Document>& docs, const ValueLookup& cache);
// Replaces the env uses' values. False (nothing changed) when one is no longer cached or the
// variable changed since the scan.
bool substitute_environment(Environment& env, const std::vector<HandleUse>& uses, const ValueLookup& cache);

}  // namespace sts
