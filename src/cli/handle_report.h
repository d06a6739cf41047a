// File: cli/handle_report.h
//
// How the command shows handles and handle failures: the uses of a handle as
// "FILE: key.path" lists, the per-handle failure lines on stderr, and handle uses grouped by
// handle name for `stsecrets handles` and `stsecrets check --fetch`.
//
//   for (const auto& f : report->failures) print_failure(f);
//
// Thread-safety: stateless.
#pragma once

#include "stsecrets/handles.h"
#include "stsecrets/resolver.h"

#include <map>
#include <string>
#include <vector>

namespace sts::cli {

// "FILE: key.path, environment: STS_API_KEY"
std::string format_uses(const std::vector<HandleUse>& uses);

// One stderr line: `stsecrets: error: handle "h" (used at ...): <cause>`.
void print_failure(const HandleFailure& failure);
// Prints every failure and returns the exit status for them (that of the first one).
int fail_handles(const std::vector<HandleFailure>& failures);
// Prints every scan error and returns the exit status of the first.
int fail_all(const std::vector<Error>& errors);

// Uses grouped by handle name (sorted), in scan order within a handle.
std::map<std::string, std::vector<HandleUse>> group_by_handle(const std::vector<HandleUse>& uses);

}  // namespace sts::cli
