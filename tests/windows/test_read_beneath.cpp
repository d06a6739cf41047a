// platform::read_beneath on Windows (SPEC 7 `helper read-file` and the file backend): names
// that could leave the root or reach something else (.., drive letters, UNC, name:stream,
// device names) are refused before anything is opened; reparse points inside the root are
// refused; folders, too large and missing files get their per-handle errors.
#include "common/file_io.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>

#include <string>
#include <vector>

using namespace sts;
using namespace sts::wintest;

namespace {

constexpr std::size_t kMax = 64 * 1024;

struct Expect {
  std::string name;
  Code code;
  std::string fragment;
};

void expect_refused(const std::string& root, const std::vector<Expect>& cases) {
  for (const auto& c : cases) {
    INFO("name " << c.name);
    auto r = platform::read_beneath(root, c.name, kMax);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
}

// A symbolic link, or false when this Windows/Wine will not create one: no privilege, or Wine
// 8, whose CreateSymbolicLinkW returns TRUE and creates nothing.
bool make_symlink(const std::string& link, const std::string& target, bool folder) {
  const DWORD flags = (folder ? SYMBOLIC_LINK_FLAG_DIRECTORY : 0) | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE;
  if (!::CreateSymbolicLinkW(win::to_wide(link).c_str(), win::to_wide(target).c_str(), flags)) return false;
  const DWORD attrs = ::GetFileAttributesW(win::to_wide(link).c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}

}  // namespace

TEST_CASE("read beneath: values through both separators", "[beneath]") {
  TempDir tmp;
  write_file(tmp / "a", "value-a");
  make_dir(tmp / "sub");
  write_file(tmp / "sub\\b", "value-b");
  write_file(tmp / "exact", std::string(kMax, 'y'));
  for (const auto& [name, want] : std::vector<std::pair<std::string, std::string>>{
           {"a", "value-a"}, {"sub\\b", "value-b"}, {"sub/b", "value-b"}, {".\\sub\\\\b", "value-b"}, {"A", "value-a"}}) {
    INFO("name " << name);
    auto r = platform::read_beneath(tmp.path(), name, kMax);
    REQUIRE(r);
    CHECK(r->view() == want);
  }
  auto exact = platform::read_beneath(tmp.path(), "exact", kMax);
  REQUIRE(exact);
  CHECK(exact->size() == kMax);
}

TEST_CASE("read beneath: names that leave the root or reach something else are refused up front", "[beneath]") {
  TempDir tmp;
  write_file(tmp / "a", "value-a");
  const std::string root = tmp.path();
  expect_refused(root, {
      {"..\\a", Code::handle_backend_error, "\"..\" is not allowed; name a file under " + root},
      {"sub\\..\\a", Code::handle_backend_error, "\"..\" is not allowed"},
      {"../a", Code::handle_backend_error, "\"..\" is not allowed"},
      {"C:\\windows\\win.ini", Code::handle_backend_error, "drive letters are not allowed"},
      {"C:a", Code::handle_backend_error, "drive letters are not allowed"},
      {"\\\\server\\share\\a", Code::handle_backend_error, "absolute and UNC paths are not allowed"},
      {"\\\\?\\C:\\a", Code::handle_backend_error, "absolute and UNC paths are not allowed"},
      {"\\a", Code::handle_backend_error, "absolute and UNC paths are not allowed"},
      {"/a", Code::handle_backend_error, "absolute and UNC paths are not allowed"},
      {"ab:stream", Code::handle_backend_error, "alternate data streams (name:stream) are not allowed"},
      {"ab::$DATA", Code::handle_backend_error, "alternate data streams"},
      {"sub\\a:stream", Code::handle_backend_error, "alternate data streams"},
      {"CON", Code::handle_backend_error, "device names (CON, NUL, COM1, LPT1, ...) are not allowed"},
      {"nul", Code::handle_backend_error, "device names"},
      {"NUL.txt", Code::handle_backend_error, "device names"},
      {"sub\\com1", Code::handle_backend_error, "device names"},
      {"LPT9.log", Code::handle_backend_error, "device names"},
      {"aux .x", Code::handle_backend_error, "device names"},
      {"a.", Code::handle_backend_error, "ends with a dot or a space"},
      {"a ", Code::handle_backend_error, "ends with a dot or a space"},
      {"a|b", Code::handle_backend_error, "a character Windows does not allow"},
      {"a*", Code::handle_backend_error, "a character Windows does not allow"},
      {"sub\\", Code::handle_backend_error, "ends with a separator"},
      {"", Code::handle_backend_error, "empty name"},
      {std::string("a\0b", 3), Code::handle_backend_error, "name contains a NUL byte"},
  });
  // Names that merely look like devices are files.
  write_file(tmp / "console", "value-console");
  write_file(tmp / "com10", "value-com10");
  for (const char* name : {"console", "com10"}) {
    INFO(name);
    CHECK(platform::read_beneath(root, name, kMax));
  }
}

TEST_CASE("read beneath: missing, a folder, too large, a file on the way", "[beneath]") {
  TempDir tmp;
  write_file(tmp / "a", "value-a");
  make_dir(tmp / "sub");
  write_file(tmp / "big", std::string(kMax + 1, 'x'));
  const std::string root = tmp.path();
  expect_refused(root, {
      {"missing", Code::handle_missing, "secret \"missing\": no file " + root + "\\missing"},
      {"nodir\\x", Code::handle_missing, "no file " + root + "\\nodir\\x"},
      {"a\\x", Code::handle_missing, "no file"},
      {"sub", Code::handle_backend_error, root + "\\sub is a directory, not a file"},
      {"big", Code::handle_backend_error, root + "\\big is larger than 65536 bytes"},
  });
  auto no_root = platform::read_beneath(tmp / "no-such-dir", "a", kMax);
  REQUIRE_FALSE(no_root);
  CHECK(no_root.error().code == Code::handle_backend_error);
  CHECK_THAT(no_root.error().message, Catch::Contains("the secrets folder " + (tmp / "no-such-dir") + " is not usable: "));
}

TEST_CASE("read beneath: reparse points inside the root are refused, pointing in or out", "[beneath]") {
  TempDir tmp;
  TempDir outside;
  write_file(outside / "secret", "outside-bytes");
  write_file(tmp / "a", "value-a");
  make_dir(tmp / "sub");
  write_file(tmp / "sub\\b", "value-b");
  if (!make_symlink(tmp / "link-out", outside / "secret", false)) {
    WARN("no symbolic link could be made here (Wine's CreateSymbolicLinkW creates none): reparse points are not "
         "tested");
    return;
  }
  REQUIRE(make_symlink(tmp / "link-in", tmp / "a", false));
  REQUIRE(make_symlink(tmp / "dir-out", outside.path(), true));
  REQUIRE(make_symlink(tmp / "dir-in", tmp / "sub", true));
  expect_refused(tmp.path(), {
      {"link-out", Code::handle_backend_error, "passes through a reparse point"},
      {"link-in", Code::handle_backend_error, "passes through a reparse point"},
      {"dir-out\\secret", Code::handle_backend_error, "passes through a reparse point (a symbolic link or junction) at " +
                                                          (tmp / "dir-out")},
      {"dir-in\\b", Code::handle_backend_error, "passes through a reparse point"},
  });
}
