// File: stsecrets/error.h
//
// Errors are values (STYLE 3). Every fallible library call returns sts::Result<T>, which holds
// either a T or an sts::Error. An Error carries a precise Code (what went wrong), the OS error
// number when one applies, and a one-line message that says what is wrong and how to fix it.
//
//   sts::Result<sts::BackendConfig> cfg = sts::load_config_file("/etc/app.yaml", env);
//   if (!cfg) { std::cerr << cfg.error().message; return sts::exit_code(cfg.error().code); }
//
// Messages never contain a secret value or response bytes (SPEC 3 and 6); the only backend
// text they may carry is the backend's own capped, escaped `error` string.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sts {

// Chosen by what the caller should do next. The category (see category()) maps 1:1 onto the
// CLI exit codes of SPEC 7.
enum class Code {
  // internal or environment (exit 1): a bug, or the system failed; fix the system and retry
  internal,
  io_failed,               // reading or writing a stream or file failed (disk full, EIO, EPIPE, ...)
  // usage / configuration (exit 2): fix the command line or the config and retry
  usage,
  config_invalid,          // a key has a wrong type or value
  config_unreadable,       // the config file cannot be read or is not valid YAML
  config_no_backend,       // handles exist but no backend is configured (fail closed)
  handle_invalid,          // empty, control characters, too long, tagged, or inside a secret_* key
  backend_unknown,         // ENC[name;key] names a backend that multi_secret_backends does not define
  request_invalid,         // a protocol request (stsecrets backend / helper) is malformed
  // rejected by the checks of SPEC 2, 5 and 6 (exit 3): fix ownership/mode/ACL and retry
  exec_rejected,           // the backend executable, its interpreter/loader, or a folder above them
  config_insecure,         // the main config or the audit file (or a folder above) could be changed by others
  // the backend run failed (exit 4): look at the backend
  spawn_failed,            // cannot start
  backend_exit,            // non-zero exit status
  backend_signal,          // killed by a signal
  backend_timeout,         // ran past secret_backend_timeout
  output_too_large,        // stdout or stderr over secret_backend_output_max_size
  response_not_json,       // not valid JSON, trailing bytes, empty
  response_not_object,     // valid JSON but the top level is not an object
  response_bad_utf8,       // invalid UTF-8
  response_duplicate_key,  // a key is duplicated at any level
  response_too_deep,       // nested deeper than 32 levels
  // one handle failed (exit 5): the others are usable
  handle_missing,          // the handle is missing from the response
  handle_backend_error,    // the backend reported a non-empty `error`
  handle_value_empty,      // `value` missing, null or ""
  handle_value_not_string, // `value` is not a string
  handle_value_invalid,    // `value` holds U+0000, or `expiration` is malformed
};

enum class Category { ok = 0, internal = 1, usage = 2, rejected = 3, backend_failed = 4, handle_failed = 5 };

constexpr Category category(Code c) noexcept {
  switch (c) {
    case Code::internal:
    case Code::io_failed: return Category::internal;
    case Code::usage:
    case Code::config_invalid:
    case Code::config_unreadable:
    case Code::config_no_backend:
    case Code::handle_invalid:
    case Code::backend_unknown:
    case Code::request_invalid: return Category::usage;
    case Code::exec_rejected:
    case Code::config_insecure: return Category::rejected;
    case Code::spawn_failed:
    case Code::backend_exit:
    case Code::backend_signal:
    case Code::backend_timeout:
    case Code::output_too_large:
    case Code::response_not_json:
    case Code::response_not_object:
    case Code::response_bad_utf8:
    case Code::response_duplicate_key:
    case Code::response_too_deep: return Category::backend_failed;
    case Code::handle_missing:
    case Code::handle_backend_error:
    case Code::handle_value_empty:
    case Code::handle_value_not_string:
    case Code::handle_value_invalid: return Category::handle_failed;
  }
  return Category::internal;
}

// The SPEC 7 exit status for an error code.
constexpr int exit_code(Code c) noexcept { return static_cast<int>(category(c)); }

// Stable lower_snake name of a code, for audit records and --json output.
const char* code_name(Code c) noexcept;

struct Error {
  Code code = Code::internal;
  int os_error = 0;     // errno / GetLastError() when the OS said no; 0 otherwise
  std::string message;  // one line: what is wrong and how to fix it; never a secret
};

inline Error make_error(Code code, std::string message, int os_error = 0) {
  return Error{code, os_error, std::move(message)};
}

// A minimal expected<T, Error>: clang 14 cannot use libstdc++'s std::expected (DESIGN.md).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}      // NOLINT: implicit by design

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok() { return Status(Ok{}); }

}  // namespace sts
