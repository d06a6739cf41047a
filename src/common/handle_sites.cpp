// The handle predicate and the only handle walk (handle_sites.h).
//
// Aliases are followed: a node reachable by two paths is visited under each, bounded by
// kMaxYamlDepth and kMaxYamlVisits so that alias cycles and "billion laughs" documents end in a
// clean Code::config_invalid error instead of a stack overflow or an endless walk.
#include "common/handle_sites.h"

#include "common/text.h"
#include "stsecrets/handles.h"

namespace sts {
namespace {

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

bool key_needs_quotes(std::string_view key) noexcept {
  if (key.empty()) return true;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || ch == '.' || ch == '[' || ch == ']' || ch == '"' || ch == '\\') return true;
  }
  return false;
}

void append_key(std::string& path, std::string_view key) {
  if (key_needs_quotes(key)) {
    path += "[\"";
    path += quote_text(key);
    path += "\"]";
    return;
  }
  if (!path.empty()) path += '.';
  path += key;
}

class Walker {
 public:
  Walker(const WalkOptions& options, const std::function<void(const HandleSite&)>& visit)
      : options_(options), visit_(visit) {}

  Status walk(const YAML::Node& node, std::size_t depth, bool in_setting) {
    if (++visits_ > kMaxYamlVisits) {
      return stop("more than " + std::to_string(kMaxYamlVisits) +
                  " values to scan (aliases expanded); split the document or use fewer aliases");
    }
    if (depth > kMaxYamlDepth) {
      return stop("nested deeper than " + std::to_string(kMaxYamlDepth) +
                  " levels (or an alias refers to itself); flatten the document");
    }
    switch (node.Type()) {
      case YAML::NodeType::Scalar: scalar(node, in_setting); return ok();
      case YAML::NodeType::Sequence: return sequence(node, depth, in_setting);
      case YAML::NodeType::Map: return map(node, depth, in_setting);
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return ok();
    }
    return ok();
  }

 private:
  Error stop(const std::string& why) const {
    return make_error(Code::config_invalid, handle_location(options_.origin, path_) + ": " + why);
  }

  void scalar(const YAML::Node& node, bool in_setting) {
    bool tagged = false;
    const auto handle = handle_of_scalar(node, &tagged);
    if (!handle) return;
    visit_(HandleSite{node, *handle, path_, tagged, in_setting});
  }

  Status sequence(const YAML::Node& node, std::size_t depth, bool in_setting) {
    std::size_t i = 0;
    for (const auto& item : node) {
      const std::size_t mark = path_.size();
      if (options_.key_paths) path_ += '[' + std::to_string(i) + ']';
      ++i;
      Status st = walk(item, depth + 1, in_setting);
      path_.resize(mark);
      if (!st) return st;
    }
    return ok();
  }

  Status map(const YAML::Node& node, std::size_t depth, bool in_setting) {
    for (const auto& kv : node) {
      const YAML::Node& key = kv.first;
      const std::size_t mark = path_.size();
      bool setting = in_setting;
      if (key.IsScalar()) {
        const std::string& k = key.Scalar();
        if (depth == 0 && options_.top_level_settings && is_setting_key(k)) setting = true;
        if (options_.key_paths) append_key(path_, k);
      } else if (options_.key_paths) {
        path_ += key.IsMap() ? "[<map>]" : key.IsSequence() ? "[<list>]" : "[<null>]";
      }
      Status st = walk(kv.second, depth + 1, setting);
      path_.resize(mark);
      if (!st) return st;
    }
    return ok();
  }

  const WalkOptions& options_;
  const std::function<void(const HandleSite&)>& visit_;
  std::string path_;
  std::size_t visits_ = 0;
};

}  // namespace

std::optional<std::string_view> handle_of_scalar(const YAML::Node& scalar, bool* tagged) {
  if (tagged != nullptr) *tagged = false;
  if (!scalar.IsScalar()) return std::nullopt;
  const auto handle = parse_handle(scalar.Scalar());
  if (!handle) return std::nullopt;
  const std::string& tag = scalar.Tag();
  // "" is a node built in code (node["pw"] = "ENC[x]"), which has no tag: treat it as plain.
  const bool plain = tag.empty() || tag == "?" || tag == "!" || tag == kStrTag;
  if (plain) return handle;
  // A tagged handle exists only for callers that asked to see it (to refuse it).
  if (tagged == nullptr) return std::nullopt;
  *tagged = true;
  return handle;
}

bool is_setting_key(std::string_view key) noexcept {
  return key.starts_with("secret_") || key == "multi_secret_backends";
}

std::string handle_location(std::string_view origin, std::string_view key_path) {
  std::string out;
  if (!origin.empty()) {
    out += escape_controls(origin);
    out += ": ";
  }
  out += key_path.empty() ? std::string("(document root)") : escape_controls(key_path);
  return out;
}

Status walk_handle_sites(const YAML::Node& root, const WalkOptions& options,
                         const std::function<void(const HandleSite&)>& visit) {
  Walker walker(options, visit);
  return walker.walk(root, 0, false);
}

}  // namespace sts
