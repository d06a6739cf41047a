// File: stsecrets/fetcher.h
//
// The backend run behind an interface (DESIGN "backend run"): given handles, produce values.
// The real ones are made by make_fetcher() from a BackendConfig: an executable backend
// (check + hardened spawn + validation + audit) or the built-in file backend. Tests and hosts
// can plug in their own.
//
// One fetch() is one backend run for a batch of handles. A whole-run failure is an Error; a
// per-handle failure lands in FetchResult::failures and the other handles stay usable.
//
// Thread-safety: fetch() may be called from several threads at once by the cache; the
// implementations here are safe for that.
#pragma once

#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <chrono>
#include <functional>
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
  // Test seam: called after the executable is checked and before it is spawned.
  std::function<void()> after_check_for_test;
  // The caller's environment, from which secret_backend_environment names are copied.
  // Empty = the process environment.
  const Environment* caller_environment = nullptr;
};

// The fetcher the config asks for. Errors: Code::config_no_backend when none is configured.
Result<std::unique_ptr<Fetcher>> make_fetcher(const BackendConfig& config, FetcherOptions options = {});

}  // namespace sts
