// Command-line parsing (args.h). A single `-` is a positional; `--` ends the options.
#include "args.h"

namespace sts::cli {
namespace {

const OptionSpec* find_long(std::span<const OptionSpec> specs, std::string_view name) {
  for (const auto& s : specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const OptionSpec* find_short(std::span<const OptionSpec> specs, char c) {
  for (const auto& s : specs) {
    if (s.short_name != 0 && s.short_name == c) return &s;
  }
  return nullptr;
}

Error usage_error(std::string_view command, const std::string& what) {
  return make_error(Code::usage, what + "; " + help_hint(command));
}

}  // namespace

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string help_hint(std::string_view command) {
  if (command.empty()) return "run 'stsecrets --help'";
  return "run 'stsecrets " + std::string(command) + " --help'";
}

Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const OptionSpec> specs,
                              std::string_view command, ParseMode mode) {
  ParsedArgs out;
  const std::string where = command.empty() ? std::string("stsecrets") : "'" + std::string(command) + "'";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positionals.insert(out.positionals.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (mode == ParseMode::stop_at_positional) {
        out.positionals.insert(out.positionals.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
        break;
      }
      out.positionals.push_back(arg);
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    std::string shown;
    if (arg[1] == '-') {
      std::string_view body = std::string_view(arg).substr(2);
      std::size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      if (eq != std::string_view::npos) inline_value = std::string(body.substr(eq + 1));
      spec = find_long(specs, name);
      shown = "--" + std::string(name);
    } else {
      // -o VALUE or -oVALUE
      spec = find_short(specs, arg[1]);
      shown = arg.substr(0, 2);
      if (arg.size() > 2) inline_value = arg.substr(2);
    }
    if (spec == nullptr) return usage_error(command, "unknown option " + shown + " for " + where);
    if (!spec->takes_value) {
      if (inline_value) return usage_error(command, "option " + shown + " takes no value");
      out.options[std::string(spec->name)].emplace_back();
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return usage_error(command, "option " + shown + " needs a value");
      inline_value = args[++i];
    }
    out.options[std::string(spec->name)].push_back(std::move(*inline_value));
  }
  return out;
}

}  // namespace sts::cli
