// libFuzzer target for config loading (src/common/config.cpp, SPEC 2 and SPEC 8) and routing.
//
// Input: a YAML main config, optionally followed by a line "#ENV" and NAME=VALUE lines that
// become the environment (so STS_* overrides, STS_MULTI_SECRET_BACKENDS included, are fuzzed
// too), optionally followed by a line "#HANDLES" and one handle per line, each routed through
// route_handle() when the config loads.
//
// A secret marker is planted where an agent config keeps values that may be secrets and that
// stsecrets never has a reason to quote: a top-level non-setting key, a nested one, and a
// non-STS environment variable. The input is loaded twice, with two different markers: a
// message that holds the marker of its own run but not in the other run's message quotes the
// planted value (the fuzzer's own bytes, which may well spell a marker through YAML escapes, are
// the same in both runs, so they cannot cause this).
//
// Besides crashes and sanitizer findings it aborts when
//   - an error message spans lines or carries a raw control character;
//   - an error message quotes a planted secret, or the planted values change the outcome;
//   - an accepted config breaks an invariant: every backend (default and named) has a type and
//     the settings that type needs (an absolute command, a timeout > 0, an output cap in
//     1..1 GiB, a sha256 empty or 64 lower-case hex digits; an absolute root or path where the
//     type takes one; valid variable names), every named backend is filed under its own name,
//     which is a usable name;
//   - route_handle sends "name;key" anywhere but to the backend `name` with key "key", or
//     fails with a code other than backend_unknown / config_no_backend.
#include "fuzz_support.h"
#include "stsecrets/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kMarkerA = "PLANTED-SECRET-7Qx";
constexpr std::string_view kMarkerB = "PLANTED-SECRET-8Zy";

void fail(const char* why) {
  std::fprintf(stderr, "fuzz_config invariant: %s\n", why);
  std::abort();
}

void check_message(const std::string& message) {
  if (sts::fuzz::has_control(message)) fail("control character in an error message");
}

bool absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }

bool variable_name(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool backend_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

void check_backend(const sts::Backend& b) {
  if (b.where.empty()) fail("backend without a location for messages");
  switch (b.type) {
    case sts::BackendType::executable:
      if (!absolute(b.exec.command)) fail("executable backend without an absolute command");
      if (b.exec.timeout.count() <= 0) fail("timeout <= 0");
      if (b.exec.output_max_size == 0 || b.exec.output_max_size > 1024u * 1024 * 1024) fail("output_max_size out of range");
      if (!b.exec.sha256.empty() &&
          (b.exec.sha256.size() != 64 || b.exec.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
        fail("sha256 not normalised");
      }
      for (const auto& v : b.exec.environment) {
        if (!variable_name(v)) fail("environment name accepted that is not a variable name");
      }
      break;
    case sts::BackendType::file:
    case sts::BackendType::docker_secrets:
      if (!absolute(b.provider.root)) fail("folder provider without an absolute root");
      break;
    case sts::BackendType::systemd_credentials:
      break;   // root comes from CREDENTIALS_DIRECTORY, checked when used
    case sts::BackendType::file_json:
    case sts::BackendType::file_yaml:
      if (!absolute(b.provider.path)) fail("document provider without an absolute path");
      break;
    case sts::BackendType::env:
      for (const auto& k : b.provider.allowed_keys) {
        if (!variable_name(k)) fail("allowed_keys holds something that is not a variable name");
      }
      break;
  }
}

// Loads the config with `marker` planted at the places a secret would sit.
sts::Result<sts::Config> load_planted(const std::string& yaml, sts::Environment env, std::string_view marker) {
  // A fresh tree per run: planting edits it.
  YAML::Node root;
  try {
    root.reset(YAML::Load(yaml));
  } catch (const YAML::Exception&) {
    fail("the same YAML failed to parse the second time");
  }
  if (root.IsNull() || !root.IsDefined()) root.reset(YAML::Node(YAML::NodeType::Map));
  if (root.IsMap()) {
    try {
      root["sts_fuzz_planted"] = std::string(marker);
      root["sts_fuzz_nested"]["password"] = std::string(marker);
    } catch (const YAML::Exception&) {
      // The input already has sts_fuzz_nested as a scalar or list: plant at the top only.
    }
  }
  env["DB_PASSWORD"] = std::string(marker);
  return sts::load_config(root, env, "fuzz.yaml");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto env_at = input.find("\n#ENV\n");
  const auto handles_at = input.find("\n#HANDLES\n");
  const std::string yaml = input.substr(0, std::min(env_at, handles_at));
  std::string env_text;
  if (env_at != std::string::npos) {
    const std::size_t from = env_at + 6;
    env_text = input.substr(from, handles_at == std::string::npos || handles_at < from ? std::string::npos : handles_at - from);
  }
  const std::string handles_text = handles_at == std::string::npos ? std::string() : input.substr(handles_at + 10);
  const sts::Environment env = sts::fuzz::parse_env_lines(env_text);

  try {
    (void)YAML::Load(yaml);
  } catch (const YAML::Exception&) {
    return 0;   // not YAML: the loader's syntax errors are documents.cpp's, fuzzed elsewhere
  }
  auto cfg = load_planted(yaml, env, kMarkerA);
  auto other = load_planted(yaml, env, kMarkerB);
  if (cfg.has_value() != other.has_value()) fail("the planted values changed the outcome");
  if (!cfg) {
    const std::string& a = cfg.error().message;
    const std::string& b = other.error().message;
    check_message(a);
    if ((a.find(kMarkerA) != std::string::npos && b.find(kMarkerA) == std::string::npos) ||
        (b.find(kMarkerB) != std::string::npos && a.find(kMarkerB) == std::string::npos)) {
      fail("an error message quotes a planted secret");
    }
    return 0;
  }
  if (cfg->refresh_interval.count() < 0) fail("refresh_interval < 0");
  if (!cfg->audit_file.empty() && !absolute(cfg->audit_file)) fail("relative audit file accepted");
  if (cfg->default_backend) {
    if (!cfg->default_backend->name.empty()) fail("the default backend has a name");
    check_backend(*cfg->default_backend);
  }
  for (const auto& [name, b] : cfg->named) {
    if (b.name != name) fail("a named backend is filed under another name");
    if (!backend_name(name)) fail("a backend name that ENC[name;key] cannot spell");
    check_backend(b);
  }

  // Routing: each handle line, and "name;key" for each configured name.
  std::vector<std::string> handles = {"k", ";", "x;y"};
  for (const auto& [name, b] : cfg->named) handles.push_back(name + ";some/key");
  std::size_t start = 0;
  while (start < handles_text.size() && handles.size() < 64) {
    std::size_t end = handles_text.find('\n', start);
    if (end == std::string::npos) end = handles_text.size();
    handles.push_back(handles_text.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& h : handles) {
    auto route = sts::route_handle(*cfg, h);
    if (!route) {
      const sts::Code c = route.error().code;
      if (c != sts::Code::backend_unknown && c != sts::Code::config_no_backend) fail("route_handle: unexpected code");
      check_message(route.error().message);
      continue;
    }
    if (route->backend == nullptr) fail("route_handle: no backend");
    const auto semi = h.find(';');
    if (!cfg->named.empty() && semi != std::string::npos) {
      if (route->backend->name != h.substr(0, semi)) fail("route_handle: wrong backend");
      if (route->key != std::string_view(h).substr(semi + 1)) fail("route_handle: wrong key");
    } else {
      if (route->backend != &*cfg->default_backend) fail("route_handle: not the default backend");
      if (route->key != h) fail("route_handle: key changed");
    }
  }
  return 0;
}
