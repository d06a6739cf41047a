// File: cli/output.h
//
// Where the stsecrets command's bytes go: error lines on stderr (`stsecrets: error: ...`, one
// line per problem, redacted), and raw writes to stdout that keep no stdio copy of the bytes.
//
//   if (!cfg) return fail(cfg.error());          // prints, returns the SPEC 7 exit status
//   auto st = write_stdout(text);                // Code::internal on EPIPE/ENOSPC/...
//
// Thread-safety: single-threaded use by the command.
#pragma once

#include "stsecrets/logging.h"

#include "stsecrets/error.h"

#include <string>
#include <string_view>

namespace sts::cli {

// Prints one `stsecrets: error: ` line per line of the message (redacted, control characters
// escaped) and returns exit_code(error.code).
int fail(const Error& error);
// Prints one error line without an exit status.
void print_error_line(std::string_view line);
// A warning line: `stsecrets: warning: ...`.
void print_warning_line(std::string_view line);

// Writes all bytes to fd 1 with write(2), without a stdio buffer. Errors are Code::internal.
Status write_stdout(std::string_view bytes);
// Writes all bytes to an fd; `what` names it in the error.
Status write_fd(int fd, std::string_view bytes, std::string_view what);

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

// The library's escaper (stsecrets/logging.h), for one-line messages.
using sts::escape_controls;

}  // namespace sts::cli
