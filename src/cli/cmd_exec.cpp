// `stsecrets exec [--config FILE] [--] COMMAND [ARG...]`: resolve ENC[...] environment values
// (one run per backend), then run COMMAND with them (sts::run_command: on POSIX it replaces
// this process, so COMMAND's exit status and signals are what the caller sees).
#include "commands.h"
#include "handle_report.h"
#include "output.h"

#include "stsecrets/host.h"
#include "stsecrets/resolver.h"
#include "stsecrets/secure_buffer.h"

namespace sts::cli {
namespace {

constexpr OptionSpec kSpecs[] = {{"config", 0, true}, kLogLevelOption, kHelpOption};

void wipe(Environment& env) {
  for (auto& [name, value] : env) {
    if (value.capacity() > 0) secure_zero(value.data(), value.capacity());
  }
}

}  // namespace

int run_exec(std::span<const std::string> args) {
  auto parsed = parse_args(args, kSpecs, "exec", ParseMode::stop_at_positional);
  if (!parsed) return fail(parsed.error());
  if (auto rc = apply_common_options(*parsed, "exec")) return *rc;
  if (parsed->positionals.empty()) {
    return fail(make_error(Code::usage, "exec needs a COMMAND to run; " + help_hint("exec")));
  }

  const Environment caller_env = current_environment();
  const std::string main_config = config_path(*parsed, caller_env);
  auto cfg = load_config_file(main_config, caller_env);
  if (!cfg) return fail(cfg.error());

  Environment env = caller_env;
  {
    Resolver resolver(*cfg, one_shot());
    auto report = resolver.resolve_environment(env, EnvScan::all);
    if (!report) return fail(report.error());
    if (!report->failures.empty()) return fail_handles(report->failures);
  }
  // COMMAND replaces this process: what the runs left behind (a backend that killed its own
  // supervisor) dies now, and COMMAND does not inherit the subreaper flag (SPEC 4).
  if (auto st = end_children(true); !st) {
    wipe(env);
    return fail(st.error());
  }
  auto status = run_command(parsed->positionals, env, caller_env);
  wipe(env);
  if (!status) return fail(status.error());
  return *status;   // Windows: COMMAND's exit code (POSIX never gets here on success)
}

}  // namespace sts::cli
