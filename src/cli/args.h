// File: cli/args.h
//
// Command-line parsing for the stsecrets command: long options (`--name VALUE`, `--name=VALUE`),
// short options (`-o VALUE`), flags, positionals and `--`. Nothing here knows what a command does.
//
//   static constexpr OptionSpec kSpecs[] = {{"config", 0, true}, {"json", 0, false}};
//   auto args = parse_args(argv_tail, kSpecs, "resolve", ParseMode::options_anywhere);
//   if (!args) return fail(args.error());
//   std::string config = args->value("config");
//
// Thread-safety: pure functions.
#pragma once

#include "stsecrets/error.h"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sts::cli {

struct OptionSpec {
  std::string_view name;    // long name without the dashes, e.g. "output-dir"
  char short_name = 0;      // e.g. 'o'; 0 = none
  bool takes_value = false; // true: `--name VALUE` / `--name=VALUE`; false: a flag
};

enum class ParseMode {
  options_anywhere,     // options and positionals may mix (handles, resolve, ...)
  stop_at_positional,   // the first positional and everything after it are positionals (exec)
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>, std::less<>> options;  // name -> values (flags: {""})
  std::vector<std::string> positionals;

  bool has(std::string_view name) const { return options.find(name) != options.end(); }
  // The last value given for name, or nullopt.
  std::optional<std::string> value(std::string_view name) const;
};

// Errors are Code::usage naming the option and the command, with a hint to run `--help`.
Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const OptionSpec> specs,
                              std::string_view command, ParseMode mode);

// The usage hint appended to every usage error: "run 'stsecrets <command> --help'".
std::string help_hint(std::string_view command);

}  // namespace sts::cli
