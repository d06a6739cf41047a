// libFuzzer target: what `stsecrets helper read-file DIR` does with a request it did not write.
// The request parser (parse_request) must never crash or recurse, and every handle it accepts is
// then looked up under a fixed root by read_file_secret, which must never return anything but
// the files inside that root: not "..", not absolute paths, not a symlink that leads outside.
//
// Invariants (abort on violation):
//   - errors are one line (no raw control characters);
//   - a value is only ever the content of a file inside the root ("inside-<name>");
//   - the symlink "escape" (-> a file outside the root) never resolves.
#include "fuzz_support.h"
#include "common/file_backend.h"
#include "common/protocol.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

struct Root {
  std::string path;
  Root() {
    char tmpl[] = "/tmp/sts-fuzz-request-XXXXXX";
    std::string base = ::mkdtemp(tmpl);
    path = base + "/root";
    std::filesystem::create_directories(path + "/sub");
    std::ofstream(path + "/a") << "inside-a";
    std::ofstream(path + "/sub/b") << "inside-b";
    std::ofstream(base + "/outside") << "OUTSIDE";
    std::filesystem::create_symlink(base + "/outside", path + "/escape");
    std::filesystem::create_symlink("sub/b", path + "/link-in");
  }
};

void require(bool ok) {
  if (!ok) std::abort();
}


}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Root root;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto request = sts::parse_request(bytes);
  if (!request) {
    require(!sts::fuzz::has_control(request.error().message));
    return 0;
  }
  for (const auto& handle : *request) {
    auto value = sts::read_file_secret(root.path, handle);
    if (!value) {
      require(!sts::fuzz::has_control(value.error().message));
      continue;
    }
    const std::string_view v = value->view();
    require(v.substr(0, 7) == "inside-");
    require(v.find("OUTSIDE") == std::string_view::npos);
  }
  return 0;
}
