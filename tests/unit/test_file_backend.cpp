// The file backend's reader (shared by secret_backend_type: file and helper read-file).
#include "common/file_backend.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace {
bool one_line(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}
}  // namespace

TEST_CASE("read_file_secret: values, and per-handle errors with one-line messages") {
  sts::test::TempDir dir;
  sts::test::write_file(dir / "a", "value-a");
  REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
  sts::test::write_file(dir / "sub/b", "value-b");
  REQUIRE(::symlink("/etc/hostname", (dir / "out").c_str()) == 0);
  sts::test::write_file(dir / "big", std::string(sts::kMaxFileSecretBytes + 1, 'x'));

  auto a = sts::read_file_secret(dir.path(), "a");
  REQUIRE(a);
  CHECK(a->view() == "value-a");
  auto b = sts::read_file_secret(dir.path(), "sub/b");
  REQUIRE(b);
  CHECK(b->view() == "value-b");

  struct Case {
    std::string handle;
    sts::Code code;
    std::string fragment;
  };
  const std::vector<Case> cases{
      {"missing", sts::Code::handle_missing, "no file"},
      {"../a", sts::Code::handle_backend_error, "\"..\" is not allowed"},
      {"sub/../a", sts::Code::handle_backend_error, "\"..\" is not allowed"},
      {"/etc/passwd", sts::Code::handle_backend_error, "absolute paths are not allowed"},
      {"out", sts::Code::handle_backend_error, "leads outside"},
      {"sub", sts::Code::handle_backend_error, "is a directory"},
      {"big", sts::Code::handle_backend_error, "is larger than 65536 bytes"},
      {std::string("a\x01" "b"), sts::Code::handle_missing, "a\\x01b"},
      {"", sts::Code::handle_backend_error, "empty name"},
      {std::string("a\0b", 3), sts::Code::handle_backend_error, "name contains a NUL byte"},
  };
  for (const auto& c : cases) {
    INFO("handle " << c.handle);
    auto r = sts::read_file_secret(dir.path(), c.handle);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    CHECK(one_line(r.error().message));
  }
}
