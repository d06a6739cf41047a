// SPEC 5 on POSIX: the permission matrix of check_executable, the symlink rule, the report of
// check_backend, and that the returned descriptor is the file that was checked and hashed.
// Runs as root; other owners come from chown to kOtherUid, an unprivileged caller from a forked
// child that drops to kOtherUid.
#include "common/executable_check.h"
#include "stsecrets/check.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <grp.h>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using sts::CheckOptions;
using sts::Code;
using sts::ExecutableReport;
using sts::test::kOtherGid;
using sts::test::kOtherUid;
using sts::test::TempDir;

constexpr const char* kScript = "#!/bin/sh\necho ok\n";

std::string make_backend(const std::string& path, unsigned mode, std::string_view bytes = kScript) {
  sts::test::write_file(path, bytes, mode);
  return path;
}

void make_dir(const std::string& path, unsigned mode) {
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  REQUIRE(::chmod(path.c_str(), static_cast<mode_t>(mode)) == 0);
}

void make_link(const std::string& target, const std::string& link) {
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
}

std::string sha256sum(const std::string& path) {
  auto r = sts::test::run_command({"/usr/bin/sha256sum", path});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

// A rejection: exact code, message fragment, one line, and no descriptor left open.
void require_rejected(const CheckOptions& options, Code code, const std::string& fragment) {
  const auto before = sts::test::open_fds();
  {
    ExecutableReport report;
    auto result = sts::platform::check_executable(options, &report);
    REQUIRE_FALSE(result);
    INFO(result.error().message);
    CHECK(result.error().code == code);
    CHECK_THAT(result.error().message, Catch::Matchers::Contains(fragment));
    CHECK(result.error().message.find('\n') == std::string::npos);
    REQUIRE(report.error.has_value());
    CHECK(report.error->message == result.error().message);
  }
  CHECK(sts::test::open_fds() == before);
}

sts::VerifiedExecutable require_ok(const CheckOptions& options, ExecutableReport* report = nullptr) {
  auto result = sts::platform::check_executable(options, report);
  if (!result) FAIL("unexpected rejection: " << result.error().message);
  REQUIRE(result->valid());
  return std::move(result).value();
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    REQUIRE(n >= 0);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  return out;
}

struct MatrixRow {
  unsigned mode;
  bool allow_group_exec;
  bool ok;
  const char* problem;  // message start before " (mode ...)", with %s for the path
  const char* fix;      // chmod argument
};

}  // namespace

TEST_CASE("executable check: permission matrix (root, file owned by root:root)") {
  // The owner and every ancestor are fine; only the mode varies. As root, root's group is one
  // of the effective user's groups, so allow_group_exec admits r-x for the group.
  const MatrixRow rows[] = {
      {0700, false, true, "", ""},
      {0700, true, true, "", ""},
      {0500, false, true, "", ""},
      {0500, true, true, "", ""},
      {0100, false, true, "", ""},
      {0755, false, false, "group and others have rights on %s", "700"},
      {0755, true, false, "others have rights on %s", "750"},
      {0750, false, false, "group has rights on %s", "700"},
      {0750, true, true, "", ""},
      {0550, true, true, "", ""},
      {0710, true, true, "", ""},
      {0770, false, false, "group has rights on %s", "700"},
      {0770, true, false, "group can write %s", "750"},
      {0701, false, false, "others have rights on %s", "700"},
      {0701, true, false, "others have rights on %s", "700"},
      {0702, false, false, "others have rights on %s", "700"},
      {0702, true, false, "others have rights on %s", "700"},
      {0777, true, false, "group can write and others have rights on %s", "750"},
      {0600, false, false, "%s is not executable by its owner", "700"},
      {0640, true, false, "%s is not executable by its owner", "740"},
  };
  TempDir dir;
  for (const auto& row : rows) {
    DYNAMIC_SECTION("mode 0" << std::oct << row.mode << std::dec << " allow_group_exec=" << row.allow_group_exec) {
      const std::string path = make_backend(dir / "backend", row.mode);
      CheckOptions options{path, row.allow_group_exec, ""};
      if (row.ok) {
        ExecutableReport report;
        auto exe = require_ok(options, &report);
        CHECK(exe.path() == path);
        CHECK(report.ok());
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", row.mode);
        CHECK(report.mode == mode);
      } else {
        std::string problem = row.problem;
        problem.replace(problem.find("%s"), 2, path);
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", row.mode);
        require_rejected(options, Code::exec_rejected,
                         problem + " (mode " + mode + "): run chmod " + row.fix + " " + path);
      }
    }
  }
}

TEST_CASE("executable check: the SPEC 5 example message") {
  TempDir dir;
  const std::string path = make_backend(dir / "backend", 0755);
  require_rejected({path, false, ""}, Code::exec_rejected,
                   "group and others have rights on " + path + " (mode 0755): run chmod 700 " + path);
}

TEST_CASE("executable check: file owned by another user") {
  TempDir dir;
  const std::string path = make_backend(dir / "backend", 0700);
  REQUIRE(::chown(path.c_str(), kOtherUid, static_cast<gid_t>(-1)) == 0);
  SECTION("allow_group_exec false") {
    require_rejected({path, false, ""}, Code::exec_rejected,
                     path + " is owned by uid 54321, not by root (the effective user): run chown root " + path);
  }
  SECTION("allow_group_exec true does not admit a foreign owner") {
    require_rejected({path, true, ""}, Code::exec_rejected, "is owned by uid 54321, not by root");
  }
}

TEST_CASE("executable check: setuid and setgid bits") {
  TempDir dir;
  SECTION("setuid") {
    const std::string path = make_backend(dir / "backend", 04700);
    require_rejected({path, false, ""}, Code::exec_rejected,
                     path + " has the setuid bit (mode 4700): run chmod u-s " + path);
  }
  SECTION("setgid") {
    const std::string path = make_backend(dir / "backend", 02700);
    require_rejected({path, false, ""}, Code::exec_rejected,
                     path + " has the setgid bit (mode 2700): run chmod g-s " + path);
  }
  SECTION("both, with allow_group_exec") {
    const std::string path = make_backend(dir / "backend", 06750);
    require_rejected({path, true, ""}, Code::exec_rejected,
                     path + " has the setuid and setgid bits (mode 6750): run chmod ug-s " + path);
  }
}

TEST_CASE("executable check: ancestor directories") {
  TempDir dir;
  const std::string sub = dir / "sub";
  SECTION("0777 is rejected") {
    make_dir(sub, 0777);
    make_backend(sub + "/backend", 0700);
    require_rejected({sub + "/backend", false, ""}, Code::exec_rejected,
                     "directory " + sub + " (mode 0777, owner root) is writable by group or others: run chmod go-w " + sub);
  }
  SECTION("0775 (group-writable) is rejected") {
    make_dir(sub, 0775);
    make_backend(sub + "/backend", 0700);
    require_rejected({sub + "/backend", false, ""}, Code::exec_rejected,
                     "directory " + sub + " (mode 0775, owner root) is writable by group or others");
  }
  SECTION("1777 owned by root is accepted") {
    make_dir(sub, 01777);
    make_backend(sub + "/backend", 0700);
    require_ok({sub + "/backend", false, ""});
  }
  SECTION("1777 owned by another user is rejected") {
    make_dir(sub, 01777);
    REQUIRE(::chown(sub.c_str(), kOtherUid, kOtherGid) == 0);
    make_backend(sub + "/backend", 0700);
    require_rejected({sub + "/backend", false, ""}, Code::exec_rejected,
                     "directory " + sub + " (mode 1777, owner uid 54321) is not owned by root (the effective user): "
                     "run chown root " + sub);
  }
  SECTION("0755 owned by another user is rejected") {
    make_dir(sub, 0755);
    REQUIRE(::chown(sub.c_str(), kOtherUid, kOtherGid) == 0);
    make_backend(sub + "/backend", 0700);
    require_rejected({sub + "/backend", false, ""}, Code::exec_rejected,
                     "directory " + sub + " (mode 0755, owner uid 54321) is not owned by root (the effective user): "
                     "run chown root " + sub);
  }
  SECTION("owned by another user and 0777: one line, both fixes") {
    make_dir(sub, 0777);
    REQUIRE(::chown(sub.c_str(), kOtherUid, kOtherGid) == 0);
    make_backend(sub + "/backend", 0700);
    require_rejected({sub + "/backend", false, ""}, Code::exec_rejected,
                     "is not owned by root (the effective user) and is writable by group or others: run chown root " +
                         sub + " && chmod go-w " + sub);
  }
  SECTION("a bad directory higher up is found too") {
    make_dir(sub, 0777);
    make_dir(sub + "/deeper", 0755);
    make_backend(sub + "/deeper/backend", 0700);
    require_rejected({sub + "/deeper/backend", false, ""}, Code::exec_rejected, "directory " + sub + " (mode 0777");
  }
}

TEST_CASE("executable check: not a regular file") {
  TempDir dir;
  SECTION("a directory") {
    make_dir(dir / "backend", 0700);
    require_rejected({dir / "backend", false, ""}, Code::exec_rejected,
                     dir / "backend" + " is a directory, not a regular file: point secret_backend_command at the executable file");
  }
  SECTION("a fifo (and the check does not block on it)") {
    REQUIRE(::mkfifo((dir / "backend").c_str(), 0700) == 0);
    require_rejected({dir / "backend", false, ""}, Code::exec_rejected, dir / "backend" + " is a fifo, not a regular file");
  }
  SECTION("a path through a file") {
    make_backend(dir / "backend", 0700);
    require_rejected({dir / "backend" + "/x", false, ""}, Code::exec_rejected,
                     dir / "backend" + " is a regular file, not a directory");
  }
  SECTION("the root directory") {
    require_rejected({"/", false, ""}, Code::exec_rejected, "/ is a directory, not a regular file");
  }
}

TEST_CASE("executable check: relative and missing paths") {
  SECTION("a relative path is a configuration error") {
    require_rejected({"rel/x", false, ""}, Code::config_invalid,
                     "secret_backend_command must be an absolute path, got \"rel/x\"");
  }
  SECTION("an empty path") {
    require_rejected({"", false, ""}, Code::config_invalid, "must be an absolute path, got \"\"");
  }
  TempDir dir;
  SECTION("a missing file") {
    require_rejected({dir / "nope", false, ""}, Code::exec_rejected, dir / "nope" + " does not exist");
  }
  SECTION("a missing directory") {
    require_rejected({dir / "nodir/backend", false, ""}, Code::exec_rejected,
                     dir / "nodir/backend" + " does not exist (" + dir / "nodir" + " is missing)");
  }
}

TEST_CASE("executable check: SHA-256 pin") {
  TempDir dir;
  const std::string path = make_backend(dir / "backend", 0700);
  const std::string want = sha256sum(path);
  SECTION("match") {
    ExecutableReport report;
    auto exe = require_ok({path, false, want}, &report);
    CHECK(exe.sha256() == want);
    CHECK(report.sha256 == want);
    REQUIRE(!report.rules.empty());
    CHECK(report.rules.back().name == "sha256 pin");
    CHECK(report.rules.back().ok);
  }
  SECTION("match, pin given in upper case") {
    std::string upper = want;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    require_ok({path, false, upper});
  }
  SECTION("mismatch") {
    const std::string other(64, 'a');
    require_rejected({path, false, other}, Code::exec_rejected,
                     "sha256 of " + path + " is " + want + ", want " + other +
                         ": update secret_backend_command_sha256 or restore the binary");
  }
  SECTION("no pin: the hash is still computed") {
    auto exe = require_ok({path, false, ""});
    CHECK(exe.sha256() == want);
  }
}

TEST_CASE("executable check: symlinks are followed through checked directories only") {
  TempDir dir;
  make_dir(dir / "bin", 0755);
  make_dir(dir / "vendor", 0755);
  make_dir(dir / "bad", 0777);
  const std::string real = make_backend(dir / "vendor/backend", 0700);

  SECTION("a link in a good directory to a good target") {
    make_link(real, dir / "bin/backend");
    ExecutableReport report;
    auto exe = require_ok({dir / "bin/backend", false, ""}, &report);
    CHECK(exe.path() == dir / "bin/backend");
    CHECK(exe.sha256() == sha256sum(real));
    bool saw_link = false;
    for (const auto& rule : report.rules)
      if (rule.name == "symlink " + dir / "bin/backend") { saw_link = true; CHECK(rule.detail == "-> " + real); }
    CHECK(saw_link);
  }
  SECTION("a relative link target is resolved from the link's directory") {
    make_link("../vendor/backend", dir / "bin/backend");
    require_ok({dir / "bin/backend", false, ""});
  }
  SECTION("a link as a directory component") {
    make_link("vendor", dir / "current");
    require_ok({dir / "current/backend", false, ""});
  }
  SECTION("a link whose target lies in a 0777 directory") {
    make_backend(dir / "bad/backend", 0700);
    make_link(dir / "bad/backend", dir / "bin/backend");
    require_rejected({dir / "bin/backend", false, ""}, Code::exec_rejected,
                     "directory " + dir / "bad" + " (mode 0777, owner root) is writable by group or others (resolving " +
                         dir / "bin/backend" + "): run chmod go-w " + dir / "bad");
  }
  SECTION("a link that sits in a 0777 directory") {
    make_link(real, dir / "bad/backend");
    require_rejected({dir / "bad/backend", false, ""}, Code::exec_rejected,
                     "directory " + dir / "bad" + " (mode 0777, owner root) is writable by group or others");
  }
  SECTION("a link to a file with bad permissions names both paths") {
    REQUIRE(::chmod(real.c_str(), 0755) == 0);
    make_link(real, dir / "bin/backend");
    require_rejected({dir / "bin/backend", false, ""}, Code::exec_rejected,
                     "group and others have rights on " + dir / "bin/backend" + " -> " + real +
                         " (mode 0755): run chmod 700 " + real);
  }
  SECTION("a link loop") {
    make_link(dir / "bin/b", dir / "bin/a");
    make_link(dir / "bin/a", dir / "bin/b");
    require_rejected({dir / "bin/a", false, ""}, Code::exec_rejected,
                     "too many symbolic links (more than 8) resolving " + dir / "bin/a");
  }
  SECTION("a dangling link") {
    make_link(dir / "vendor/missing", dir / "bin/backend");
    require_rejected({dir / "bin/backend", false, ""}, Code::exec_rejected,
                     dir / "bin/backend" + " -> " + dir / "vendor/missing" + " does not exist");
  }
  SECTION("8 links are followed, 9 are not") {
    std::string target = real;
    for (int i = 1; i <= 9; ++i) {
      std::string link = dir / ("bin/l" + std::to_string(i));
      make_link(target, link);
      target = link;
    }
    require_ok({dir / "bin/l8", false, ""});
    require_rejected({dir / "bin/l9", false, ""}, Code::exec_rejected, "too many symbolic links (more than 8)");
  }
}

TEST_CASE("executable check: the report lists every rule in a stable order") {
  TempDir dir;
  SECTION("a good file") {
    const std::string path = make_backend(dir / "backend", 0700);
    ExecutableReport report;
    require_ok({path, false, sha256sum(path)}, &report);
    std::vector<std::string> names;
    for (const auto& rule : report.rules) {
      names.push_back(rule.name);
      CHECK(rule.ok);
      CHECK(rule.fix.empty());
    }
    const std::vector<std::string> want{"directory /", "directory /tmp", "directory " + dir.path(), "regular file",
                                        "no setuid/setgid", "owner", "permissions", "sha256 pin"};
    CHECK(names == want);
    CHECK(report.path == path);
    CHECK(report.owner == "root");
    CHECK(report.group == "root");
    CHECK(report.mode == "0700");
    CHECK(report.sha256 == sha256sum(path));
    CHECK(report.ok());
  }
  SECTION("every failure is reported; the error is the first") {
    make_dir(dir / "bad", 0777);
    const std::string path = make_backend(dir / "bad/backend", 04755);
    REQUIRE(::chown(path.c_str(), kOtherUid, static_cast<gid_t>(-1)) == 0);
    REQUIRE(::chmod(path.c_str(), 04755) == 0);  // chown cleared the setuid bit
    ExecutableReport report;
    auto result = sts::platform::check_executable({path, false, std::string(64, '0')}, &report);
    REQUIRE_FALSE(result);
    std::vector<std::string> failed;
    for (const auto& rule : report.rules)
      if (!rule.ok) { failed.push_back(rule.name); CHECK_FALSE(rule.fix.empty()); }
    const std::vector<std::string> want{"directory " + dir / "bad", "no setuid/setgid", "owner", "permissions",
                                        "sha256 pin"};
    CHECK(failed == want);
    CHECK_THAT(result.error().message, Catch::Matchers::StartsWith("directory " + dir / "bad"));
    CHECK(report.mode == "4755");
    CHECK(report.owner == "54321");
  }
}

TEST_CASE("executable check: the descriptor is the file that was checked") {
  TempDir dir;
  const std::string path = make_backend(dir / "backend", 0700, "original bytes\n");
  auto exe = require_ok({path, false, ""});
  const int fd = static_cast<int>(exe.native());

  SECTION("replacing the path afterwards does not change the descriptor's bytes") {
    make_backend(dir / "other", 0700, "replacement bytes\n");
    REQUIRE(::rename((dir / "other").c_str(), path.c_str()) == 0);
    CHECK(read_all(fd) == "original bytes\n");
    make_backend(dir / "copy", 0600, read_all(fd));
    CHECK(sha256sum(dir / "copy") == exe.sha256());
    CHECK(sha256sum(path) != exe.sha256());
  }
  SECTION("it is read-only and close-on-exec") {
    const int flags = ::fcntl(fd, F_GETFL);
    REQUIRE(flags >= 0);
    CHECK((flags & O_ACCMODE) == O_RDONLY);
    CHECK((flags & O_NONBLOCK) == 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  }
  SECTION("moving the VerifiedExecutable moves ownership; destruction closes it") {
    const auto before = sts::test::open_fds();
    CHECK(before.count(fd) == 1);
    {
      sts::VerifiedExecutable moved = std::move(exe);
      CHECK_FALSE(exe.valid());  // NOLINT: checking the moved-from state on purpose
      CHECK(moved.native() == fd);
    }
    CHECK(sts::test::open_fds().count(fd) == 0);
  }
}

TEST_CASE("executable check: the descriptor can be executed with execveat") {
  TempDir dir;
  const std::string path = dir / "true";
  make_backend(path, 0700, sts::test::read_file("/bin/true"));
  auto exe = require_ok({path, false, ""});
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    char arg0[] = "true";
    char* argv[] = {arg0, nullptr};
    char* envp[] = {nullptr};
    ::execveat(static_cast<int>(exe.native()), "", argv, envp, AT_EMPTY_PATH);
    ::_exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

namespace {

// Steps of the unprivileged child; the child exits with the number of the first one that failed.
int unprivileged_child(const std::string& mine, const std::string& root_file,
                       const std::string& group_file, const std::string& wrong_group_file,
                       const std::string& group_no_read, const std::string& unreadable) {
  gid_t groups[] = {kOtherGid};
  if (::setgroups(1, groups) != 0 || ::setgid(kOtherGid) != 0 || ::setuid(kOtherUid) != 0) return 100;
  if (::geteuid() != kOtherUid) return 101;
  try {
    sts::test::write_file(mine, kScript, 0700);
    sts::test::write_file(unreadable, kScript, 0100);
  } catch (...) {
    return 102;
  }
  auto rejected_with = [](const CheckOptions& o, const std::string& fragment) {
    auto r = sts::platform::check_executable(o);
    return !r && r.error().code == Code::exec_rejected && r.error().message.find(fragment) != std::string::npos;
  };
  // 1: my own 0700 file in my own directory under root-owned 0755 and 1777 directories
  if (!sts::platform::check_executable({mine, false, ""})) return 1;
  // 2: a root-owned 0700 file is a foreign owner for me
  if (!rejected_with({root_file, false, ""}, root_file + " is owned by root, not by uid 54321 (the effective user)"))
    return 2;
  // 3: root-owned, group 54321 (mine), 0750, with allow_group_exec: accepted
  if (!sts::platform::check_executable({group_file, true, ""})) return 3;
  // 4: the same file without allow_group_exec: rejected
  if (!rejected_with({group_file, false, ""}, "is owned by root, not by uid 54321 (the effective user)")) return 4;
  // 5: root-owned, group root (not mine), 0750, allow_group_exec: rejected
  if (!rejected_with({wrong_group_file, true, ""}, "which is not one of the groups of uid 54321")) return 5;
  // 6: root-owned, my group, 0710: I could not read it to hash it
  if (!rejected_with({group_no_read, true, ""}, "is not readable and executable by its group")) return 6;
  // 7: my own file with mode 0100 cannot be opened for hashing
  if (!rejected_with({unreadable, false, ""}, "cannot open " + unreadable + " for reading")) return 7;
  return 0;
}

}  // namespace

TEST_CASE("executable check: an unprivileged caller") {
  TempDir dir;
  // TempDir is 0700 root-owned: open it up so uid 54321 can reach its own folder below it.
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  const std::string own_dir = dir / "u";
  make_dir(own_dir, 0700);
  REQUIRE(::chown(own_dir.c_str(), kOtherUid, kOtherGid) == 0);
  const std::string root_file = make_backend(dir / "root-backend", 0700);
  const std::string group_file = make_backend(dir / "group-backend", 0750);
  REQUIRE(::chown(group_file.c_str(), 0, kOtherGid) == 0);
  const std::string wrong_group_file = make_backend(dir / "wrong-group-backend", 0750);
  const std::string group_no_read = make_backend(dir / "group-no-read", 0710);
  REQUIRE(::chown(group_no_read.c_str(), 0, kOtherGid) == 0);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::_exit(unprivileged_child(own_dir + "/backend", root_file, group_file, wrong_group_file,
                               group_no_read, own_dir + "/unreadable"));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  INFO("the child's first failed step (see unprivileged_child)");
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("executable check: no descriptor leaks on any rejection") {
  // require_rejected compares open_fds() around each call; this runs a batch back to back.
  TempDir dir;
  make_dir(dir / "bad", 0777);
  make_backend(dir / "bad/backend", 0700);
  make_backend(dir / "wide", 0755);
  make_backend(dir / "suid", 04700);
  make_link(dir / "loop", dir / "loop");
  const auto before = sts::test::open_fds();
  for (int i = 0; i < 20; ++i) {
    for (const auto& p : {dir / "bad/backend", dir / "wide", dir / "suid", dir / "loop", dir / "missing"}) {
      auto r = sts::platform::check_executable({p, false, ""});
      CHECK_FALSE(r);
    }
  }
  CHECK(sts::test::open_fds() == before);
}

TEST_CASE("check_config: report for each kind of configuration") {
  TempDir dir;
  SECTION("no backend") {
    sts::Config cfg;
    auto report = sts::check_config(cfg);
    REQUIRE(report.error.has_value());
    CHECK(report.error->code == Code::config_no_backend);
    CHECK_THAT(report.error->message, Catch::Matchers::Contains("set secret_backend_command"));
  }
  SECTION("an executable: the same rules as check_executable") {
    const std::string path = make_backend(dir / "backend", 0700);
    const sts::Config cfg = sts::test::executable_config(path);
    const auto before = sts::test::open_fds();
    auto full = sts::check_config(cfg);
    CHECK(sts::test::open_fds() == before);  // the verified descriptor is not kept
    CHECK(full.ok());
    REQUIRE(full.backends.size() == 1);
    const auto& report = full.backends[0];
    CHECK(report.type == "executable");
    CHECK(report.path == path);
    CHECK(report.mode == "0700");
    CHECK(report.sha256 == sha256sum(path));
    CHECK(report.rules.size() == 7);
  }
  SECTION("a rejected executable") {
    const std::string path = make_backend(dir / "backend", 0755);
    auto report = sts::check_config(sts::test::executable_config(path));
    REQUIRE(report.error.has_value());
    CHECK(report.error->code == Code::exec_rejected);
    CHECK_THAT(report.error->message, Catch::Matchers::Contains("run chmod 700 " + path));
  }
  SECTION("the file backend reports its root folder") {
    auto full = sts::check_config(sts::test::file_config(dir.path()));
    CHECK(full.ok());
    REQUIRE(full.backends.size() == 1);
    const auto& report = full.backends[0];
    CHECK(report.type == "file");
    CHECK(report.path == dir.path());
    REQUIRE(report.rules.size() == 4);
    CHECK(report.rules[0].name == "root folder");
    CHECK(report.rules[1].name == "root folder exists");
    CHECK(report.rules[2].name == "root folder owner");
    CHECK(report.rules[3].name == "root folder permissions");
  }
  SECTION("the file backend with a missing root folder") {
    auto report = sts::check_config(sts::test::file_config(dir / "missing"));
    REQUIRE(report.error.has_value());
    CHECK(report.error->code == Code::config_invalid);
    CHECK_THAT(report.error->message, Catch::Matchers::Contains(dir / "missing" + " does not exist"));
  }
}
