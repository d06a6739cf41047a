// The SHA-256 that check_executable computes (SPEC 5, the secret_backend_command_sha256 pin)
// for sizes around the hash's 64-byte blocks and the check's 64 KiB read chunks, compared with
// sha256sum(1). The hash moved from OpenSSL's EVP interface to SHA256_Init/Update/Final (no
// library-context start-up per process, bench/README.md): this pins down that every byte still
// counts, in order, whatever the chunking.
#include "support/test_support.h"

#include "common/executable_check.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

std::string sha256sum(const std::string& path) {
  auto r = sts::test::run_command({"/usr/bin/sha256sum", path});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

// A #! script (so the check accepts it) padded with a comment to exactly `size` bytes; the
// padding cycles through every byte value a comment line may hold, so no chunk repeats another.
std::string script_of_size(std::size_t size) {
  std::string s = "#!/bin/sh\n#";
  for (std::size_t i = 0; s.size() < size; ++i) s += static_cast<char>(' ' + static_cast<char>(i % 94));
  s.resize(size);
  return s;
}

}  // namespace

TEST_CASE("executable check: SHA-256 pin across hash blocks and 64 KiB read chunks") {
  sts::test::TempDir dir;
  const std::vector<std::size_t> sizes{16, 55, 56, 63, 64, 65, 4096, 65535, 65536, 65537, 131072, 200003};
  for (const std::size_t size : sizes) {
    CAPTURE(size);
    const std::string path = dir / ("backend-" + std::to_string(size));
    sts::test::write_file(path, script_of_size(size), 0700);
    const std::string want = sha256sum(path);
    // Unpinned: the hash is still computed and reported.
    auto exe = sts::platform::check_executable({path, false, ""});
    REQUIRE(exe);
    CHECK(exe->sha256() == want);
    // Pinned to sha256sum's answer: accepted.
    auto pinned = sts::platform::check_executable({path, false, want});
    REQUIRE(pinned);
    // Pinned to anything else: rejected, naming both digests.
    std::string other = want;
    other[63] = other[63] == '0' ? '1' : '0';
    auto rejected = sts::platform::check_executable({path, false, other});
    REQUIRE_FALSE(rejected);
    CHECK(rejected.error().code == sts::Code::exec_rejected);
    CHECK_THAT(rejected.error().message, Catch::Matchers::Contains("sha256 of " + path + " is " + want + ", want " + other));
  }
}
