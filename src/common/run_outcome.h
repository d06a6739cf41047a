// File: run_outcome.h
//
// The platform-neutral half of a backend run (process.h): what the platform files share.
//   - StderrTail keeps the last kStderrTailBytes of the backend's stderr, in secure memory,
//     for both platforms (one home, SPEC 6: a secret echoed to stderr never lands in the heap).
//   - run_error() turns a RunEnd (facts) into the one Error wording of every failure, naming
//     the executable, with one fix hint per case. run_backend() (process.h) is built on it.
//
//   StderrTail tail;
//   tail.append(chunk);                 // as bytes arrive
//   end.stderr_tail = tail.take();      // linear, raw: redact before logging
//   if (auto e = run_error(end, path, options)) return *e;
//
// Thread-safety: StderrTail is one run's; run_error is a pure function.
#pragma once

#include "common/process.h"

#include <optional>
#include <string_view>

namespace sts {

class StderrTail {
 public:
  // Keeps the last kStderrTailBytes of everything appended.
  void append(std::string_view chunk);
  // The tail in order, linear; the keeper is empty (and zeroed) afterwards.
  SecureBuffer take();

 private:
  SecureBuffer ring_;      // capacity kStderrTailBytes, used through spare(): nothing committed
  std::size_t next_ = 0;   // where the next byte goes
  std::size_t filled_ = 0; // bytes held (<= kStderrTailBytes)
};

// The error for a run that did not succeed, or nullopt (exited with status 0). `path` is the
// executable as configured.
std::optional<Error> run_error(const RunEnd& end, std::string_view path, const RunOptions& options);

// "30s" for whole seconds, else "1500ms": how a timeout is shown in messages.
std::string format_timeout(std::chrono::milliseconds timeout);

}  // namespace sts
