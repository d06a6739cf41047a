// File: cli/commands.h
//
// The stsecrets subcommands. Each takes the arguments after its name, parses them, calls the
// library, prints, and returns the SPEC 7 exit status. main.cpp dispatches to them.
//
// Thread-safety: each runs once, on the main thread.
#pragma once

#include "args.h"
#include "stsecrets/config.h"
#include "stsecrets/resolver.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sts::cli {

int run_check(std::span<const std::string> args);     // cmd_check.cpp
int run_handles(std::span<const std::string> args);   // cmd_resolve.cpp
int run_resolve(std::span<const std::string> args);   // cmd_resolve.cpp
int run_exec(std::span<const std::string> args);      // cmd_exec.cpp (returns only on failure)
int run_helper(std::span<const std::string> args);    // cmd_serve.cpp
int run_serve(std::span<const std::string> args);     // cmd_serve.cpp: `stsecrets backend`

// The options every command accepts: --log-level LEVEL and --help/-h.
inline constexpr OptionSpec kLogLevelOption{"log-level", 0, true};
inline constexpr OptionSpec kHelpOption{"help", 'h', false};

// Applies --log-level and answers --help. Returns an exit status when the command should stop
// here (help printed: 0; bad level: 2), nullopt to go on. main.cpp.
std::optional<int> apply_common_options(const ParsedArgs& args, std::string_view command);

// A Code::usage error for an unexpected positional argument.
Error unexpected_argument(std::string_view command, const std::string& arg);

// A command resolves once and exits: no background refresh thread (secret_refresh_interval
// is for long-running hosts of the library).
inline ResolverOptions one_shot() {
  ResolverOptions o;
  o.refresh_thread = false;
  return o;
}

// The main config: --config FILE, else sts::default_config_path ($STS_CONFIG, else the
// platform's default).
std::string config_path(const ParsedArgs& args, const Environment& env);

}  // namespace sts::cli
