// Locked memory (VirtualLock) under the secure arena, and owner-only files.
#include "common/memory_lock.h"
#include "common/private_file.h"
#include "stsecrets/secure_buffer.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>

#include <fstream>

using namespace sts;
using namespace sts::wintest;

TEST_CASE("map_locked gives zeroed, locked pages", "[memory]") {
  auto size = platform::page_size() * 4;
  auto r = platform::map_locked(size);
  REQUIRE(r.base != nullptr);
  CHECK(r.size == size);
  CHECK(r.locked);
  auto* p = static_cast<unsigned char*>(r.base);
  for (std::size_t i = 0; i < size; ++i) REQUIRE(p[i] == 0);
  p[10] = 42;
  secure_zero(p, size);
  CHECK(p[10] == 0);
  platform::unmap_locked(r);
}

TEST_CASE("the arena keeps secrets in locked memory", "[memory]") {
  SecureBuffer b("a secret value");
  auto stats = arena_stats();
  CHECK(stats.locked_bytes > 0);
  CHECK_FALSE(stats.degraded);
  CHECK(b.view() == "a secret value");
}

namespace {
std::string read_all(const std::string& path) {
  HANDLE h = ::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) return "<cannot open>";
  std::string out(1 << 16, '\0');
  DWORD n = 0;
  ::ReadFile(h, out.data(), static_cast<DWORD>(out.size()), &n, nullptr);
  ::CloseHandle(h);
  out.resize(n);
  return out;
}
}  // namespace

TEST_CASE("append_private creates an owner-only file and appends", "[files]") {
  TempDir tmp;
  std::string p = tmp / "audit.log";
  REQUIRE(platform::append_private(p, "one\n"));
  REQUIRE(platform::append_private(p, "two\n"));
  CHECK(read_all(p) == "one\ntwo\n");
  std::string sddl = get_sddl(p);
  INFO(sddl);
  auto info = win::parse_sddl(win::to_wide(sddl));
  REQUIRE(info.has_value());
  for (const auto& ace : info->aces) {
    if (!ace.allow()) continue;
    bool trusted = ace.sid == win::current_user_sid() || ace.sid == win::kSidSystem;  // Wine adds SYSTEM
    CHECK(trusted);
  }
}

TEST_CASE("append_private refuses an existing file that Everyone can read", "[files]") {
  TempDir tmp;
  std::string p = tmp / "audit.log";
  write_file(p, "old\n");
  REQUIRE(set_sddl(p, "D:P(A;;FA;;;{U})(A;;FR;;;WD)"));
  auto st = platform::append_private(p, "new\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::config_invalid);
  CHECK_THAT(st.error().message, Catch::Contains("icacls"));
}

TEST_CASE("write_private_atomic replaces the file through a temporary", "[files]") {
  TempDir tmp;
  std::string p = tmp / "out.yaml";
  REQUIRE(platform::write_private_atomic(p, "first"));
  REQUIRE(platform::write_private_atomic(p, "second"));
  CHECK(read_all(p) == "second");
}
