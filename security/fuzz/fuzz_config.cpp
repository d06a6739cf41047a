// libFuzzer target for config loading (src/common/config.cpp, SPEC 2).
//
// Input: a YAML main config, optionally followed by a line "#ENV" and NAME=VALUE lines that
// become the environment (so STS_SECRET_* overrides are fuzzed too).
//
// Besides crashes and sanitizer findings it aborts when
//   - an error message spans lines or carries a raw control character;
//   - an accepted config breaks an invariant of BackendConfig: timeout > 0, output_max_size in
//     1..1 GiB, sha256 empty or 64 lower-case hex digits, command/audit_file/file_root empty or
//     absolute, not both command and type, type empty or "file" with a root.
#include "fuzz_support.h"
#include "stsecrets/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void fail(const char* why) {
  std::fprintf(stderr, "fuzz_config invariant: %s\n", why);
  std::abort();
}

bool empty_or_absolute(const std::string& p) { return p.empty() || p[0] == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto marker = input.find("\n#ENV\n");
  const std::string yaml = input.substr(0, marker);
  const sts::Environment env =
      marker == std::string::npos ? sts::Environment{} : sts::fuzz::parse_env_lines(std::string_view(input).substr(marker + 6));

  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception&) {
    return 0;
  }
  auto cfg = sts::load_config(root, env, "fuzz.yaml");
  if (!cfg) {
    if (sts::fuzz::has_control(cfg.error().message)) fail("control character in an error message");
    return 0;
  }
  if (cfg->timeout.count() <= 0) fail("timeout <= 0");
  if (cfg->refresh_interval.count() < 0) fail("refresh_interval < 0");
  if (cfg->output_max_size == 0 || cfg->output_max_size > 1024u * 1024 * 1024) fail("output_max_size out of range");
  if (!cfg->sha256.empty()) {
    if (cfg->sha256.size() != 64 || cfg->sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
      fail("sha256 not normalised");
    }
  }
  if (!empty_or_absolute(cfg->command) || !empty_or_absolute(cfg->audit_file) || !empty_or_absolute(cfg->file_root)) {
    fail("relative path accepted");
  }
  if (!cfg->command.empty() && !cfg->backend_type.empty()) fail("command and type both set");
  if (!cfg->backend_type.empty() && (cfg->backend_type != "file" || cfg->file_root.empty())) fail("bad backend type");
  return 0;
}
