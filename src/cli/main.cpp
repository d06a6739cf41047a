// The stsecrets command: global options, dispatch to the subcommands, the command's own
// containment (a subreaper that ends every child left before it returns), and the last-resort
// mapping of an unexpected exception to exit status 1 (internal error).
#include "commands.h"
#include "help.h"
#include "output.h"

#include "stsecrets/config.h"

#include "stsecrets/host.h"
#include "stsecrets/logging.h"

#include <exception>
#include <new>
#include <span>
#include <system_error>
#include <typeinfo>
#include <string>
#include <vector>

namespace sts::cli {
namespace {

Status set_level(std::string_view name) {
  auto level = parse_log_level(name);
  if (!level) {
    return make_error(Code::usage, "unknown log level '" + std::string(name) +
                                       "': use trace, debug, info, warn, error or off; " + help_hint(""));
  }
  set_log_level(*level);
  return ok();
}

int print_text(std::string_view text) {
  auto st = print_report(text);
  return st ? 0 : fail(st.error());
}

int run_help(std::span<const std::string> args) {
  if (args.empty()) return print_text(main_help());
  if (args.size() > 1) return fail(unexpected_argument("help", args[1]));
  auto text = command_help(args[0]);
  if (!text) return fail(make_error(Code::usage, "unknown command '" + args[0] + "'; " + help_hint("")));
  return print_text(*text);
}

int run(std::span<const std::string> args) {
  std::size_t i = 0;
  // Options before the command: --help, --version, --log-level.
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") return print_text(main_help());
    if (a == "--version") return print_text("stsecrets " STS_VERSION "\n");
    if (a == "--log-level" || a.rfind("--log-level=", 0) == 0) {
      std::string value;
      if (a == "--log-level") {
        if (i + 1 >= args.size()) return fail(make_error(Code::usage, "option --log-level needs a value; " + help_hint("")));
        value = args[++i];
      } else {
        value = a.substr(12);
      }
      auto st = set_level(value);
      if (!st) return fail(st.error());
      continue;
    }
    return fail(make_error(Code::usage, "unknown option " + a + "; " + help_hint("")));
  }
  if (i >= args.size()) return fail(make_error(Code::usage, "no command given; " + help_hint("")));
  const std::string& command = args[i];
  auto rest = args.subspan(i + 1);
  if (command == "check") return run_check(rest);
  if (command == "handles") return run_handles(rest);
  if (command == "resolve") return run_resolve(rest);
  if (command == "exec") return run_exec(rest);
  if (command == "helper") return run_helper(rest);
  if (command == "backend") return run_serve(rest);
  if (command == "help") return run_help(rest);
  return fail(make_error(Code::usage, "unknown command '" + command + "'; " + help_hint("")));
}

}  // namespace

std::optional<int> apply_common_options(const ParsedArgs& args, std::string_view command) {
  if (auto level = args.value("log-level")) {
    auto st = set_level(*level);
    if (!st) return fail(st.error());
  }
  if (args.has("help")) {
    auto text = command_help(command);
    return print_text(text ? *text : main_help());
  }
  return std::nullopt;
}

std::string config_path(const ParsedArgs& args, const Environment& env) {
  if (auto c = args.value("config")) return *c;
  return default_config_path(env);
}

Error unexpected_argument(std::string_view command, const std::string& arg) {
  return make_error(Code::usage, "unexpected argument '" + arg + "' for '" + std::string(command) + "'; " +
                                     help_hint(command));
}

}  // namespace sts::cli

namespace {

// Every command, every way out: what a backend left behind dies with the command (SPEC 4). A
// backend that killed or stopped its own supervisor had its descendants re-parented here (the
// process is a subreaper); they are killed and reaped before the command returns.
int end_descendants(int rc) {
  auto st = sts::end_children();
  if (st) return rc;
  if (rc == 0) return sts::cli::fail(st.error());
  sts::cli::print_error_line(st.error().message);
  return rc;
}

int run_guarded(std::span<const std::string> args) {
  try {
    return sts::cli::run(args);
  } catch (const std::bad_alloc&) {
    sts::cli::print_error_line("internal error: out of memory");
  } catch (const std::system_error& e) {
    // Paths and OS reasons only (filesystem_error is one); redacted and escaped anyway.
    sts::cli::print_error_line(std::string("internal error: ") + e.what());
  } catch (const std::exception& e) {
    // Other what() texts may quote data they were parsing: name the type only.
    sts::cli::print_error_line(std::string("internal error: unexpected exception ") + typeid(e).name());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything can hold a secret: no core dump, no ptrace by others (SPEC 6).
  if (auto st = sts::harden_process(); !st) return sts::cli::fail(st.error());
  // Before any backend runs: orphans of a run are adopted here, not by init (SPEC 4).
  if (auto st = sts::adopt_orphans(); !st) return sts::cli::fail(st.error());
  sts::set_log_level(sts::LogLevel::warn);
  // UTF-8 on every platform (Windows: from the wide command line, not the ANSI argv).
  const std::vector<std::string> line = sts::command_line(argc, argv);
  const std::vector<std::string> args(line.empty() ? line.end() : line.begin() + 1, line.end());
  return end_descendants(run_guarded(args));
}
