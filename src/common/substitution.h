// File: substitution.h
//
// Substitution (DESIGN step 6): replace each handle use with its value. All-or-nothing: the
// documents are touched only when every handle has a value.
//
// Thread-safety: operates on the caller's documents; the cache is locked per lookup.
#pragma once

#include "secret_cache.h"
#include "stsecrets/resolver.h"

#include <vector>

namespace sts {

// Replaces handle scalars in docs with cached values. Returns false (and touches nothing) when
// a handle is not in the cache.
bool substitute_documents(std::vector<Document>& docs, const SecretCache& cache);
bool substitute_environment(Environment& env, const std::vector<HandleUse>& uses, const SecretCache& cache);

}  // namespace sts
