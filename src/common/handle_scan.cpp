// Handle scanning (SPEC 1, stsecrets/handles.h): turns the handle sites of the one walker
// (handle_sites.h) and the environment into HandleUses and located errors, and routes each use to
// its backend. Every command and the Resolver call scan_inputs(), the only scan-and-merge.
#include "stsecrets/handles.h"

#include "common/handle_sites.h"
#include "common/platform_names.h"
#include "common/text.h"

#include <algorithm>

namespace sts {
namespace {

constexpr std::string_view kOpen = "ENC[";
constexpr std::string_view kEnvOrigin = "environment";
constexpr std::string_view kEnvPrefix = "STS_";

std::string hex_byte(unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("\\x") + kHex[c >> 4] + kHex[c & 0x0f];
}

Error setting_holds_handle(std::string_view origin, std::string_view key_path) {
  return make_error(Code::handle_invalid,
                    handle_location(origin, key_path) +
                        ": settings of stsecrets itself (secret_*, multi_secret_backends) cannot be ENC[] handles; "
                        "write the plain value (these settings configure the backends that resolve handles)");
}

Error tagged_handle(std::string_view origin, std::string_view key_path, std::string_view tag) {
  // The core schema's tags as written in a document: tag:yaml.org,2002:binary is !!binary.
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  const std::string shown = tag.starts_with(kCore) ? "!!" + std::string(tag.substr(kCore.size())) : std::string(tag);
  return make_error(Code::handle_invalid,
                    handle_location(origin, key_path) + ": the handle carries the YAML tag \"" + quote_text(shown, 64) + "\"" +
                        ", so it would not be resolved; remove the tag (or use !!str) to resolve it, or quote the "
                        "text differently if it is not a secret");
}

// The environment variables that configure stsecrets itself (STS_SECRET_*, STS_MULTI_SECRET_BACKENDS),
// compared as the platform compares names: on Windows sts_secret_backend_command is one of them.
bool is_setting_variable(std::string_view name) {
  const std::string compared = env_name_key(name);
  return compared.starts_with(kEnvPrefix) && is_setting_key(ascii_lower(compared.substr(kEnvPrefix.size())));
}

void route_uses(ScanResult& result, const Config& config) {
  auto out = result.uses.begin();
  for (auto& use : result.uses) {
    auto route = route_handle(config, use.handle);
    if (!route) {
      // Fail closed (config_no_backend) is the Resolver's error, raised once for the whole run;
      // an unknown backend name is this use's own mistake.
      if (route.error().code == Code::backend_unknown) {
        result.errors.push_back(
            make_error(Code::backend_unknown, handle_location(use.origin, use.key_path) + ": " + route.error().message));
        continue;
      }
    } else {
      use.backend = route->backend->name;
    }
    if (&*out != &use) *out = std::move(use);
    ++out;
  }
  result.uses.erase(out, result.uses.end());
}

}  // namespace

std::optional<std::string_view> parse_handle(std::string_view scalar) noexcept {
  const auto first = scalar.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  const auto last = scalar.find_last_not_of(" \t");
  const std::string_view trimmed = scalar.substr(first, last - first + 1);
  if (trimmed.size() < kOpen.size() + 1) return std::nullopt;
  if (!trimmed.starts_with(kOpen) || trimmed.back() != ']') return std::nullopt;
  return trimmed.substr(kOpen.size(), trimmed.size() - kOpen.size() - 1);
}

Status validate_handle(std::string_view handle, std::string_view origin, std::string_view key_path) {
  if (handle.empty()) {
    return make_error(Code::handle_invalid,
                      handle_location(origin, key_path) +
                          ": empty handle ENC[]; write the secret's name between the brackets, e.g. ENC[db_password]");
  }
  if (handle.size() > kMaxHandleBytes) {
    return make_error(Code::handle_invalid,
                      handle_location(origin, key_path) + ": handle is " + std::to_string(handle.size()) +
                          " bytes long, more than the maximum of " + std::to_string(kMaxHandleBytes) +
                          "; use a shorter secret name");
  }
  for (std::size_t i = 0; i < handle.size(); ++i) {
    const auto c = static_cast<unsigned char>(handle[i]);
    if (c < 0x20 || c == 0x7f) {
      return make_error(Code::handle_invalid,
                        handle_location(origin, key_path) + ": handle contains the control character " + hex_byte(c) +
                            " at byte " + std::to_string(i) +
                            "; handles must not contain control characters (U+0000-U+001F, U+007F), remove it");
    }
  }
  return ok();
}

ScanResult scan_document(const YAML::Node& doc, std::string_view origin) {
  ScanResult result;
  Status walked = walk_handle_sites(doc, WalkOptions{origin, true}, [&](const HandleSite& site) {
    if (site.in_setting) {
      result.errors.push_back(setting_holds_handle(origin, site.key_path));
    } else if (site.tagged) {
      result.errors.push_back(tagged_handle(origin, site.key_path, site.node.Tag()));
    } else if (Status valid = validate_handle(site.handle, origin, site.key_path); !valid) {
      result.errors.push_back(std::move(valid).error());
    } else {
      result.uses.push_back(
          HandleUse{HandleUse::Kind::yaml, std::string(site.handle), std::string(origin), site.key_path, {}});
    }
  });
  if (!walked) result.errors.push_back(std::move(walked).error());
  return result;
}

ScanResult scan_environment(const Environment& env, EnvScan mode) {
  ScanResult result;
  if (mode == EnvScan::none) return result;
  for (const auto& [name, value] : env) {
    const bool sts_name = name.size() > kEnvPrefix.size() && env_name_key(name).starts_with(kEnvPrefix);
    if (mode == EnvScan::sts_prefix && !sts_name) continue;
    const auto handle = parse_handle(value);
    if (!handle) continue;
    if (is_setting_variable(name)) {
      result.errors.push_back(setting_holds_handle(kEnvOrigin, name));
      continue;
    }
    Status valid = validate_handle(*handle, kEnvOrigin, name);
    if (!valid) {
      result.errors.push_back(std::move(valid).error());
      continue;
    }
    result.uses.push_back(HandleUse{HandleUse::Kind::env, std::string(*handle), std::string(kEnvOrigin), name, {}});
  }
  return result;
}

ScanResult scan_inputs(const std::vector<Document>& docs, const Environment* env, EnvScan mode,
                       const Config* config) {
  ScanResult all;
  auto merge = [&all](ScanResult&& r) {
    all.uses.insert(all.uses.end(), std::make_move_iterator(r.uses.begin()), std::make_move_iterator(r.uses.end()));
    all.errors.insert(all.errors.end(), std::make_move_iterator(r.errors.begin()),
                      std::make_move_iterator(r.errors.end()));
  };
  for (const auto& doc : docs) merge(scan_document(doc.root, doc.origin));
  if (env != nullptr) merge(scan_environment(*env, mode));
  if (config != nullptr) route_uses(all, *config);
  return all;
}

std::vector<std::string> unique_handles(const std::vector<HandleUse>& uses) {
  std::vector<std::string> out;
  out.reserve(uses.size());
  for (const auto& use : uses) out.push_back(use.handle);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace sts
