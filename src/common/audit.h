// File: audit.h
//
// The audit log (SPEC 6): one JSON line per backend run, appended to secret_audit_file, which is
// created with mode 0600. Never values: only handle names, counts, status and timings.
//
// Thread-safety: append_audit serialises appends within the process (O_APPEND across processes).
#pragma once

#include "stsecrets/error.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace sts {

struct AuditRecord {
  std::chrono::system_clock::time_point time;
  std::string executable;            // path, or "file:<root>" for the built-in file backend
  std::string sha256;
  std::vector<std::string> handles;  // names asked for
  std::size_t resolved = 0;
  std::size_t failed = 0;
  int exit_code = -1;
  int signal = 0;
  long long duration_ms = 0;
  std::size_t stdout_bytes = 0;
  std::size_t stderr_bytes = 0;
  std::string outcome;               // "ok", or code_name() of the whole-run error
};

std::string format_audit_line(const AuditRecord& record);   // one line, no trailing newline
Status append_audit(const std::string& path, const AuditRecord& record);

}  // namespace sts
