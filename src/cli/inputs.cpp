// The inputs of check, handles and resolve (inputs.h).
#include "inputs.h"

#include "commands.h"

namespace sts::cli {

Result<Inputs> load_inputs(const ParsedArgs& args, const Environment& env) {
  const std::string main_config = config_path(args, env);
  std::vector<std::string> paths{main_config};
  paths.insert(paths.end(), args.positionals.begin(), args.positionals.end());
  auto docs = load_documents(paths);
  if (!docs) return std::move(docs).error();
  auto config = load_config(docs->front().root, env, main_config);
  if (config) config->file = main_config;
  return Inputs{main_config, std::move(*docs), std::move(config)};
}

}  // namespace sts::cli
