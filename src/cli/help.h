// File: cli/help.h
//
// The help texts of the stsecrets command, with examples: `stsecrets --help`,
// `stsecrets help <command>` and `stsecrets <command> --help` print these.
//
// Thread-safety: constant data.
#pragma once

#include <optional>
#include <string_view>

namespace sts::cli {

std::string_view main_help();
// nullopt for an unknown command.
std::optional<std::string_view> command_help(std::string_view command);

}  // namespace sts::cli
