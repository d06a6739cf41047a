// The --output-dir folder of `stsecrets resolve` (host.h: make_private_dir, write_private_file)
// on POSIX. Review finding F3: an existing folder of any owner or mode was accepted, and the
// folder was reached following links, so a link another user planted in /tmp redirected the
// resolved files. Now: the folder is reached with the kernel's protected_symlinks rule applied
// whatever the sysctl says, and an existing one must be owned by root or the effective user and
// not writable by group or others.
#include "stsecrets/host.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using sts::test::dir_entries;

using sts::test::kOtherGid;
using sts::test::kOtherUid;

unsigned file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

// What `resolve --output-dir DIR` did with the folder: make it (or accept it), then write into it.
sts::Status write_into(const std::string& dir, const std::string& name, std::string_view bytes) {
  if (auto st = sts::make_private_dir(dir); !st) return st;
  return sts::write_private_file(dir + "/" + name, bytes, sts::OutputFolder::private_only);
}

}  // namespace

TEST_CASE("output dir: a link another user planted in a sticky folder is not followed") {
  sts::test::TempDir base;
  const std::string shared = base / "shared";
  const std::string victim = base / "victim";
  REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);
  REQUIRE(::mkdir(victim.c_str(), 0700) == 0);
  const std::string link = shared + "/out";
  REQUIRE(::symlink(victim.c_str(), link.c_str()) == 0);
  REQUIRE(::lchown(link.c_str(), kOtherUid, kOtherGid) == 0);

  auto st = write_into(link, "app.yaml", "data");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::usage);
  CHECK_THAT(st.error().message,
             Catch::StartsWith("symbolic link " + link + " -> " + victim + " in the sticky folder " + shared +
                               " (mode 1777, owner root) is owned by uid 54321, not by root (the effective user) or "
                               "the folder's owner, so it is not followed"));
  // A link below the planted one (--output-dir /tmp/out/sub) is reached through it too.
  REQUIRE(::mkdir((victim + "/sub").c_str(), 0700) == 0);
  CHECK_FALSE(write_into(link + "/sub", "app.yaml", "data"));
  CHECK(dir_entries(victim) == std::vector<std::string>{"sub"});
  CHECK(dir_entries(victim + "/sub").empty());
}

TEST_CASE("output dir: an existing folder owned by another user, or writable by others, is refused with its fix") {
  sts::test::TempDir base;
  const std::string dir = base / "out";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  struct Case {
    const char* what;
    unsigned mode;
    uid_t owner;
    std::string message;
  };
  const std::string theirs = "--output-dir " + dir + " is owned by uid 54321, who could replace the resolved files in "
                             "it; run chown 0 " + dir + ", or give --output-dir a folder of your own";
  auto open_to = [&](const char* mode) {
    return "--output-dir " + dir + " is writable by group or others (mode " + mode + "), who could replace the "
           "resolved files in it; run chmod go-w " + dir + ", or give --output-dir a folder of your own";
  };
  const Case cases[] = {
      {"another user's, 0700", 0700, kOtherUid, theirs},
      {"root's, 0777", 0777, 0, open_to("0777")},
      {"root's, 0770", 0770, 0, open_to("0770")},
      {"root's, sticky 1777 (others may still add names)", 01777, 0, open_to("1777")},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    REQUIRE(::chown(dir.c_str(), c.owner, c.owner) == 0);
    REQUIRE(::chmod(dir.c_str(), c.mode) == 0);
    auto st = write_into(dir, "app.yaml", "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK(st.error().message == c.message);
    CHECK(dir_entries(dir).empty());
  }
  // Root's and not writable by others: accepted as it is.
  REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(write_into(dir, "app.yaml", "data"));
  CHECK(sts::test::read_file(dir + "/app.yaml") == "data");
  CHECK(file_mode(dir) == 0755);
}

TEST_CASE("output dir: a missing folder is created owner-only, a file in its place is refused") {
  sts::test::TempDir base;
  const std::string dir = base / "new";
  REQUIRE(write_into(dir, "app.yaml", "data"));
  CHECK(file_mode(dir) == 0700);
  CHECK(file_mode(dir + "/app.yaml") == 0600);

  const std::string file = base / "file";
  sts::test::write_file(file, "x", 0600);
  auto st = sts::make_private_dir(file);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::usage);
  CHECK(st.error().message == file + " is not a directory; give --output-dir a folder");

  auto deep = sts::make_private_dir(base / "missing/below");
  REQUIRE_FALSE(deep);
  CHECK(deep.error().code == sts::Code::io_failed);
  CHECK(deep.error().os_error == ENOENT);
}

TEST_CASE("output dir: a folder swapped after its check is judged again where the files are written") {
  // The check of make_private_dir is by path; the writes come later. Someone who can rename
  // entries in the parent could put an open folder in its place in between: each write judges
  // the folder it is about to write through, on that descriptor.
  sts::test::TempDir base;
  const std::string dir = base / "out";
  const std::string moved = base / "checked";
  REQUIRE(sts::make_private_dir(dir));
  REQUIRE(::rename(dir.c_str(), moved.c_str()) == 0);
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  auto st = sts::write_private_file(dir + "/app.yaml", "password: s3cr3t-Zp41\n", sts::OutputFolder::private_only);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::usage);
  CHECK(st.error().message == "--output-dir " + dir + " is writable by group or others (mode 0777), who could replace "
                              "the resolved files in it; run chmod go-w " + dir + ", or give --output-dir a folder of your own");
  CHECK(dir_entries(dir).empty());
  REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  REQUIRE(::chown(dir.c_str(), kOtherUid, kOtherGid) == 0);
  st = sts::write_private_file(dir + "/app.yaml", "password: s3cr3t-Zp41\n", sts::OutputFolder::private_only);
  REQUIRE_FALSE(st);
  CHECK(st.error().message.find("is owned by uid " + std::to_string(kOtherUid)) != std::string::npos);
  CHECK(dir_entries(dir).empty());
  // Without the flag (-o into a shared folder such as /tmp) the folder's mode is not judged.
  REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  CHECK(sts::write_private_file(dir + "/plain.yaml", "k: v\n"));
}
