// File: cli/inputs.h
//
// What check, handles and resolve read before they act: the main config (--config, else
// $STS_CONFIG, else the platform default) as a document and as a typed Config, plus each FILE.
//
//   auto in = load_inputs(*parsed, env);
//   if (!in) return fail(in.error());
//   if (!in->config) return fail(in->config.error());   // handles lists even without a valid config
//
// Thread-safety: pure functions of the file system.
#pragma once

#include "args.h"

#include "stsecrets/config.h"
#include "stsecrets/documents.h"

#include <string>
#include <vector>

namespace sts::cli {

struct Inputs {
  std::string main_config;        // its path
  std::vector<Document> docs;     // the main config first, then every FILE
  Result<Config> config;          // parsed from docs[0]; `file` set to main_config
};

// Errors: the documents that cannot be read or parsed (all of them, one line each).
Result<Inputs> load_inputs(const ParsedArgs& args, const Environment& env);

}  // namespace sts::cli
