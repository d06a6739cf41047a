// `stsecrets check [--config FILE] [--fetch]`: prints sts::check_backend's report and, with
// --fetch, fetches every handle of the main config and of STS_* variables in one run.
#include "cli/commands.h"
#include "cli/handle_report.h"
#include "cli/inputs.h"
#include "cli/output.h"

#include "stsecrets/check.h"
#include "stsecrets/handles.h"
#include "stsecrets/resolver.h"

namespace sts::cli {
namespace {

constexpr OptionSpec kSpecs[] = {{"config", 0, true}, {"fetch", 0, false}, kLogLevelOption, kHelpOption};

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out.append(name.size() < 10 ? 10 - name.size() : 1, ' ');
  out += value.empty() ? std::string_view("-") : value;
  out += '\n';
}

std::string format_report(const std::string& config_path, const BackendConfig& cfg, const ExecutableReport& r) {
  std::string out;
  field(out, "config:", config_path);
  const bool file_backend = cfg.command.empty() && !cfg.backend_type.empty();
  field(out, "backend:", file_backend ? "built-in " + cfg.backend_type + " backend" : std::string("executable"));
  field(out, file_backend ? "root:" : "path:", r.path);
  // The file backend's report may leave owner/group/mode empty; an executable always has them
  // on POSIX (group and mode are absent on Windows, which lists ACL entries instead).
  if (!file_backend || !r.owner.empty()) field(out, "owner:", r.owner);
  if ((!file_backend && r.acl.empty()) || !r.group.empty()) field(out, "group:", r.group);
  if ((!file_backend && r.acl.empty()) || !r.mode.empty()) field(out, "mode:", r.mode);
  if (!r.acl.empty()) {
    out += "acl:\n";
    for (const auto& ace : r.acl) out += "  " + ace + "\n";
  }
  if (!file_backend) field(out, "sha256:", r.sha256.empty() ? std::string("(not readable)") : r.sha256);
  out += "rules:\n";
  for (const auto& rule : r.rules) {
    out += rule.ok ? "  OK    " : "  FAIL  ";
    out += rule.name;
    if (!rule.detail.empty()) out += ": " + rule.detail;
    out += '\n';
    if (!rule.ok && !rule.fix.empty()) out += "        fix: " + rule.fix + "\n";
  }
  return out;
}

// --fetch: one backend run for every handle of the main config and of STS_* variables.
int fetch_all(const std::string& config_path, const BackendConfig& cfg, const Environment& env) {
  auto doc = load_document(config_path);
  if (!doc) return fail(doc.error());
  ScanResult scan = scan_document(doc->root, doc->origin);
  ScanResult env_scan = scan_environment(env, EnvScan::sts_prefix);
  scan.uses.insert(scan.uses.end(), env_scan.uses.begin(), env_scan.uses.end());
  scan.errors.insert(scan.errors.end(), env_scan.errors.begin(), env_scan.errors.end());
  if (!scan.errors.empty()) {
    for (const auto& e : scan.errors) fail(e);
    return exit_code(Code::handle_invalid);
  }
  const auto grouped = group_by_handle(scan.uses);
  std::vector<std::string> handles = unique_handles(scan.uses);
  std::string out = "fetch:\n";
  if (handles.empty()) {
    out += "  no handles in " + config_path + " or in STS_* variables\n";
    out += "result:   OK\n";
    auto st = write_stdout(out);
    return st ? 0 : fail(st.error());
  }
  Resolver resolver(cfg);
  // The values are not looked at: only whether each handle resolved.
  auto report = resolver.with_values(handles, [](std::string_view, std::string_view) {});
  if (!report) {
    out += "  FAIL  backend run: " + report.error().message + "\n";
    out += "result:   FAIL: the backend run failed\n";
    (void)write_stdout(out);
    return fail(report.error());
  }
  std::vector<HandleFailure> failures;
  for (auto& f : report->failures) {
    auto it = grouped.find(f.handle);
    if (it != grouped.end()) f.uses = it->second;
    failures.push_back(f);
  }
  for (const auto& h : handles) {
    const HandleFailure* failed = nullptr;
    for (const auto& f : failures) {
      if (f.handle == h) failed = &f;
    }
    out += failed ? "  FAIL  " : "  OK    ";
    out += h + " (" + format_uses(grouped.at(h)) + ")";
    if (failed) out += ": " + failed->error.message;
    out += '\n';
  }
  out += failures.empty() ? "result:   OK\n"
                          : "result:   FAIL: " + std::to_string(failures.size()) + " of " +
                                std::to_string(handles.size()) + " handles could not be fetched\n";
  auto st = write_stdout(out);
  if (!failures.empty()) return fail_handles(failures);
  return st ? 0 : fail(st.error());
}

}  // namespace

int run_check(std::span<const std::string> args) {
  auto parsed = parse_args(args, kSpecs, "check", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "check")) return *rc;
  if (!parsed->positionals.empty()) return fail(unexpected_argument("check", parsed->positionals.front()));

  const Environment env = current_environment();
  const std::string config_path = main_config_path(*parsed, env);
  auto cfg = load_config_file(config_path, env);
  if (!cfg) return fail(cfg.error());
  if (!cfg->has_backend()) {
    return fail(make_error(Code::config_no_backend, "no secret backend is configured in " + config_path +
                                                        ": set secret_backend_command (or secret_backend_type: file)"));
  }
  const ExecutableReport report = check_backend(*cfg);
  std::string text = format_report(config_path, *cfg, report);
  if (!report.ok()) {
    text += "result:   FAIL: the backend is rejected; apply the fix above\n";
    (void)write_stdout(text);
    return fail(*report.error);
  }
  if (!parsed->has("fetch")) text += "result:   OK\n";
  auto st = write_stdout(text);
  if (!st) return fail(st.error());
  if (!parsed->has("fetch")) return 0;
  return fetch_all(config_path, *cfg, env);
}

}  // namespace sts::cli
