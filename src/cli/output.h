// File: cli/output.h
//
// Where the stsecrets command's bytes go: error lines on stderr (`stsecrets: error: ...`, one
// line per problem, redacted, control characters escaped), reports on stdout (always through
// redaction: a backend's error text may quote another handle's value), and resolved documents on
// stdout or in files (never through a stdio buffer).
//
//   if (!cfg) return fail(cfg.error());          // prints, returns the SPEC 7 exit status
//   auto st = print_report(text);                // Code::io_failed on EPIPE/ENOSPC/...
//
// Thread-safety: single-threaded use by the command.
#pragma once

#include "stsecrets/error.h"

#include <string>
#include <string_view>

namespace sts::cli {

// Prints one `stsecrets: error: ` line per line of the message and returns exit_code(error.code).
int fail(const Error& error);
// Prints one error line without an exit status.
void print_error_line(std::string_view line);

// A report for stdout (check, handles, help): redacted, then written.
Status print_report(std::string_view text);

// Text that may contain secret values (resolved documents): zeroed when destroyed.
class SecretText {
 public:
  SecretText() = default;
  explicit SecretText(std::string text) : text_(std::move(text)) {}
  SecretText(SecretText&& other) noexcept;
  SecretText& operator=(SecretText&& other) noexcept;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  ~SecretText();
  std::string& str() noexcept { return text_; }
  const std::string& str() const noexcept { return text_; }
  void wipe() noexcept;

 private:
  std::string text_;
};

}  // namespace sts::cli
