// Substitution (DESIGN step 6): replaces handle scalars with cached values, all-or-nothing.
//
// Two phases. The first walks every document with the one handle walker (handle_sites.h),
// collects each handle scalar node (a YAML::Node copy shares the underlying node) and checks
// that its value is cached and can be written; a single problem returns before anything
// changes. The second assigns the values to the collected nodes. Collecting first also keeps
// aliases safe: a node reachable twice is replaced twice with the same value, and a secret value
// that itself looks like ENC[...] is never taken for a handle.
//
// A replaced scalar gets the non-specific tag "!" (what a quoted scalar has), so emitters and
// JSON converters can tell that it is a string even when the value reads like 42 or true.
// The temporary std::string used to hand the value to yaml-cpp is zeroed after use; the copy
// inside the node is the host's (documented in resolver.h).
#include "common/substitution.h"

#include "common/handle_sites.h"
#include "common/text.h"
#include "stsecrets/secure_buffer.h"

#include <algorithm>
#include <string>
#include <utility>

namespace sts {
namespace {

struct Target {
  YAML::Node node;
  std::string handle;
};

// Copies the cached value into `dest` via a zeroed temporary; false if it vanished meanwhile.
template <class Assign>
bool assign_value(const ValueLookup& cache, const std::string& handle, Assign&& assign) {
  return cache.with_value(handle, [&](std::string_view value) {
    std::string tmp(value);
    assign(tmp);
    secure_zero(tmp.data(), tmp.size());
  });
}

}  // namespace

Result<std::vector<std::string>> substitute_documents(std::vector<Document>& docs, const ValueLookup& cache) {
  std::vector<Target> targets;
  for (const auto& doc : docs) {
    // The scan already refused tagged handles, settings holding handles and over-deep documents.
    (void)walk_handle_sites(doc.root, WalkOptions{doc.origin, true, false}, [&](const HandleSite& site) {
      if (!site.tagged && !site.in_setting) targets.push_back(Target{site.node, std::string(site.handle)});
    });
  }
  std::vector<std::string> not_utf8;
  for (const auto& t : targets) {
    bool utf8 = true;
    if (!cache.with_value(t.handle, [&](std::string_view v) { utf8 = valid_utf8(v); })) {
      return make_error(Code::internal, "a secret was evicted while substituting (concurrent clear()); retry");
    }
    if (!utf8 && std::find(not_utf8.begin(), not_utf8.end(), t.handle) == not_utf8.end()) not_utf8.push_back(t.handle);
  }
  if (!not_utf8.empty()) return not_utf8;
  for (auto& t : targets) {
    assign_value(cache, t.handle, [&](const std::string& v) {
      t.node = v;
      t.node.SetTag("!");
    });
  }
  return not_utf8;
}

bool substitute_environment(Environment& env, const std::vector<HandleUse>& uses, const ValueLookup& cache) {
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
