// The one YAML loader (stsecrets/documents.h): the main config and every file to resolve are
// read through platform::read_file (capped, never blocks on a FIFO) and parsed here.
#include "stsecrets/documents.h"

#include "common/file_io.h"
#include "common/text.h"

namespace sts {
namespace {

// Keeps the fixed part of a yaml-cpp message. Some messages end in input text after ": "
// ("unknown escape character: X", "bad YAML version: ..."), which could be config bytes.
std::string fixed_yaml_message(const std::string& msg) { return escape_controls(msg.substr(0, msg.find(": "))); }

}  // namespace

Result<YAML::Node> parse_yaml(std::string_view text, std::string_view origin) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where = escape_controls(origin) + ": not valid YAML";
    if (!e.mark.is_null()) {
      where += " at line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1);
    }
    return make_error(Code::config_unreadable, where + ": " + fixed_yaml_message(e.msg) + "; fix the syntax");
  }
}

Result<Document> load_document(const std::string& path) {
  auto text = platform::read_file(path, kMaxDocumentBytes);
  if (!text) return std::move(text).error();
  auto root = parse_yaml(*text, path);
  secure_zero(text->data(), text->size());   // a config may hold secrets pasted by mistake
  if (!root) return std::move(root).error();
  return Document{path, std::move(*root)};
}

Result<std::vector<Document>> load_documents(const std::vector<std::string>& paths) {
  std::vector<Document> docs;
  std::string errors;
  for (const auto& p : paths) {
    auto d = load_document(p);
    if (!d) {
      if (!errors.empty()) errors += '\n';
      errors += d.error().message;
      continue;
    }
    docs.push_back(std::move(*d));
  }
  if (!errors.empty()) return make_error(Code::config_unreadable, std::move(errors));
  return docs;
}

}  // namespace sts
