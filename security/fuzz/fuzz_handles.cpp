// libFuzzer target for handle scanning (src/common/handle_scan.cpp, SPEC 1).
//
// Input: a YAML document. Lines of the form NAME=VALUE are also fed to scan_environment, and the
// whole input to parse_handle.
//
// Besides crashes and sanitizer findings it aborts when
//   - parse_handle returns a view outside its input, or one for a value not shaped ENC[...];
//   - a reported use holds a handle that validate_handle rejects, or that is not a handle;
//   - an error message spans lines or carries a raw control character;
//   - unique_handles is not sorted and unique.
#include "fuzz_support.h"
#include "stsecrets/handles.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void fail(const char* why) {
  std::fprintf(stderr, "fuzz_handles invariant: %s\n", why);
  std::abort();
}

void check_message(const std::string& m) {
  if (sts::fuzz::has_control(m)) fail("control character in an error message");
}

void check_result(const sts::ScanResult& r) {
  for (const auto& e : r.errors) check_message(e.message);
  for (const auto& u : r.uses) {
    if (!sts::validate_handle(u.handle, u.origin, u.key_path)) fail("a use holds an invalid handle");
  }
  const auto unique = sts::unique_handles(r.uses);
  if (!std::is_sorted(unique.begin(), unique.end()) ||
      std::adjacent_find(unique.begin(), unique.end()) != unique.end()) {
    fail("unique_handles is not sorted and unique");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  if (const auto h = sts::parse_handle(input)) {
    if (h->data() < input.data() + 4 || h->data() + h->size() + 1 > input.data() + input.size()) {
      fail("parse_handle view outside its input");
    }
    if (std::string_view(h->data() - 4, 4) != "ENC[" || h->data()[h->size()] != ']') fail("not ENC[...]");
  }

  const sts::Environment env = sts::fuzz::parse_env_lines(input);
  check_result(sts::scan_environment(env, sts::EnvScan::sts_prefix));
  check_result(sts::scan_environment(env, sts::EnvScan::all));

  YAML::Node doc;
  try {
    doc = YAML::Load(input);
  } catch (const YAML::Exception&) {
    return 0;
  }
  check_result(sts::scan_document(doc, "fuzz.yaml"));
  return 0;
}
