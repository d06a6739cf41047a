// File: audit.h
//
// The audit log (SPEC 6): one JSON line per backend run, appended to secret_audit_file. Never
// values: only handle names, counts, status and timings.
//
//   AuditRecord rec; rec.time = now; rec.executable = path; ...
//   if (auto st = append_audit(cfg.audit_file, rec, cfg.audit_file_max_size); !st) return st.error();
//
// The file rules (owner-only, one link, no symlink, no FIFO) and rotation to FILE.1 past
// max_size are platform::append_audit_line's (file_io.h).
//
// Thread-safety: append_audit may be called from any thread and any number of processes at
// once: each record lands whole, exactly once, under a lock shared with other processes.
#pragma once

#include "stsecrets/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
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

// SPEC 2 secret_audit_file_max_size.
constexpr std::uint64_t kDefaultAuditMaxSize = 10485760;

std::string format_audit_line(const AuditRecord& record);   // one line, no trailing newline
// Appends the record as one line. Past max_size bytes the log is first rotated to path + ".1"
// (one generation kept); 0 disables rotation. Errors: Code::config_insecure (the file or its
// folder breaks the SPEC 6 rules; the message has the fix), Code::io_failed.
Status append_audit(const std::string& path, const AuditRecord& record,
                    std::uint64_t max_size = kDefaultAuditMaxSize);

}  // namespace sts
