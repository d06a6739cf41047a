// `stsecrets check [--config FILE] [--fetch] [--json]`: prints sts::check_config's report and,
// with --fetch, fetches every handle of the main config and of STS_* variables (one run per
// backend). Text for operators, or one JSON document (schema 1, docs/cli.md) for auditors'
// scripts. Every byte for stdout goes through redaction (a backend's error text may quote
// another handle's value).
#include "commands.h"
#include "handle_report.h"
#include "inputs.h"
#include "output.h"

#include "stsecrets/check.h"
#include "stsecrets/documents.h"
#include "stsecrets/handles.h"
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <optional>

namespace sts::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr OptionSpec kSpecs[] = {{"config", 0, true}, {"fetch", 0, false}, {"json", 0, false}, kLogLevelOption,
                                 kHelpOption};

// One handle's fetch outcome.
struct Fetched {
  std::string handle;
  std::vector<HandleUse> uses;
  std::optional<Error> error;   // nullopt: OK
};

// --fetch: every handle of the main config and of STS_* variables, one run per backend.
// A whole-run error is every handle's error (and the run's exit status).
struct FetchOutcome {
  std::vector<Fetched> handles;
  std::optional<Error> run_error;
  std::vector<Error> scan_errors;
  // Kept alive until everything is printed: its cache makes the fetched values known to
  // redaction, so an error text quoting one of them is masked on stdout and stderr.
  std::unique_ptr<Resolver> resolver;
};

FetchOutcome fetch_all(const Document& main_doc, const Config& cfg, const Environment& env) {
  FetchOutcome out;
  const ScanResult scan = scan_inputs({main_doc}, &env, EnvScan::sts_prefix, &cfg);
  if (!scan.errors.empty()) {
    out.scan_errors = scan.errors;
    return out;
  }
  const auto grouped = group_by_handle(scan.uses);
  std::vector<std::string> handles;
  for (const auto& [h, uses] : grouped) handles.push_back(h);
  if (handles.empty()) return out;
  out.resolver = std::make_unique<Resolver>(cfg, one_shot());
  // The values are not looked at: only whether each handle resolved.
  auto report = out.resolver->with_values(handles, [](std::string_view, std::string_view) {});
  if (!report) out.run_error = report.error();
  for (const auto& [h, uses] : grouped) {
    Fetched f{h, uses, std::nullopt};
    if (!report) {
      f.error = report.error();
    } else {
      for (const auto& failure : report->failures) {
        if (failure.handle == h) f.error = failure.error;
      }
    }
    out.handles.push_back(std::move(f));
  }
  return out;
}

// ---- text ---------------------------------------------------------------------------------

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out.append(name.size() < 10 ? 10 - name.size() : 1, ' ');
  out += value.empty() ? std::string_view("-") : value;
  out += '\n';
}

void rule_lines(std::string& out, const std::vector<CheckRule>& rules) {
  for (const auto& rule : rules) {
    out += rule.ok ? "  OK    " : "  FAIL  ";
    out += rule.name;
    if (!rule.detail.empty()) out += ": " + rule.detail;
    out += '\n';
    if (!rule.ok && !rule.fix.empty()) out += "        fix: " + rule.fix + "\n";
  }
}

void backend_text(std::string& out, const ExecutableReport& r) {
  const bool executable = r.type == "executable";
  const std::string kind = executable ? std::string("executable") : "built-in " + r.type + " backend";
  field(out, "backend:", r.backend.empty() ? kind : r.backend + ": " + kind);
  field(out, executable ? "path:" : (r.type == "file.json" || r.type == "file.yaml" ? "document:" : "root:"), r.path);
  // A provider's report may leave owner/group/mode empty; an executable always has them on
  // POSIX (group and mode are absent on Windows, which lists ACL entries instead).
  if (executable || !r.owner.empty()) field(out, "owner:", r.owner);
  if ((executable && r.acl.empty()) || !r.group.empty()) field(out, "group:", r.group);
  if ((executable && r.acl.empty()) || !r.mode.empty()) field(out, "mode:", r.mode);
  if (!r.acl.empty()) {
    out += "acl:\n";
    for (const auto& ace : r.acl) out += "  " + ace + "\n";
  }
  if (executable) field(out, "sha256:", r.sha256.empty() ? std::string("(not readable)") : r.sha256);
  out += "rules:\n";
  rule_lines(out, r.rules);
  if (!r.ok() && r.rules.empty()) out += "  FAIL  " + r.error->message + "\n";
}

std::string report_text(const std::string& config_path, const CheckReport& report) {
  std::string out;
  field(out, "config:", config_path);
  if (!report.config_rules.empty()) {
    out += "config rules:\n";
    rule_lines(out, report.config_rules);
  }
  if (!report.containment.name.empty()) {
    field(out, "containment:", report.containment.name + ": " + report.containment.guarantees);
    if (!report.containment.limits.empty()) out += "          " + report.containment.limits + "\n";
  }
  for (const auto& b : report.backends) backend_text(out, b);
  return out;
}

std::string fetch_text(const std::string& config_path, const FetchOutcome& f) {
  std::string out = "fetch:\n";
  if (f.handles.empty()) return out + "  no handles in " + config_path + " or in STS_* variables\n";
  if (f.run_error) out += "  FAIL  backend run: " + f.run_error->message + "\n";
  for (const auto& h : f.handles) {
    out += h.error ? "  FAIL  " : "  OK    ";
    out += h.handle + " (" + format_uses(h.uses) + ")";
    if (h.error && !f.run_error) out += ": " + h.error->message;
    out += '\n';
  }
  return out;
}

// ---- JSON (schema 1, docs/cli.md) ---------------------------------------------------------

Json rules_json(const std::vector<CheckRule>& rules) {
  Json out = Json::array();
  for (const auto& r : rules) {
    out.push_back({{"name", r.name}, {"status", r.ok ? "ok" : "fail"}, {"detail", r.detail}, {"fix", r.fix}});
  }
  return out;
}

Json error_json(const std::optional<Error>& e) {
  if (!e) return nullptr;
  return {{"code", code_name(e->code)}, {"message", e->message}};
}

Json report_json(const std::string& config_path, const CheckReport& report) {
  Json backends = Json::array();
  for (const auto& b : report.backends) {
    backends.push_back({{"name", b.backend},   {"type", b.type},     {"path", b.path},
                        {"owner", b.owner},    {"group", b.group},   {"mode", b.mode},
                        {"acl", b.acl},        {"sha256", b.sha256}, {"status", b.ok() ? "ok" : "fail"},
                        {"rules", rules_json(b.rules)}, {"error", error_json(b.error)}});
  }
  return {{"schema", 1},
          {"config", {{"path", config_path}, {"rules", rules_json(report.config_rules)}}},
          {"containment",
           {{"name", report.containment.name},
            {"guarantees", report.containment.guarantees},
            {"limits", report.containment.limits}}},
          {"backends", std::move(backends)}};
}

Json fetch_json(const FetchOutcome& f) {
  Json handles = Json::array();
  for (const auto& h : f.handles) {
    Json uses = Json::array();
    for (const auto& u : h.uses) uses.push_back({{"origin", u.origin}, {"key_path", u.key_path}});
    handles.push_back({{"handle", h.handle},
                       {"backend", h.uses.empty() ? std::string() : h.uses.front().backend},
                       {"uses", std::move(uses)},
                       {"status", h.error ? "fail" : "ok"},
                       {"error", error_json(h.error)}});
  }
  return {{"run_error", error_json(f.run_error)}, {"handles", std::move(handles)}};
}

// Every string is redacted before it becomes JSON: escaping ("\u0001", "\"") and the dump's
// replacement of invalid UTF-8 both change bytes, so redaction runs on the text as it came
// (a value quoted by a backend's error), and print_report() redacts the whole document again.
void redact_strings(Json& j) {
  if (j.is_string()) {
    j = redact(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (auto& child : j) redact_strings(child);
  }
}

std::string dump(Json j) {
  redact_strings(j);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---- the command --------------------------------------------------------------------------

// The outcome line and exit status, from the first problem found.
struct Verdict {
  std::string line;
  std::optional<Error> error;
  std::vector<Error> extra;   // further errors to print on stderr (per-handle failures)
};

Verdict verdict(const CheckReport& report, const std::optional<FetchOutcome>& fetched) {
  if (!report.ok()) {
    const bool config_file = std::any_of(report.config_rules.begin(), report.config_rules.end(),
                                         [](const CheckRule& r) { return !r.ok; });
    return {"FAIL: " + std::string(report.error->code == Code::config_no_backend ? "no backend is configured"
                                   : config_file ? "the config file is rejected; apply the fix above"
                                                 : "the backend is rejected; apply the fix above"),
            report.error, {}};
  }
  if (!fetched) return {"OK", std::nullopt, {}};
  if (!fetched->scan_errors.empty()) {
    return {"FAIL: invalid handles", fetched->scan_errors.front(),
            {fetched->scan_errors.begin() + 1, fetched->scan_errors.end()}};
  }
  if (fetched->run_error) return {"FAIL: the backend run failed", fetched->run_error, {}};
  Verdict v{"OK", std::nullopt, {}};
  std::size_t failed = 0;
  for (const auto& h : fetched->handles) {
    if (!h.error) continue;
    ++failed;
    const Error located = make_error(h.error->code, "handle \"" + h.handle + "\" (used at " + format_uses(h.uses) +
                                                        "): " + h.error->message);
    if (!v.error) {
      v.error = located;
    } else {
      v.extra.push_back(located);
    }
  }
  if (failed > 0) {
    v.line = "FAIL: " + std::to_string(failed) + " of " + std::to_string(fetched->handles.size()) +
             " handles could not be fetched";
  }
  return v;
}

}  // namespace

int run_check(std::span<const std::string> args) {
  auto parsed = parse_args(args, kSpecs, "check", ParseMode::options_anywhere);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "check")) return *rc;
  if (!parsed->positionals.empty()) return fail(unexpected_argument("check", parsed->positionals.front()));
  const bool json = parsed->has("json");

  const Environment env = current_environment();
  auto in = load_inputs(*parsed, env);
  if (!in) return fail(in.error());
  if (!in->config) return fail(in->config.error());
  const std::string& main_config = in->main_config;

  const CheckReport report = check_config(*in->config);
  std::optional<FetchOutcome> fetched;
  if (parsed->has("fetch") && report.ok()) fetched = fetch_all(in->docs.front(), *in->config, env);
  const Verdict v = verdict(report, fetched);

  std::string text;
  if (json) {
    Json j = report_json(main_config, report);
    if (fetched) j["fetch"] = fetch_json(*fetched);
    j["result"] = {{"status", v.error ? "fail" : "ok"},
                   {"exit_code", v.error ? exit_code(v.error->code) : 0},
                   {"error", error_json(v.error)}};
    text = dump(j);
  } else {
    text = report_text(main_config, report);
    if (fetched && fetched->scan_errors.empty()) text += fetch_text(main_config, *fetched);
    text += "result:   " + v.line + "\n";
  }
  const Status written = print_report(text);
  if (v.error) {
    const int rc = fail(*v.error);
    for (const auto& e : v.extra) fail(e);
    return rc;
  }
  return written ? 0 : fail(written.error());
}

}  // namespace sts::cli
