// File: cli/inputs.h
//
// What a command reads before it calls the library: which main config file (--config, else
// $STS_CONFIG, else /etc/stackstate-agent/stackstate.yaml), the typed backend config with STS_*
// overrides (sts::load_config_file), and YAML documents to scan or resolve.
//
//   auto env = sts::current_environment();
//   std::string path = main_config_path(args, env);
//   auto cfg = sts::load_config_file(path, env);
//   auto doc = load_document(path);
//
// Thread-safety: pure functions of the file system.
#pragma once

#include "cli/args.h"
#include "stsecrets/config.h"
#include "stsecrets/error.h"
#include "stsecrets/resolver.h"

#include <string>
#include <vector>

namespace sts::cli {

constexpr const char* kDefaultConfigPath = "/etc/stackstate-agent/stackstate.yaml";

// --config FILE, else $STS_CONFIG (when non-empty), else kDefaultConfigPath.
std::string main_config_path(const ParsedArgs& args, const Environment& env);

// Reads and parses one YAML file (its first document). Code::config_unreadable with the OS
// reason or the YAML line and column.
Result<Document> load_document(const std::string& path);
// Every file, in order; all errors are collected, one line each.
Result<std::vector<Document>> load_documents(const std::vector<std::string>& paths);

}  // namespace sts::cli
