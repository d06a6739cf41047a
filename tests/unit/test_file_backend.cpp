// The file backend's reader (shared by secret_backend_type: file and helper read-file), and
// platform::read_beneath under it (SPEC 7): every case runs three ways, forced through the
// test seam: the automatic choice, openat2(RESOLVE_BENEATH) alone, and the O_NOFOLLOW walk
// alone (what runs where openat2 is ENOSYS or refused by seccomp).
#include "common/file_backend.h"
#include "common/file_io.h"
#include "posix/file_io_seams.h"
#include "posix/unique_fd.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <tuple>
#include <vector>

namespace {

using sts::platform::testing::BeneathWalk;

bool one_line(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

const char* walk_name(BeneathWalk walk) {
  switch (walk) {
    case BeneathWalk::automatic: return "automatic";
    case BeneathWalk::openat2_only: return "openat2 only";
    case BeneathWalk::manual_only: return "O_NOFOLLOW walk only";
  }
  return "?";
}

// Sets the way read_beneath opens for one run of a test case; false when this kernel cannot
// run openat2 (then the openat2 run is skipped with a warning, the walk still runs).
bool use_walk(BeneathWalk walk) {
  if (walk == BeneathWalk::openat2_only && !sts::platform::testing::openat2_available()) {
    WARN("openat2 is not available here: only the O_NOFOLLOW walk is tested");
    return false;
  }
  sts::platform::testing::set_beneath_walk(walk);
  return true;
}

struct ResetWalk {
  ~ResetWalk() { sts::platform::testing::set_beneath_walk(BeneathWalk::automatic); }
};

struct Expect {
  std::string handle;
  sts::Code code;
  std::string fragment;
};

void expect_refused(const std::string& root, const std::vector<Expect>& cases) {
  for (const auto& c : cases) {
    INFO("handle " << c.handle);
    auto r = sts::read_file_secret(root, c.handle);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
    CHECK(one_line(r.error().message));
  }
}

// dir: the secrets folder; dir/../outside/secret: a file outside it.
struct Tree {
  sts::test::TempDir base;
  std::string dir = base / "dir";
  std::string outside = base / "outside";
  Tree() {
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(::mkdir(outside.c_str(), 0755) == 0);
    sts::test::write_file(outside + "/secret", "outside-bytes");
    sts::test::write_file(dir + "/a", "value-a");
    REQUIRE(::mkdir((dir + "/sub").c_str(), 0755) == 0);
    sts::test::write_file(dir + "/sub/b", "value-b");
  }
  void link(const std::string& target, const std::string& name) const {
    REQUIRE(::symlink(target.c_str(), (dir + "/" + name).c_str()) == 0);
  }
};

}  // namespace

TEST_CASE("read_file_secret: values, and per-handle errors with one-line messages") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  sts::test::TempDir dir;
  sts::test::write_file(dir / "a", "value-a");
  REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
  sts::test::write_file(dir / "sub/b", "value-b");
  REQUIRE(::symlink("/etc/hostname", (dir / "out").c_str()) == 0);
  sts::test::write_file(dir / "big", std::string(sts::kMaxFileSecretBytes + 1, 'x'));
  sts::test::write_file(dir / "just-fits", std::string(sts::kMaxFileSecretBytes, 'y'));

  auto a = sts::read_file_secret(dir.path(), "a");
  REQUIRE(a);
  CHECK(a->view() == "value-a");
  auto b = sts::read_file_secret(dir.path(), "sub/b");
  REQUIRE(b);
  CHECK(b->view() == "value-b");
  auto dotted = sts::read_file_secret(dir.path(), "./sub//b");
  REQUIRE(dotted);
  CHECK(dotted->view() == "value-b");
  auto fits = sts::read_file_secret(dir.path(), "just-fits");
  REQUIRE(fits);
  CHECK(fits->size() == sts::kMaxFileSecretBytes);

  expect_refused(dir.path(), {
      {"missing", sts::Code::handle_missing, "secret \"missing\": no file " + dir.path() + "/missing"},
      {"nodir/x", sts::Code::handle_missing, "no file " + dir.path() + "/nodir/x"},
      {"a/x", sts::Code::handle_missing, "a part of the name is not a folder"},
      {"../a", sts::Code::handle_backend_error, "\"..\" is not allowed; name a file under " + dir.path()},
      {"sub/../a", sts::Code::handle_backend_error, "\"..\" is not allowed"},
      {"sub/..", sts::Code::handle_backend_error, "\"..\" is not allowed"},
      {"/etc/passwd", sts::Code::handle_backend_error, "absolute paths are not allowed"},
      {"\\etc\\passwd", sts::Code::handle_backend_error, "absolute paths are not allowed"},
      {"sub/", sts::Code::handle_backend_error, "ends with \"/\""},
      {"out", sts::Code::handle_backend_error, dir.path() + "/out leads outside " + dir.path()},
      {"sub", sts::Code::handle_backend_error, dir.path() + "/sub is a directory, not a file"},
      {"sub/.", sts::Code::handle_backend_error, "is a directory, not a file"},
      {"big", sts::Code::handle_backend_error, dir.path() + "/big is larger than 65536 bytes"},
      {std::string("a\x01" "b"), sts::Code::handle_missing, "secret \"a\\x01b\""},
      {"", sts::Code::handle_backend_error, "empty name"},
      {std::string("a\0b", 3), sts::Code::handle_backend_error, "name contains a NUL byte"},
  });
}

TEST_CASE("read beneath: a FIFO, a device and a socket are refused without blocking") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  Tree t;
  REQUIRE(::mkfifo((t.dir + "/fifo").c_str(), 0644) == 0);
  // A blocking open or read of the FIFO would hang here forever: the alarm ends the test
  // process instead (a failure), so the test always ends.
  ::alarm(60);
  expect_refused(t.dir, {{"fifo", sts::Code::handle_backend_error, "/fifo is a FIFO, not a regular file"}});
  ::alarm(0);

  if (::mknod((t.dir + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    expect_refused(t.dir, {{"null", sts::Code::handle_backend_error, "/null is a character device, not a regular file"}});
  } else {
    WARN("mknod is not permitted here: the device case is not tested");
  }
}

TEST_CASE("read beneath: symlinks that leave the folder are refused, however they are built") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  Tree t;
  t.link(t.outside + "/secret", "absolute");
  t.link("../outside/secret", "relative");
  t.link("relative", "chain");                   // inside -> inside -> out
  t.link(t.outside, "outdir");                   // a folder link out, then a name in it
  t.link("..", "up");                            // the root's parent, then down to outside
  t.link("sub/../../outside/secret", "climb");   // ".." above the root inside a target
  REQUIRE(::symlink("../../outside/secret", (t.dir + "/sub/deep").c_str()) == 0);
  t.link("loop", "loop");
  t.link(t.dir + "/../outside/secret", "absolute-climb");  // spells the root, then climbs out
  t.link(t.dir + "-other/secret", "absolute-sibling");    // the root's name as a mere prefix
  const std::string out = " leads outside " + t.dir + " (a symbolic link that is absolute or climbs out)";
  expect_refused(t.dir, {
      {"absolute", sts::Code::handle_backend_error, out},
      {"relative", sts::Code::handle_backend_error, out},
      {"chain", sts::Code::handle_backend_error, out},
      {"outdir/secret", sts::Code::handle_backend_error, out},
      {"up/outside/secret", sts::Code::handle_backend_error, out},
      {"climb", sts::Code::handle_backend_error, out},
      {"sub/deep", sts::Code::handle_backend_error, out},
      {"loop", sts::Code::handle_backend_error, "too many symbolic links"},
      {"absolute-climb", sts::Code::handle_backend_error, out},
      {"absolute-sibling", sts::Code::handle_backend_error, out},
  });
}

TEST_CASE("read beneath: symlinks that stay inside the folder are followed (Kubernetes layout)") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  Tree t;
  t.link("a", "alias");
  t.link("alias", "alias2");
  t.link("sub", "subl");
  REQUIRE(::symlink("../a", (t.dir + "/sub/up-a").c_str()) == 0);
  // A Kubernetes secret volume: key -> ..data/key, ..data -> ..2024_01_01 (a timestamped folder).
  REQUIRE(::mkdir((t.dir + "/..2024_01_01").c_str(), 0755) == 0);
  sts::test::write_file(t.dir + "/..2024_01_01/key", "value-key");
  t.link("..2024_01_01", "..data");
  t.link("..data/key", "key");
  for (const auto& [handle, want] : std::vector<std::pair<std::string, std::string>>{
           {"alias", "value-a"}, {"alias2", "value-a"}, {"subl/b", "value-b"}, {"sub/up-a", "value-a"},
           {"key", "value-key"}, {"..data/key", "value-key"}}) {
    INFO("handle " << handle);
    auto r = sts::read_file_secret(t.dir, handle);
    REQUIRE(r);
    CHECK(r->view() == want);
  }

  // Absolute links that name a file under the folder (ln -s /etc/secrets/a /etc/secrets/alias):
  // RESOLVE_BENEATH refuses every absolute link, so openat2 alone refuses them; the walk reads
  // them from the root descriptor, so the automatic choice follows them.
  t.link(t.dir + "/a", "absolute-in");
  t.link(t.dir + "/sub", "absolute-sub");
  // The root configured through a symlink: a link may spell the root either way.
  const std::string root_link = t.base / "dir-link";
  REQUIRE(::symlink(t.dir.c_str(), root_link.c_str()) == 0);
  t.link(root_link + "/a", "absolute-configured");
  for (const auto& [root, handle, want] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {t.dir, "absolute-in", "value-a"},
           {t.dir, "absolute-sub/b", "value-b"},
           {root_link, "absolute-in", "value-a"},
           {root_link, "absolute-configured", "value-a"}}) {
    INFO("root " << root << ", handle " << handle);
    auto r = sts::read_file_secret(root, handle);
    if (walk == BeneathWalk::openat2_only) {
      REQUIRE_FALSE(r);
      CHECK_THAT(r.error().message, Catch::Contains("leads outside"));
    } else {
      REQUIRE(r);
      CHECK(r->view() == want);
    }
  }
}

TEST_CASE("read beneath: /proc magic links are never followed") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  sts::test::TempDir dir;
  sts::test::write_file(dir / "held", "held-open-bytes");
  sts::posix::UniqueFd held(::open((dir / "held").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(held.valid());
  // /proc/self/fd/N is a magic link to the open file; with the root at /proc/self the name
  // "fd/N" stays beneath it lexically, but must not be followed.
  auto r = sts::platform::read_beneath("/proc/self", "fd/" + std::to_string(held.get()), 4096);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == sts::Code::handle_backend_error);
}

TEST_CASE("read beneath: the size cap, the root folder, and a caller who may not read") {
  const BeneathWalk walk = GENERATE(BeneathWalk::automatic, BeneathWalk::openat2_only, BeneathWalk::manual_only);
  ResetWalk reset;
  if (!use_walk(walk)) return;
  INFO(walk_name(walk));
  Tree t;
  sts::test::write_file(t.dir + "/five", "12345");
  auto four = sts::platform::read_beneath(t.dir, "five", 4);
  REQUIRE_FALSE(four);
  CHECK(four.error().code == sts::Code::handle_backend_error);
  CHECK_THAT(four.error().message, Catch::Contains("/five is larger than 4 bytes"));
  auto exact = sts::platform::read_beneath(t.dir, "five", 5);
  REQUIRE(exact);
  CHECK(exact->view() == "12345");
  sts::test::write_file(t.dir + "/empty", "");
  auto empty = sts::platform::read_beneath(t.dir, "empty", 5);
  REQUIRE(empty);
  CHECK(empty->empty());

  auto no_root = sts::platform::read_beneath(t.base / "no-such-dir", "a", 100);
  REQUIRE_FALSE(no_root);
  CHECK(no_root.error().code == sts::Code::handle_backend_error);
  CHECK_THAT(no_root.error().message, Catch::Contains("the secrets folder " + (t.base / "no-such-dir") + " is not usable: No such file or directory"));

  // The root itself may be reached through a symlink: it is the operator's setting.
  REQUIRE(::symlink(t.dir.c_str(), (t.base / "dir-link").c_str()) == 0);
  auto via_link = sts::platform::read_beneath(t.base / "dir-link", "a", 100);
  REQUIRE(via_link);
  CHECK(via_link->view() == "value-a");

  // A caller who may not read the file gets the OS reason (in a child that drops to another uid).
  REQUIRE(::chmod(t.base.path().c_str(), 0755) == 0);
  sts::test::write_file(t.dir + "/root-only", "root-only", 0600);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) ::_exit(10);
    auto r = sts::platform::read_beneath(t.dir, "root-only", 100);
    if (r) ::_exit(11);
    const bool right = r.error().code == sts::Code::handle_backend_error &&
                       r.error().message.find("cannot open " + t.dir + "/root-only: Permission denied") != std::string::npos;
    ::_exit(right ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("read beneath: the automatic choice reads like the forced ones") {
  Tree t;
  auto r = sts::platform::read_beneath(t.dir, "sub/b", 100);
  REQUIRE(r);
  CHECK(r->view() == "value-b");
  auto out = sts::platform::read_beneath(t.dir, "../outside/secret", 100);
  REQUIRE_FALSE(out);
}
