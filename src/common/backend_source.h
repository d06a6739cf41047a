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
#include "stsecrets/secure_buffer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sts {

// A backend's stderr tail waiting to be logged (SPEC 6 "Logs"), with every string its stdout
// held. It is logged by emit_stderr_log() once the whole resolution is in (backend_fetcher.cpp),
// so a value another backend of the same resolution returns later is masked in it too.
struct StderrLog {
  std::string prefix;                // "backend /x stderr (last N of M bytes): "
  SecureBuffer tail;
  std::vector<SecureBuffer> seen;    // the strings of the run's stdout
  bool cut = false;                  // the tail starts inside the stream
  bool warn = false;                 // the run failed: warn, else info
};
// Logs it; the caller has registered the resolution's values with redaction.
void emit_stderr_log(StderrLog& log);

// What one read records for the audit log, beyond its outcome.
struct RunFacts {
  std::string sha256;            // of the executable, when one ran
  int exit_code = -1;            // when a process exited (0 for an in-process read)
  int signal = 0;                // when a signal killed it (POSIX)
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
  std::optional<StderrLog> stderr_log;   // an executable's stderr tail, logged by the router
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
