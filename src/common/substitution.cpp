// Substitution (DESIGN step 6): replaces handle scalars with cached values, all-or-nothing.
//
// Two phases. The first walks every document, collects each handle scalar node (a YAML::Node
// copy shares the underlying node) and checks that its handle is cached; a single miss returns
// false before anything changes. The second assigns the values to the collected nodes. Collecting
// first also keeps aliases safe: a node reachable twice is replaced twice with the same value, and
// a secret value that itself looks like ENC[...] is never taken for a handle.
//
// A replaced scalar gets the non-specific tag "!" (what a quoted scalar has), so emitters and
// JSON converters can tell that it is a string even when the value reads like 42 or true.
// The temporary std::string used to hand the value to yaml-cpp is zeroed after use; the copy
// inside the node is the host's (documented in resolver.h).
#include "substitution.h"

#include "stsecrets/handles.h"
#include "stsecrets/secure_buffer.h"

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>

namespace sts {
namespace {

constexpr std::size_t kMaxDepth = 512;  // as in handle_scan.cpp; deeper documents fail the scan

struct Target {
  YAML::Node node;
  std::string handle;
};

bool is_handle_scalar(const YAML::Node& node, std::string& handle) {
  if (!node.IsScalar()) return false;
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!" && tag != "tag:yaml.org,2002:str") return false;
  const auto h = parse_handle(node.Scalar());
  if (!h) return false;
  handle.assign(*h);
  return true;
}

// Collects the handle scalars under node; false when one is not cached or the walk is too deep.
bool collect(const YAML::Node& node, std::size_t depth, const SecretCache& cache, std::vector<Target>& out) {
  if (depth > kMaxDepth) return false;
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string handle;
      if (!is_handle_scalar(node, handle)) return true;
      if (!cache.contains(handle)) return false;
      out.push_back(Target{node, std::move(handle)});
      return true;
    }
    case YAML::NodeType::Sequence:
      for (const auto& item : node) {
        if (!collect(item, depth + 1, cache, out)) return false;
      }
      return true;
    case YAML::NodeType::Map:
      for (const auto& kv : node) {
        if (!collect(kv.second, depth + 1, cache, out)) return false;
      }
      return true;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return true;
  }
  return true;
}

// Copies the cached value into `dest` via a zeroed temporary; false if it vanished meanwhile.
template <class Assign>
bool assign_value(const SecretCache& cache, const std::string& handle, Assign&& assign) {
  return cache.with_value(handle, [&](std::string_view value) {
    std::string tmp(value);
    assign(tmp);
    secure_zero(tmp.data(), tmp.size());
  });
}

}  // namespace

bool substitute_documents(std::vector<Document>& docs, const SecretCache& cache) {
  std::vector<Target> targets;
  for (const auto& doc : docs) {
    if (!collect(doc.root, 0, cache, targets)) return false;
  }
  // A value evicted between the phases would break all-or-nothing; the caller holds the cache
  // for the whole resolve, so this is a consistency check rather than an expected path.
  for (const auto& t : targets) {
    if (!cache.contains(t.handle)) return false;
  }
  for (auto& t : targets) {
    assign_value(cache, t.handle, [&](const std::string& v) {
      t.node = v;
      if (t.node.Tag() == "?" || t.node.Tag().empty()) t.node.SetTag("!");
    });
  }
  return true;
}

bool substitute_environment(Environment& env, const std::vector<HandleUse>& uses, const SecretCache& cache) {
  for (const auto& use : uses) {
    if (use.kind != HandleUse::Kind::env) continue;
    if (!cache.contains(use.handle)) return false;
    const auto it = env.find(use.key_path);
    if (it == env.end()) return false;
    const auto h = parse_handle(it->second);
    if (!h || *h != use.handle) return false;   // the variable changed since the scan
  }
  for (const auto& use : uses) {
    if (use.kind != HandleUse::Kind::env) continue;
    auto it = env.find(use.key_path);
    assign_value(cache, use.handle, [&](const std::string& v) { it->second.assign(v); });
  }
  return true;
}

}  // namespace sts
