// The audit log (audit.h, SPEC 6): one JSON object per line, appended through the audit file
// hook (file_io.h). Only names, counts, status and timings: the record type has no field that
// could hold a value.
#include "common/audit.h"

#include "common/file_io.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <mutex>

namespace sts {
namespace {

// RFC 3339 in UTC with milliseconds, e.g. "2024-05-01T12:34:56.789Z". Plain chrono calendar
// arithmetic: no gmtime_r / gmtime_s, so the same code serves POSIX and Windows.
std::string rfc3339_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(tp);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> t{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(t.hours().count()), static_cast<int>(t.minutes().count()),
                static_cast<int>(t.seconds().count()), static_cast<int>(t.subseconds().count()));
  return buf;
}

}  // namespace

std::string format_audit_line(const AuditRecord& record) {
  nlohmann::ordered_json j;
  j["time"] = rfc3339_utc(record.time);
  j["executable"] = record.executable;
  j["sha256"] = record.sha256;
  j["handles"] = record.handles;
  j["resolved"] = record.resolved;
  j["failed"] = record.failed;
  j["exit_code"] = record.exit_code;
  j["signal"] = record.signal;
  j["duration_ms"] = record.duration_ms;
  j["stdout_bytes"] = record.stdout_bytes;
  j["stderr_bytes"] = record.stderr_bytes;
  j["outcome"] = record.outcome;
  // Compact output escapes every control character, so the record is always one line. A
  // path or handle that is not UTF-8 gets U+FFFD instead of an exception.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status append_audit(const std::string& path, const AuditRecord& record, std::uint64_t max_size) {
  std::string line = format_audit_line(record);
  line += '\n';
  // Across processes the hook's file lock keeps records whole and rotation single; the mutex
  // only keeps this process's records in call order.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return platform::append_audit_line(path, line, max_size);
}

}  // namespace sts
