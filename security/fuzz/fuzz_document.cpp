// libFuzzer target for the secrets-document lookups of the file.json and file.yaml providers
// (src/common/document_json.cpp, document_yaml.cpp; document_lookup.h).
//
// Input: a first line of keys separated by '|' (at most 8), then the document. Both lookups run
// on it. Besides crashes and sanitizer findings it aborts when
//   - an error message (the document's or a key's) spans lines or carries a raw control character;
//   - a key is lost (neither a value nor a failure) or is both;
//   - a value handed out is empty or holds U+0000.
//
// Build: one line in CMakeLists.txt here, `sts_add_fuzzer(fuzz_document fuzz_document.cpp)`;
// corpus in corpus/document/.
#include "common/document_lookup.h"
#include "fuzz_support.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void fail(const char* why) {
  std::fprintf(stderr, "fuzz_document invariant: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string key_line = nl == std::string::npos ? std::string() : input.substr(0, nl);
  const std::string document = nl == std::string::npos ? input : input.substr(nl + 1);
  std::vector<std::string> keys;
  for (std::size_t start = 0; start <= key_line.size() && keys.size() < 8;) {
    std::size_t end = key_line.find('|', start);
    if (end == std::string::npos) end = key_line.size();
    if (end > start) keys.push_back(key_line.substr(start, end - start));
    start = end + 1;
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

  for (const bool yaml : {false, true}) {
    auto r = yaml ? sts::lookup_yaml(document, keys, "doc") : sts::lookup_json(document, keys, "doc");
    if (!r) {
      if (sts::fuzz::has_control(r.error().message)) fail("control character in a document error");
      continue;
    }
    for (const auto& [key, error] : r->failures) {
      if (sts::fuzz::has_control(error.message)) fail("control character in a key error");
      if (r->values.count(key) != 0) fail("a key is both a value and a failure");
    }
    for (const auto& [key, value] : r->values) {
      if (value.empty() || value.view().find('\0') != std::string_view::npos) fail("an unusable value was handed out");
    }
    if (r->values.size() + r->failures.size() != keys.size()) fail("a key was lost");
  }
  return 0;
}
