// Config discovery and YAML loading for the stsecrets command (inputs.h).
#include "cli/inputs.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sts::cli {

std::string main_config_path(const ParsedArgs& args, const Environment& env) {
  if (auto c = args.value("config")) return *c;
  auto it = env.find("STS_CONFIG");
  if (it != env.end() && !it->second.empty()) return it->second;
  return kDefaultConfigPath;
}

Result<Document> load_document(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return make_error(Code::config_unreadable, "cannot read " + path + ": " + std::strerror(err), err);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    int err = errno;
    return make_error(Code::config_unreadable, "cannot read " + path + ": " + std::strerror(err), err);
  }
  try {
    YAML::Node root = YAML::Load(text.str());
    return Document{path, root};
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's fixed description; the mark gives the place. Neither quotes the text.
    return make_error(Code::config_unreadable, path + " is not valid YAML: line " + std::to_string(e.mark.line + 1) +
                                                   ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<std::vector<Document>> load_documents(const std::vector<std::string>& paths) {
  std::vector<Document> docs;
  std::string errors;
  Code code = Code::config_unreadable;
  for (const auto& p : paths) {
    auto d = load_document(p);
    if (!d) {
      if (!errors.empty()) errors += '\n';
      errors += d.error().message;
      code = d.error().code;
      continue;
    }
    docs.push_back(std::move(*d));
  }
  if (!errors.empty()) return make_error(code, std::move(errors));
  return docs;
}

}  // namespace sts::cli
