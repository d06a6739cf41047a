// File: backend_source.h
//
// One backend's way of answering keys (DESIGN step 4): an executable run
// (executable_source.cpp) or a built-in provider's in-process read (providers.cpp). A Source
// only produces raw values and per-key failures; backend_fetcher.cpp wraps every Source in the
// same audit record, trailing-line-break and empty-value rules, and routes handles to sources.
//
//   std::unique_ptr<Source> s = make_executable_source(backend, options);
//   RunFacts facts;
//   Result<FetchResult> r = s->read({"db/password"}, facts);
//
// Thread-safety: read() may run on several threads at once (one per backend of a resolution,
// and concurrent resolutions); sources keep no mutable state between reads.
#pragma once

#include "stsecrets/check.h"
#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"

#include <memory>
#include <string>
#include <vector>

namespace sts {

// What one read records for the audit log, beyond its outcome.
struct RunFacts {
  std::string sha256;            // of the executable, when one ran
  int exit_code = -1;            // when a process exited (0 for an in-process read)
  int signal = 0;                // when a signal killed it (POSIX)
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // `keys` are sorted and unique. Per-key problems go to FetchResult::failures; an Error fails
  // every key of this backend.
  virtual Result<FetchResult> read(const std::vector<std::string>& keys, RunFacts& facts) = 0;
};

// executable_source.cpp
std::unique_ptr<Source> make_executable_source(const Backend& backend, const FetcherOptions& options);
// providers.cpp: every built-in type.
std::unique_ptr<Source> make_provider_source(const Backend& backend, const FetcherOptions& options);
// providers.cpp: a built-in backend's rules for `stsecrets check` (its folder or document).
ExecutableReport check_provider(const Backend& backend);

}  // namespace sts
