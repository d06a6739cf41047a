// Output files (SPEC 6, `resolve -o` / `--output-dir`): platform::write_file_atomic on POSIX.
// Owner-only (0600 exactly, under any umask), through a temporary file and a rename, never
// through a symlink and never over a device, FIFO or folder, also when the destination changes
// between the check and the rename (forced through the test seam).
#include "common/file_io.h"
#include "posix/file_io_seams.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using sts::test::dir_entries;

unsigned file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::string file_type(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  if (S_ISREG(st.st_mode)) return "file";
  if (S_ISLNK(st.st_mode)) return "link";
  if (S_ISFIFO(st.st_mode)) return "fifo";
  if (S_ISDIR(st.st_mode)) return "dir";
  if (S_ISCHR(st.st_mode)) return "chr";
  return "other";
}

class UmaskScope {
 public:
  explicit UmaskScope(mode_t m) : old_(::umask(m)) {}
  ~UmaskScope() { ::umask(old_); }
  UmaskScope(const UmaskScope&) = delete;
  UmaskScope& operator=(const UmaskScope&) = delete;

 private:
  mode_t old_;
};

// Installs a before-rename hook for one scope.
class HookScope {
 public:
  explicit HookScope(std::function<void(const std::string&)> hook) {
    sts::platform::testing::set_before_rename_hook(std::move(hook));
  }
  ~HookScope() { sts::platform::testing::set_before_rename_hook({}); }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;
};

}  // namespace

TEST_CASE("output file: created 0600 under any umask, replaces a regular file, leaves no temporary") {
  const unsigned umask_value = GENERATE(0000u, 0022u, 0277u);
  INFO("umask " << umask_value);
  sts::test::TempDir dir;
  const std::string path = dir / "out.yaml";
  UmaskScope scoped(static_cast<mode_t>(umask_value));
  REQUIRE(sts::platform::write_file_atomic(path, "first: 1\n"));
  CHECK(sts::test::read_file(path) == "first: 1\n");
  CHECK(file_mode(path) == 0600);
  sts::test::write_file(path, "old", 0644);
  REQUIRE(sts::platform::write_file_atomic(path, "second: 2\n"));
  CHECK(sts::test::read_file(path) == "second: 2\n");
  CHECK(file_mode(path) == 0600);
  CHECK(dir_entries(dir.path()) == std::vector<std::string>{"out.yaml"});
  // An empty document is a file too.
  REQUIRE(sts::platform::write_file_atomic(path, ""));
  CHECK(sts::test::read_file(path).empty());
}

TEST_CASE("output file: a symlink, device, FIFO or folder at the destination is refused, untouched") {
  sts::test::TempDir dir;
  const std::string target = dir / "target";
  sts::test::write_file(target, "keep", 0600);
  struct Case {
    std::string name;
    std::string type;
    std::string message;
  };
  REQUIRE(::symlink(target.c_str(), (dir / "link").c_str()) == 0);
  REQUIRE(::symlink((dir / "nowhere").c_str(), (dir / "dangling").c_str()) == 0);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  REQUIRE(::mkdir((dir / "folder").c_str(), 0700) == 0);
  std::vector<Case> cases{
      {"link", "link", "it is a symbolic link; name the file it points to, or remove the link first"},
      {"dangling", "link", "it is a symbolic link; name the file it points to, or remove the link first"},
      {"fifo", "fifo", "it is a FIFO, not a regular file; name a regular file, or use -o - for stdout"},
      {"folder", "dir", "it is a folder; name a file (or use --output-dir for a folder)"},
  };
  // As root `-o /dev/stdout` would have replaced the device node: a node of our own stands in.
  if (::mknod((dir / "stdout").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
    cases.push_back({"stdout", "chr", "it is a character device, not a regular file; name a regular file, or use -o - "
                                      "for stdout"});
  } else {
    WARN("mknod is not permitted here: the device case is not tested");
  }
  const auto before = dir_entries(dir.path());
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string path = dir / c.name;
    auto st = sts::platform::write_file_atomic(path, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK(st.error().message == "refusing to write " + path + ": " + c.message);
    CHECK(file_type(path) == c.type);
  }
  CHECK(sts::test::read_file(target) == "keep");
  CHECK(dir_entries(dir.path()) == before);  // no temporary left behind

  auto slash = sts::platform::write_file_atomic(dir / "folder/", "data");
  REQUIRE_FALSE(slash);
  CHECK(slash.error().code == sts::Code::usage);
  CHECK_THAT(slash.error().message, Catch::EndsWith("the path names a folder, not a file"));
}

TEST_CASE("output file: a destination swapped after the check is never replaced when it is not a file") {
  sts::test::TempDir dir;
  const std::string path = dir / "out.yaml";
  const std::string target = dir / "target";
  sts::test::write_file(target, "keep", 0600);

  SECTION("a regular file becomes a symlink: the swap is undone, the write refused") {
    sts::test::write_file(path, "old", 0600);
    HookScope hook([&](const std::string& p) {
      REQUIRE(::unlink(p.c_str()) == 0);
      REQUIRE(::symlink(target.c_str(), p.c_str()) == 0);
    });
    auto st = sts::platform::write_file_atomic(path, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK_THAT(st.error().message, Catch::Contains("replaced by something that is not a regular file"));
    CHECK(file_type(path) == "link");
  }
  SECTION("an absent destination becomes a symlink: the rename does not replace it") {
    HookScope hook([&](const std::string& p) { REQUIRE(::symlink(target.c_str(), p.c_str()) == 0); });
    auto st = sts::platform::write_file_atomic(path, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK_THAT(st.error().message, Catch::Contains("it is a symbolic link"));
    CHECK(file_type(path) == "link");
  }
  SECTION("an absent destination becomes a regular file: it is replaced") {
    HookScope hook([&](const std::string& p) { sts::test::write_file(p, "theirs", 0644); });
    REQUIRE(sts::platform::write_file_atomic(path, "data"));
    CHECK(sts::test::read_file(path) == "data");
    CHECK(file_mode(path) == 0600);
  }
  CHECK(sts::test::read_file(target) == "keep");
  auto entries = dir_entries(dir.path());
  CHECK(entries == std::vector<std::string>{"out.yaml", "target"});
}

TEST_CASE("output file: failures to write are io_failed with the path and the OS reason") {
  sts::test::TempDir dir;
  const std::string missing = dir / "nope/out.yaml";
  auto st = sts::platform::write_file_atomic(missing, "data");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::io_failed);
  CHECK(st.error().os_error == ENOENT);
  CHECK(st.error().message == "cannot open the folder of " + missing + ": No such file or directory");

  // A caller who may not write the folder (a child that drops to another uid).
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  const std::string path = dir / "out.yaml";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) ::_exit(10);
    auto r = sts::platform::write_file_atomic(path, "data");
    if (r) ::_exit(11);
    const bool right = r.error().code == sts::Code::io_failed &&
                       r.error().message == "cannot create a temporary file beside " + path + ": Permission denied";
    ::_exit(right ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(file_type(path) == "missing");
}

// ---- the folder of the output file: links planted by others (review finding F3) ---------------

namespace {

// A sticky shared folder (like /tmp: root's, mode 1777) and a private folder beside it, the
// target another user's link points at. plant() puts a link to `private_dir` into `shared`,
// owned by `owner`.
struct StickyFolder {
  sts::test::TempDir base;
  std::string shared = base / "shared";
  std::string private_dir = base / "private";
  StickyFolder() {
    REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
    REQUIRE(::chmod(shared.c_str(), 01777) == 0);
    REQUIRE(::mkdir(private_dir.c_str(), 0700) == 0);
  }
  std::string plant(const std::string& name, uid_t owner) const {
    const std::string link = shared + "/" + name;
    REQUIRE(::symlink(private_dir.c_str(), link.c_str()) == 0);
    REQUIRE(::lchown(link.c_str(), owner, owner) == 0);
    return link;
  }
};

// Changes the working folder for a scope.
class CwdScope {
 public:
  explicit CwdScope(const std::string& dir) : old_(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) {
    REQUIRE(old_ >= 0);
    REQUIRE(::chdir(dir.c_str()) == 0);
  }
  ~CwdScope() {
    if (::fchdir(old_) != 0) std::abort();  // the rest of the run would use the wrong folder
    ::close(old_);
  }
  CwdScope(const CwdScope&) = delete;
  CwdScope& operator=(const CwdScope&) = delete;

 private:
  int old_;
};

}  // namespace

TEST_CASE("output file: a link another user planted in a sticky folder is not followed to the file's folder") {
  // F3: as root, `-o /tmp/out/app.yaml` with /tmp/out -> /etc/victim planted by another user
  // replaced /etc/victim/app.yaml. The kernel's protected_symlinks rule applies whatever the
  // sysctl says: in a sticky folder a link is followed only when it belongs to the effective
  // user, root, or the folder's owner.
  const StickyFolder f;
  const std::string link = f.plant("out", sts::test::kOtherUid);
  const std::string expected = "symbolic link " + link + " -> " + f.private_dir + " in the sticky folder " + f.shared +
                               " (mode 1777, owner root) is owned by uid 54321, not by root (the effective user) or "
                               "the folder's owner, so it is not followed";
  SECTION("absolute") {
    auto st = sts::platform::write_file_atomic(link + "/app.yaml", "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK_THAT(st.error().message, Catch::StartsWith(expected));
  }
  SECTION("relative to the working folder") {
    CwdScope cwd(f.shared);
    auto st = sts::platform::write_file_atomic("out/app.yaml", "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::usage);
    CHECK_THAT(st.error().message, Catch::StartsWith(expected));
  }
  CHECK(dir_entries(f.private_dir).empty());
}

TEST_CASE("output file: links the protected_symlinks rule allows are followed") {
  using sts::test::kOtherUid;
  SECTION("in a sticky folder, owned by the effective user (root)") {
    const StickyFolder f;
    REQUIRE(sts::platform::write_file_atomic(f.plant("mine", 0) + "/app.yaml", "data"));
    CHECK(sts::test::read_file(f.private_dir + "/app.yaml") == "data");
  }
  SECTION("in a sticky folder, owned by the folder's owner") {
    const StickyFolder f;
    REQUIRE(::chown(f.shared.c_str(), kOtherUid, kOtherUid) == 0);
    REQUIRE(sts::platform::write_file_atomic(f.plant("theirs", kOtherUid) + "/app.yaml", "data"));
    CHECK(sts::test::read_file(f.private_dir + "/app.yaml") == "data");
  }
  SECTION("in a folder that is not sticky, owned by anyone") {
    const StickyFolder f;
    REQUIRE(::chmod(f.shared.c_str(), 0755) == 0);
    REQUIRE(sts::platform::write_file_atomic(f.plant("theirs", kOtherUid) + "/app.yaml", "data"));
    CHECK(sts::test::read_file(f.private_dir + "/app.yaml") == "data");
  }
}
