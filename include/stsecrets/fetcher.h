// File: stsecrets/fetcher.h
//
// The backend run behind an interface (DESIGN "backend run"): given keys, produce values. The
// real ones come from make_fetcher(): for each configured backend (an executable: check +
// hardened spawn + validation; a built-in provider: an in-process read) wrapped in the audit
// record, the trailing-line-break rule and the empty-value rule; and in front of them a router
// that sends each handle to its backend (SPEC 8), one batch per backend, backends in parallel.
// Tests and hosts can plug in their own Fetcher.
//
// One fetch() is one run per backend for a batch of handles. A whole-run failure is an Error
// (when one backend serves the batch) or each of that backend's handles' failure (when several
// do); a per-handle failure lands in FetchResult::failures and the other handles stay usable.
//
// Thread-safety: fetch() may be called from several threads at once by the cache; the
// implementations here are safe for that.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sts {

struct FetchResult {
  std::map<std::string, SecureBuffer, std::less<>> values;   // requested handle -> value
  std::map<std::string, Error, std::less<>> failures;        // requested handle -> why not
  // Resolved handles whose backend gave an `expiration` (SPEC 3, 9): serve from the cache only
  // until then. Handles without one are absent.
  std::map<std::string, std::chrono::system_clock::time_point, std::less<>> expirations;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // `handles` is sorted and de-duplicated.
  virtual Result<FetchResult> fetch(const std::vector<std::string>& handles) = 0;
};

struct FetcherOptions {
  // The caller's environment: secret_backend_environment names are copied from it, and the env
  // provider reads it. nullptr = the process environment at the time of each fetch.
  const Environment* caller_environment = nullptr;
};

// The fetcher for a whole config: routes every handle to its backend (route_handle). A handle
// with no backend fails the run with Code::config_no_backend (fail closed); a handle naming an
// unknown backend fails with Code::backend_unknown.
std::unique_ptr<Fetcher> make_fetcher(const Config& config, FetcherOptions options = {});

}  // namespace sts
