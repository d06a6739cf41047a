// sts::check_config (stsecrets/check.h): the report `stsecrets check` prints. Platform-neutral:
// the executable rules come from platform::check_executable (the descriptor it opens is closed
// again here, nothing runs); a built-in provider reports its own rules (providers.cpp).
#include "stsecrets/check.h"

#include "common/backend_source.h"
#include "common/executable_check.h"
#include "common/process.h"

#include <algorithm>

namespace sts {
namespace {

ExecutableReport check_executable_backend(const Backend& backend) {
  ExecutableReport report;
  CheckOptions options{backend.exec.command, backend.exec.allow_group_exec, backend.exec.sha256};
  options.child_path = backend_search_path(backend.exec.environment, nullptr);
  auto checked = platform::check_executable(options, &report);
  // The report carries the outcome; the verified descriptor closes here, unused.
  if (!checked && !report.error) report.error = checked.error();
  return report;
}

}  // namespace

CheckReport check_config(const Config& config) {
  CheckReport out;
  out.config_file = config.file;
  if (!config.has_backend()) {
    const std::string where = config.source.empty() ? std::string("the main config") : config.source;
    out.error = make_error(Code::config_no_backend,
                           "no secret backend is configured in " + where +
                               ": set secret_backend_command (or secret_backend_type, or multi_secret_backends)");
    return out;
  }
  const auto backends = config.backends();
  const bool runs_something = std::any_of(backends.begin(), backends.end(),
                                          [](const Backend* b) { return b->type == BackendType::executable; });
  if (runs_something) {
    // How backend process trees are contained (SPEC 4): only where a backend process runs.
    const Containment c = platform::containment();
    out.containment = {c.name, c.what_it_guarantees, c.why_not_stronger};
  }
  if (!config.file.empty()) {
    // SPEC 2: the config that names the backends is checked like the executable, whatever
    // their type (as before every read, backend_fetcher.cpp); its rules come first.
    Status st = platform::check_config_file(config.file, &out.config_rules);
    if (!st) out.error = std::move(st).error();
  }
  for (const Backend* b : backends) {
    ExecutableReport r = b->type == BackendType::executable ? check_executable_backend(*b) : check_provider(*b);
    r.backend = b->name;
    r.type = std::string(backend_type_name(b->type));
    if (!r.ok() && !out.error) out.error = r.error;
    out.backends.push_back(std::move(r));
  }
  return out;
}

}  // namespace sts
