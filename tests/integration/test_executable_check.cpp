// SPEC 5 on POSIX: the permission matrix of check_executable, the symlink rules (sticky folders
// included), the report of check_backend, that the returned descriptor is the file that was
// checked and hashed, and what really runs: #! lines parsed as Linux does, interpreter chains,
// `#!/usr/bin/env NAME`, ELF loaders and search folders (hand-built ELF files, 32/64-bit, both
// byte orders, malformed ones), fix wording that never changes a shared system file, and SPEC 2's
// config file check.
// Runs as root; other owners come from chown to kOtherUid, an unprivileged caller from a forked
// child that drops to kOtherUid.
#include "common/executable_check.h"
#include "common/text.h"
#include "posix/exec_format.h"
#include "posix/path_rules.h"
#include "posix/unique_fd.h"
#include "stsecrets/check.h"
#include "support/configs.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <grp.h>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <set>
#include <tuple>
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

const sts::CheckRule* find_rule(const ExecutableReport& report, const std::string& name) {
  for (const auto& rule : report.rules) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
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
    const sts::CheckRule* pin = find_rule(report, "sha256 pin");
    REQUIRE(pin != nullptr);
    CHECK(pin->ok);
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
    // The backend's own rules first, then what it runs (here /bin/sh and its loader, with the
    // folders and links on their way, which depend on the host's layout).
    const std::vector<std::string> want{"directory /", "directory /tmp", "directory " + dir.path(), "regular file",
                                        "no setuid/setgid", "owner", "permissions", "sha256 pin"};
    REQUIRE(names.size() > want.size());
    CHECK(std::vector<std::string>(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(want.size())) == want);
    CHECK(find_rule(report, "interpreter /bin/sh") != nullptr);
    CHECK(find_rule(report, "loader /lib64/ld-linux-x86-64.so.2") != nullptr);
    std::set<std::string> unique(names.begin(), names.end());
    CHECK(unique.size() == names.size());  // each folder, link and rule once
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
  const std::string path = make_backend(dir / "backend", 0700, "#!/bin/sh\n# original bytes\n");
  auto exe = require_ok({path, false, ""});
  const int fd = static_cast<int>(exe.native());

  SECTION("replacing the path afterwards does not change the descriptor's bytes") {
    make_backend(dir / "other", 0700, "#!/bin/sh\n# replacement bytes\n");
    REQUIRE(::rename((dir / "other").c_str(), path.c_str()) == 0);
    CHECK(read_all(fd) == "#!/bin/sh\n# original bytes\n");
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
    REQUIRE(report.rules.size() > 7);
    CHECK(report.rules[6].name == "permissions");
    CHECK(find_rule(report, "interpreter /bin/sh") != nullptr);
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

// ---- attacks of the outside review (SPEC 5 "what really runs", sticky symlinks, fixes) ------

namespace {

// A copy of a system program (root, 0755) at `path`: an interpreter or loader fixture.
std::string copy_program(const std::string& from, const std::string& path, unsigned mode = 0755) {
  sts::test::write_file(path, sts::test::read_file(from), mode);
  return path;
}

bool have_cc() { return ::access("/usr/bin/cc", X_OK) == 0; }

// Builds a tiny C program with extra linker flags (a real toolchain's ELF for the parser). The
// flags may name input files too (a library to link against): "-x none" ends the "-x c" of stdin.
void compile(const std::string& out, const std::vector<std::string>& link_flags,
             std::string_view source = "int main(void) { return 0; }\n", unsigned mode = 0700) {
  std::vector<std::string> argv{"/usr/bin/cc", "-x", "c", "-", "-x", "none", "-o", out};
  argv.insert(argv.end(), link_flags.begin(), link_flags.end());
  auto r = sts::test::run_command(argv, source);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(::chmod(out.c_str(), static_cast<mode_t>(mode)) == 0);
}

// A shared library defining sts_test_lib(), and a program that calls it (so the link records it
// in DT_NEEDED whatever --as-needed says).
void compile_library(const std::string& out, const std::vector<std::string>& link_flags, unsigned mode = 0644) {
  std::vector<std::string> flags{"-shared", "-fPIC"};
  flags.insert(flags.end(), link_flags.begin(), link_flags.end());
  compile(out, flags, "void sts_test_lib(void) {}\n", mode);
}
constexpr std::string_view kCallsLib = "void sts_test_lib(void);\nint main(void) { sts_test_lib(); return 0; }\n";

}  // namespace

TEST_CASE("attack: a #! interpreter in a world-writable folder") {
  TempDir dir;
  make_dir(dir / "ww", 0777);
  const std::string interp = copy_program("/bin/sh", dir / "ww/sh");
  const std::string path = make_backend(dir / "backend", 0700, "#!" + interp + "\necho ok\n");
  require_rejected({path, false, ""}, Code::exec_rejected,
                   "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others");
}

TEST_CASE("attack: a #! interpreter another user can replace") {
  TempDir dir;
  SECTION("the interpreter's folder belongs to another user") {
    make_dir(dir / "theirs", 0755);
    REQUIRE(::chown((dir / "theirs").c_str(), kOtherUid, kOtherGid) == 0);
    const std::string interp = copy_program("/bin/sh", dir / "theirs/sh");
    const std::string path = make_backend(dir / "backend", 0700, "#!" + interp + "\necho ok\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "directory " + dir / "theirs" + " (mode 0755, owner uid 54321) is not owned by root");
  }
  SECTION("the interpreter belongs to another user") {
    const std::string interp = copy_program("/bin/sh", dir / "sh");
    REQUIRE(::chown(interp.c_str(), kOtherUid, kOtherGid) == 0);
    const std::string path = make_backend(dir / "backend", 0700, "#!" + interp + "\necho ok\n");
    require_rejected({path, false, ""}, Code::exec_rejected, "interpreter " + interp);
  }
  SECTION("the interpreter is group-writable") {
    const std::string interp = copy_program("/bin/sh", dir / "sh", 0775);
    const std::string path = make_backend(dir / "backend", 0700, "#!" + interp + "\necho ok\n");
    require_rejected({path, false, ""}, Code::exec_rejected, "interpreter " + interp);
  }
  SECTION("a relative interpreter") {
    const std::string path = make_backend(dir / "backend", 0700, "#!sh\necho ok\n");
    require_rejected({path, false, ""}, Code::exec_rejected, "relative");
  }
}

TEST_CASE("attack: an ELF whose loader or RUNPATH lies in a writable folder") {
  if (!have_cc()) { WARN("no /usr/bin/cc: skipped"); return; }
  TempDir dir;
  make_dir(dir / "ww", 0777);
  SECTION("PT_INTERP") {
    const std::string loader = copy_program("/lib64/ld-linux-x86-64.so.2", dir / "ww/ld.so");
    compile(dir / "backend", {"-Wl,--dynamic-linker=" + loader});
    require_rejected({dir / "backend", false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others");
  }
  SECTION("DT_RUNPATH") {
    compile(dir / "backend", {"-Wl,-rpath," + dir / "ww", "-Wl,--enable-new-dtags"});
    require_rejected({dir / "backend", false, ""}, Code::exec_rejected, "rpath " + dir / "ww");
  }
  SECTION("DT_RUNPATH in a sticky world-writable folder") {
    make_dir(dir / "sticky", 01777);
    compile(dir / "backend", {"-Wl,-rpath," + dir / "sticky", "-Wl,--enable-new-dtags"});
    require_rejected({dir / "backend", false, ""}, Code::exec_rejected, "rpath " + dir / "sticky");
  }
}

// Review finding F1: a DT_NEEDED entry with '/' (absolute, or relative to the working directory)
// and DT_AUDIT/DT_DEPAUDIT were ignored, so `check` said OK and another user's library ran as the
// agent. Each file an ELF names by path passes the loader's rules, under its own rule name.
TEST_CASE("attack: an ELF that names a library or an audit module by path") {
  if (!have_cc()) { WARN("no /usr/bin/cc: skipped"); return; }
  TempDir dir;
  make_dir(dir / "theirs", 0755);
  make_dir(dir / "ww", 0777);
  make_dir(dir / "lib", 0755);
  const std::string backend = dir / "backend";
  SECTION("DT_NEEDED: an absolute path in another user's folder (the review's reproduction)") {
    compile_library(dir / "theirs/libfoo.so", {});
    REQUIRE(::chown((dir / "theirs/libfoo.so").c_str(), kOtherUid, kOtherGid) == 0);
    REQUIRE(::chown((dir / "theirs").c_str(), kOtherUid, kOtherGid) == 0);
    compile(backend, {dir / "theirs/libfoo.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "directory " + dir / "theirs" + " (mode 0755, owner uid 54321) is not owned by root (the effective "
                     "user) (needed " + dir / "theirs/libfoo.so" + " of " + backend + "): run chown root " + dir / "theirs");
    ExecutableReport report;
    REQUIRE_FALSE(sts::platform::check_executable({backend, false, ""}, &report));
    const sts::CheckRule* needed = find_rule(report, "needed " + dir / "theirs/libfoo.so");
    REQUIRE(needed != nullptr);
    CHECK_FALSE(needed->ok);
    CHECK_THAT(needed->detail, Catch::Matchers::Contains("owner uid 54321"));
    CHECK_THAT(needed->fix, Catch::Matchers::Contains("install -D -o root -m 0700 " + dir / "theirs/libfoo.so" +
                                                      " /opt/stsecrets/libfoo.so, then relink " + backend +
                                                      " against /opt/stsecrets/libfoo.so"));
  }
  SECTION("DT_NEEDED: an absolute path in a world-writable folder") {
    compile_library(dir / "ww/libfoo.so", {});
    compile(backend, {dir / "ww/libfoo.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others (needed " +
                         dir / "ww/libfoo.so" + " of " + backend + "): run chmod go-w " + dir / "ww");
  }
  SECTION("DT_NEEDED: a library others can write") {
    compile_library(dir / "lib/libfoo.so", {}, 0666);
    compile(backend, {dir / "lib/libfoo.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "needed " + dir / "lib/libfoo.so" + " of " + backend +
                         " (mode 0666, owner root) is writable by group or others: run chmod go-w " + dir / "lib/libfoo.so");
  }
  SECTION("DT_NEEDED: a relative path, taken from the working directory") {
    compile_library(dir / "lib/libfoo.so", {"-Wl,-soname,lib/libfoo.so"});
    compile(backend, {dir / "lib/libfoo.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "the DT_NEEDED entry \"lib/libfoo.so\" of " + backend +
                         " is a relative path, so ld.so would take it from the working directory: relink " + backend +
                         " against the library by its absolute path (or $ORIGIN/...), or give the library a -Wl,-soname "
                         "and link it by name");
  }
  SECTION("DT_NEEDED: $ORIGIN/lib in a good folder is accepted and listed") {
    compile_library(dir / "lib/libfoo.so", {"-Wl,-soname,$ORIGIN/lib/libfoo.so"});
    compile(backend, {dir / "lib/libfoo.so"}, kCallsLib);
    ExecutableReport report;
    require_ok({backend, false, ""}, &report);
    const sts::CheckRule* needed = find_rule(report, "needed " + dir / "lib/libfoo.so");
    REQUIRE(needed != nullptr);
    CHECK(needed->ok);
    CHECK(needed->detail == "mode 0644, owner root");
    CHECK(find_rule(report, "needed libc.so.6") == nullptr);  // a name without '/': found as today
  }
  SECTION("DT_AUDIT: an absolute path in another user's folder") {
    sts::test::write_file(dir / "theirs/aud.so", "not loaded by the test", 0755);
    REQUIRE(::chown((dir / "theirs/aud.so").c_str(), kOtherUid, kOtherGid) == 0);
    REQUIRE(::chown((dir / "theirs").c_str(), kOtherUid, kOtherGid) == 0);
    compile(backend, {"-Wl,--audit=" + dir / "theirs/aud.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "(audit " + dir / "theirs/aud.so" + " of " + backend + "): run chown root " + dir / "theirs");
  }
  SECTION("DT_AUDIT: a module others can write, a missing one, a relative one") {
    sts::test::write_file(dir / "lib/aud.so", "not loaded by the test", 0666);
    compile(backend, {"-Wl,--audit=" + dir / "lib/aud.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "audit " + dir / "lib/aud.so" + " of " + backend +
                         " (mode 0666, owner root) is writable by group or others: run chmod go-w " + dir / "lib/aud.so");
    compile(backend, {"-Wl,--audit=" + dir / "lib/none.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "audit " + dir / "lib/none.so" + " of " + backend + " does not exist: install it or relink " +
                         backend + " with the right -Wl,--audit");
    compile(backend, {"-Wl,--audit=aud/x.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "the DT_AUDIT entry \"aud/x.so\" of " + backend +
                         " is a relative path, so ld.so would take it from the working directory: relink " + backend +
                         " with an absolute path (or $ORIGIN/...) in -Wl,--audit");
  }
  SECTION("DT_DEPAUDIT: an absolute path in a world-writable folder") {
    sts::test::write_file(dir / "ww/aud.so", "not loaded by the test", 0644);
    compile(backend, {"-Wl,--depaudit=" + dir / "ww/aud.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others (depaudit " +
                         dir / "ww/aud.so" + " of " + backend + "): run chmod go-w " + dir / "ww");
  }
  SECTION("DT_AUDIT: every name of a ':' list is checked") {
    sts::test::write_file(dir / "lib/a.so", "not loaded by the test", 0644);
    sts::test::write_file(dir / "ww/b.so", "not loaded by the test", 0644);
    compile(backend, {"-Wl,--audit=" + dir / "lib/a.so", "-Wl,--audit=" + dir / "ww/b.so"});
    require_rejected({backend, false, ""}, Code::exec_rejected, "(audit " + dir / "ww/b.so" + " of " + backend + ")");
  }
  SECTION("DT_AUDIT: a name without '/' is searched like a library, and listed") {
    compile(backend, {"-Wl,--audit=libsts-audit.so"});
    ExecutableReport report;
    require_ok({backend, false, ""}, &report);
    const sts::CheckRule* audit = find_rule(report, "audit libsts-audit.so");
    REQUIRE(audit != nullptr);
    CHECK(audit->ok);
    CHECK_THAT(audit->detail, Catch::Matchers::Contains("searches it as it searches libraries"));
  }
}

// ld.so expands $ORIGIN of a library from the folder of the path it opened the library by (glibc
// _dl_new_object: the name as written, links not resolved), not from the link's target; only the
// main program's $ORIGIN comes from its real path (/proc/self/exe). A check that expanded it from
// the target validated a decoy next to the target while ld.so loaded another user's file.
TEST_CASE("attack: $ORIGIN of a library reached through a symlink") {
  if (!have_cc()) { WARN("no /usr/bin/cc: skipped"); return; }
  TempDir dir;
  make_dir(dir / "real", 0755);
  make_dir(dir / "lib", 0755);
  const std::string backend = dir / "backend";
  SECTION("DT_NEEDED $ORIGIN/... of a library named by a link (the review's reproduction)") {
    // The decoy beside the link's target passes every rule; the file ld.so loads is another user's, 0666.
    compile_library(dir / "real/libB.so", {"-Wl,-soname,$ORIGIN/libB.so"});
    compile_library(dir / "lib/libB.so", {"-Wl,-soname,$ORIGIN/libB.so"}, 0666);
    REQUIRE(::chown((dir / "lib/libB.so").c_str(), kOtherUid, kOtherGid) == 0);
    // --no-as-needed: libA calls nothing in libB, and the DT_NEEDED entry is the point.
    compile(dir / "real/libA.so",
            {"-shared", "-fPIC", "-Wl,-soname," + dir / "lib/libA.so", "-Wl,--no-as-needed", dir / "real/libB.so"},
            "void sts_test_lib(void) {}\n", 0644);
    make_link(dir / "real/libA.so", dir / "lib/libA.so");
    compile(backend, {dir / "real/libA.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "needed " + dir / "lib/libB.so" + " of " + dir / "lib/libA.so" +
                         " (mode 0666, owner uid 54321) is not owned by root (the effective user) and is writable by "
                         "group or others");
    ExecutableReport report;
    REQUIRE_FALSE(sts::platform::check_executable({backend, false, ""}, &report));
    const sts::CheckRule* loaded = find_rule(report, "needed " + dir / "lib/libB.so");
    REQUIRE(loaded != nullptr);
    CHECK_FALSE(loaded->ok);
    CHECK(find_rule(report, "needed " + dir / "real/libB.so") == nullptr);  // the decoy is not what loads
  }
  SECTION("one library reached by its real path and by a link is checked with both $ORIGINs") {
    // ld.so loads the file once and keeps the $ORIGIN of the name it meets first; which one
    // that is depends on its load order, so both are checked.
    compile_library(dir / "real/libB.so", {"-Wl,-soname,$ORIGIN/libB.so"});
    compile_library(dir / "lib/libB.so", {"-Wl,-soname,$ORIGIN/libB.so"}, 0666);
    REQUIRE(::chown((dir / "lib/libB.so").c_str(), kOtherUid, kOtherGid) == 0);
    compile(dir / "real/libA.so", {"-shared", "-fPIC", "-Wl,--no-as-needed", dir / "real/libB.so"},
            "void sts_test_lib(void) {}\n", 0644);
    make_link(dir / "real/libA.so", dir / "lib/libA.so");
    compile(backend, {"-Wl,--no-as-needed", dir / "real/libA.so", dir / "lib/libA.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "needed " + dir / "lib/libB.so" + " of " + dir / "lib/libA.so" +
                         " (mode 0666, owner uid 54321) is not owned by root (the effective user) and is writable by "
                         "group or others");
  }
  SECTION("DT_RUNPATH $ORIGIN/... of a library named by a link") {
    make_dir(dir / "real/sub", 0755);
    make_dir(dir / "lib/sub", 0777);
    compile_library(dir / "real/libA.so", {"-Wl,-soname," + dir / "lib/libA.so", "-Wl,--enable-new-dtags",
                                           "-Wl,-rpath,$ORIGIN/sub"});
    make_link(dir / "real/libA.so", dir / "lib/libA.so");
    compile(backend, {dir / "real/libA.so"}, kCallsLib);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "rpath " + dir / "lib/sub" + " of " + dir / "lib/libA.so" +
                         " (mode 0777, owner root) is writable by group or others, so someone else could add files to "
                         "it: run chmod go-w " + dir / "lib/sub");
  }
  SECTION("the main program's $ORIGIN is its real folder, as /proc/self/exe gives it") {
    // ld.so takes the program's $ORIGIN from /proc/self/exe, the real path, whatever link it
    // was run by (and execveat runs it as /dev/fd/N): a link to the backend in a folder whose
    // $ORIGIN neighbours are bad changes nothing.
    make_dir(dir / "lib/sub", 0777);
    make_dir(dir / "real/sub", 0755);
    compile(dir / "real/backend", {"-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/sub"});
    make_link(dir / "real/backend", dir / "lib/backend");
    ExecutableReport report;
    require_ok({dir / "lib/backend", false, ""}, &report);
    const sts::CheckRule* rpath = find_rule(report, "rpath " + dir / "real/sub");
    REQUIRE(rpath != nullptr);
    CHECK(rpath->ok);
  }
}

TEST_CASE("attack: a symlink in a sticky folder owned by another user") {
  TempDir dir;
  make_dir(dir / "good", 0755);
  make_dir(dir / "sticky", 01777);
  const std::string real = make_backend(dir / "good/backend", 0700);
  make_link(real, dir / "sticky/backend");
  REQUIRE(::lchown((dir / "sticky/backend").c_str(), kOtherUid, kOtherGid) == 0);
  require_rejected({dir / "sticky/backend", false, ""}, Code::exec_rejected,
                   "symbolic link " + dir / "sticky/backend" + " -> " + real + " in the sticky folder " + dir / "sticky" +
                       " (mode 1777, owner root) is owned by uid 54321, not by root (the effective user) or the "
                       "folder's owner, so it is not followed: point secret_backend_command at the file itself");
}

TEST_CASE("attack: the fix for a shared system file is never chmod 700 on it") {
  ExecutableReport report;
  auto r = sts::platform::check_executable({"/usr/bin/env", false, ""}, &report);
  REQUIRE_FALSE(r);
  INFO(r.error().message);
  CHECK(r.error().message.find("chmod 700 /usr/bin/env") == std::string::npos);
  CHECK_THAT(r.error().message, Catch::Matchers::Contains("install -D -o root -m 0700 /usr/bin/env /opt/stsecrets/env"));
}

// ---- #! lines, parsed as Linux parses them -----------------------------------------------------

namespace {

struct LineCase {
  std::string head;
  std::string interpreter;
  std::optional<std::string> argument;
};

}  // namespace

TEST_CASE("exec format: #! lines are split as binfmt_script splits them") {
  const std::string long_arg(245, 'a');
  const std::vector<LineCase> cases{
      {"#!/bin/sh\n", "/bin/sh", std::nullopt},
      {"#!/bin/sh", "/bin/sh", std::nullopt},                        // no newline, short file
      {"#!  /bin/sh  -e  \n", "/bin/sh", std::string("-e")},         // spaces around
      {"#!/bin/sh\t-x\ty\n", "/bin/sh", std::string("-x\ty")},       // one argument, inner tab kept
      {"#!/bin/sh -e -u\necho\n", "/bin/sh", std::string("-e -u")},  // one argument, inner space kept
      {"#!/usr/bin/env python3 -u\n", "/usr/bin/env", std::string("python3 -u")},
      {"#!/bin/sh   \n", "/bin/sh", std::nullopt},
      {std::string("#!/bin/sh\0-e\n", 13), "/bin/sh", std::nullopt},  // strnchr stops at NUL
      {"#!/bin/sh\r\n", "/bin/sh\r", std::nullopt},                  // DOS line end: part of the name
      {"#!sh\n", "sh", std::nullopt},                                // relative: the caller refuses it
      // No newline in the first 256 bytes, but the name ends: the argument is cut at byte 255.
      {"#!/bin/sh " + std::string(300, 'a'), "/bin/sh", long_arg},
  };
  for (const auto& c : cases) {
    INFO(sts::quote_text(c.head.substr(0, 40)));
    auto line = sts::posix::parse_script_line(c.head);
    REQUIRE(line);
    CHECK(line->interpreter == c.interpreter);
    CHECK(line->argument == c.argument);
  }
}

TEST_CASE("exec format: #! lines the kernel refuses are refused") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"#!\n", "names no interpreter"},
      {"#!   \t \n", "names no interpreter"},
      {"#!" + std::string(300, ' '), "is blank"},
      {"#!/" + std::string(300, 'a'), "cuts the interpreter's name off"},
  };
  for (const auto& [head, fragment] : cases) {
    auto line = sts::posix::parse_script_line(head);
    REQUIRE_FALSE(line);
    CHECK(line.error().code == Code::exec_rejected);
    CHECK_THAT(line.error().message, Catch::Matchers::Contains(fragment));
  }
}

// ---- ELF headers, from hand-built files (32/64-bit, both byte orders, malformed) ---------------

namespace {

struct ElfSpec {
  int bits = 64;
  bool big_endian = false;
  std::optional<std::string> interp;
  std::vector<std::string> rpath;    // one DT_RPATH string each (may hold ':')
  std::vector<std::string> runpath;  // one DT_RUNPATH string each
  std::uint16_t type = 3;            // ET_DYN
  // More string entries, in this order (tag, string): DT_NEEDED, DT_AUDIT, ...
  std::vector<std::pair<std::uint64_t, std::string>> names{};
  // Entries written as they are after those (tag, value): bad offsets, a second DT_STRTAB, ...
  std::vector<std::pair<std::uint64_t, std::uint64_t>> raw{};
  bool with_strtab = true;     // DT_STRTAB and DT_STRSZ first
  bool dt_null = true;         // the DT_NULL end inside PT_DYNAMIC
  bool two_dynamic = false;    // a second PT_DYNAMIC header over the same bytes
  std::uint64_t dyn_vaddr_shift = 0;  // PT_DYNAMIC's p_vaddr moved away from its p_offset
};

constexpr std::uint64_t kDtNeeded = 1, kDtStrtab = 5, kDtStrsz = 10, kDtAudit = 0x6ffffefc, kDtDepaudit = 0x6ffffefb,
                        kDtAuxiliary = 0x7ffffffd, kDtFilter = 0x7fffffff;

// Where build_elf put things, for tests that break them on purpose.
struct ElfLayout {
  std::size_t phoff_at, phentsize_at, phnum_at, phoff, phentsize, interp_off, dyn_off;
};

// A minimal ELF: header, program headers (PT_LOAD over the whole file at 0x400000, PT_INTERP,
// PT_DYNAMIC), the interpreter string, a string table and the dynamic section.
std::string build_elf(const ElfSpec& spec, ElfLayout* layout = nullptr) {
  const bool b64 = spec.bits == 64;
  const std::size_t ehsize = b64 ? 64 : 52, phentsize = b64 ? 56 : 32, word = b64 ? 8 : 4;
  const std::size_t phnum = (spec.interp ? 3u : 2u) + (spec.two_dynamic ? 1u : 0u);
  const std::uint64_t base = 0x400000;
  const std::size_t interp_off = ehsize + phnum * phentsize;
  const std::string interp = spec.interp ? *spec.interp + std::string(1, '\0') : std::string();
  const std::size_t str_off = interp_off + interp.size();
  std::string strtab(1, '\0');
  std::vector<std::pair<std::uint64_t, std::uint64_t>> dyn;  // tag, value
  for (const auto& s : spec.rpath) { dyn.emplace_back(15, strtab.size()); strtab += s + std::string(1, '\0'); }
  for (const auto& s : spec.runpath) { dyn.emplace_back(29, strtab.size()); strtab += s + std::string(1, '\0'); }
  for (const auto& [tag, s] : spec.names) { dyn.emplace_back(tag, strtab.size()); strtab += s + std::string(1, '\0'); }
  dyn.insert(dyn.end(), spec.raw.begin(), spec.raw.end());
  if (spec.with_strtab) dyn.insert(dyn.begin(), {{kDtStrtab, base + str_off}, {kDtStrsz, strtab.size()}});
  if (spec.dt_null) dyn.emplace_back(0, 0);
  const std::size_t dyn_off = (str_off + strtab.size() + 7) / 8 * 8;
  const std::size_t total = dyn_off + dyn.size() * 2 * word;
  std::string out(total, '\0');
  auto put = [&](std::size_t at, std::uint64_t v, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
      const std::size_t shift = 8 * (spec.big_endian ? width - 1 - i : i);
      out[at + i] = static_cast<char>((v >> shift) & 0xff);
    }
  };
  out.replace(0, 4, "\x7f" "ELF");
  out[4] = static_cast<char>(b64 ? 2 : 1);
  out[5] = static_cast<char>(spec.big_endian ? 2 : 1);
  out[6] = 1;
  put(16, spec.type, 2);
  put(18, b64 ? 62 : 3, 2);
  put(20, 1, 4);
  const std::size_t phoff_at = b64 ? 32 : 28, phentsize_at = b64 ? 54 : 42, phnum_at = b64 ? 56 : 44;
  put(phoff_at, ehsize, word);
  put(b64 ? 52 : 40, ehsize, 2);
  put(phentsize_at, phentsize, 2);
  put(phnum_at, phnum, 2);
  auto phdr = [&](std::size_t i, std::uint32_t type, std::uint64_t off, std::uint64_t size, std::uint64_t shift = 0) {
    const std::size_t at = ehsize + i * phentsize;
    put(at, type, 4);
    put(at + (b64 ? 8 : 4), off, word);
    put(at + (b64 ? 16 : 8), base + off + shift, word);
    put(at + (b64 ? 24 : 12), base + off + shift, word);
    put(at + (b64 ? 32 : 16), size, word);
    put(at + (b64 ? 40 : 20), size, word);
  };
  std::size_t i = 0;
  phdr(i++, 1, 0, total);
  if (spec.interp) phdr(i++, 3, interp_off, interp.size());
  phdr(i++, 2, dyn_off, dyn.size() * 2 * word, spec.dyn_vaddr_shift);
  if (spec.two_dynamic) phdr(i++, 2, dyn_off, dyn.size() * 2 * word);
  out.replace(interp_off, interp.size(), interp);
  out.replace(str_off, strtab.size(), strtab);
  for (std::size_t k = 0; k < dyn.size(); ++k) {
    put(dyn_off + k * 2 * word, dyn[k].first, word);
    put(dyn_off + k * 2 * word + word, dyn[k].second, word);
  }
  if (layout != nullptr) *layout = {phoff_at, phentsize_at, phnum_at, ehsize, phentsize, interp_off, dyn_off};
  return out;
}

// The bytes in an anonymous file, parsed through its descriptor.
sts::Result<sts::posix::ExecFormat> parse_bytes(const std::string& bytes) {
  sts::posix::UniqueFd fd(::memfd_create("elf", MFD_CLOEXEC));
  REQUIRE(fd.valid());
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  return sts::posix::read_exec_format(fd.get());
}

}  // namespace

TEST_CASE("exec format: ELF loader and search paths, 32/64-bit, both byte orders") {
  for (int bits : {32, 64}) {
    for (bool big : {false, true}) {
      DYNAMIC_SECTION(bits << "-bit " << (big ? "big" : "little") << "-endian") {
        ElfSpec spec{bits, big, std::string("/lib/ld-test.so.1"), {"/opt/a:$ORIGIN/lib"}, {"/opt/b", "::/opt/c"}, 3};
        spec.names = {{kDtNeeded, "libc.so.6"},           {kDtAudit, "/opt/a.so::aud.so:"},
                      {kDtNeeded, "/opt/lib/libx.so"},    {kDtDepaudit, "/opt/dep.so"},
                      {kDtFilter, "$ORIGIN/f.so"},        {kDtAuxiliary, "/opt/aux.so"},
                      {kDtNeeded, "lib/rel.so"}};
        auto format = parse_bytes(build_elf(spec));
        REQUIRE(format);
        REQUIRE(format->kind == sts::posix::ExecKind::elf);
        CHECK(format->elf.bits == bits);
        CHECK(format->elf.big_endian == big);
        CHECK(format->elf.interpreter == std::optional<std::string>("/lib/ld-test.so.1"));
        CHECK(format->elf.rpath == std::vector<std::string>{"/opt/a", "$ORIGIN/lib"});
        CHECK(format->elf.runpath == std::vector<std::string>{"/opt/b", "", "", "/opt/c"});
        CHECK(format->elf.needed == std::vector<std::string>{"libc.so.6", "/opt/lib/libx.so", "lib/rel.so"});
        CHECK(format->elf.audit == std::vector<std::string>{"/opt/a.so", "aud.so"});  // ld.so drops empty names
        CHECK(format->elf.depaudit == std::vector<std::string>{"/opt/dep.so"});
        CHECK(format->elf.filter == std::vector<std::string>{"$ORIGIN/f.so"});
        CHECK(format->elf.auxiliary == std::vector<std::string>{"/opt/aux.so"});
      }
    }
  }
  SECTION("a static executable: no loader, no search path") {
    auto format = parse_bytes(build_elf(ElfSpec{64, false, std::nullopt, {}, {}, 2}));
    REQUIRE(format);
    CHECK_FALSE(format->elf.interpreter.has_value());
    CHECK(format->elf.rpath.empty());
  }
  SECTION("neither ELF nor #!") {
    auto format = parse_bytes("plain text\n");
    REQUIRE(format);
    CHECK(format->kind == sts::posix::ExecKind::other);
  }
}

TEST_CASE("exec format: a malformed ELF header is a clear rejection") {
  ElfLayout at{};
  const std::string good = build_elf(ElfSpec{64, false, std::string("/lib/ld.so"), {"/opt/a"}, {}, 3}, &at);
  auto patched = [&](std::size_t offset, std::string bytes) {
    std::string copy = good;
    copy.replace(offset, bytes.size(), bytes);
    return copy;
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {good.substr(0, 10), "cut short"},
      {good.substr(0, 40), "cut short"},
      {patched(4, "\x03"), "ELF class 3"},
      {patched(5, "\x07"), "byte order 7"},
      {patched(16, std::string("\x01\x00", 2)), "type 1, not an executable"},
      {patched(at.phentsize_at, std::string("\x20\x00", 2)), "program header size 32"},
      {patched(at.phnum_at, std::string("\x00\x00", 2)), "0 entries"},
      {patched(at.phnum_at, std::string("\xff\xff", 2)), "65535 entries"},
      {patched(at.phoff_at, std::string("\x00\x00\x00\x00\x00\x00\x01\x00", 8)), "program headers lie outside"},
      {patched(at.phoff_at, std::string("\xf0\xff\xff\xff\xff\xff\xff\xff", 8)), "program headers lie outside"},
      {patched(at.interp_off + 10, "X"), "not NUL-terminated"},  // "/lib/ld.so" is 10 bytes
      {good.substr(0, at.dyn_off + 8), "dynamic section lies outside"},
  };
  for (const auto& [bytes, fragment] : cases) {
    INFO(fragment);
    auto format = parse_bytes(bytes);
    REQUIRE_FALSE(format);
    CHECK(format.error().code == Code::exec_rejected);
    CHECK_THAT(format.error().message, Catch::Matchers::Contains(fragment));
  }
}

TEST_CASE("exec format: a malformed dynamic section is a clear rejection") {
  const auto spec = [](auto change) {
    ElfSpec s{64, false, std::string("/lib/ld.so"), {}, {}, 3};
    s.names = {{kDtNeeded, "/opt/lib/libx.so"}};
    change(s);
    return s;
  };
  const std::vector<std::pair<ElfSpec, std::string>> cases{
      {spec([](ElfSpec& s) { s.raw = {{kDtNeeded, 0xffff}}; }), "its ELF DT_NEEDED entry lies outside the string table"},
      {spec([](ElfSpec& s) { s.raw = {{kDtAudit, ~std::uint64_t{0}}}; }), "its ELF DT_AUDIT entry lies outside the string table"},
      {spec([](ElfSpec& s) { s.with_strtab = false; }), "has names but no string table"},
      {spec([](ElfSpec& s) { s.raw = {{kDtStrtab, 0x10}}; }), "its ELF string table lies outside the file's loaded segments"},
      {spec([](ElfSpec& s) { s.raw = {{kDtStrtab, ~std::uint64_t{0}}}; }), "its ELF string table lies outside"},
      // DT_STRSZ (the last one counts, as in ld.so) cuts the name's NUL off.
      {spec([](ElfSpec& s) { s.raw = {{kDtStrsz, 5}}; }), "its ELF DT_NEEDED entry is not NUL-terminated within the string table"},
      {spec([](ElfSpec& s) { s.dt_null = false; }), "its ELF dynamic section has no DT_NULL end"},
      {spec([](ElfSpec& s) { s.two_dynamic = true; }), "2 PT_DYNAMIC segments"},
      {spec([](ElfSpec& s) { s.dyn_vaddr_shift = 8; }), "its ELF dynamic section's address does not match its file offset"},
      {spec([](ElfSpec& s) { s.dyn_vaddr_shift = 0x10000000; }), "its ELF dynamic section lies outside the file's loaded segments"},
  };
  for (const auto& [elf, fragment] : cases) {
    INFO(fragment);
    auto format = parse_bytes(build_elf(elf));
    REQUIRE_FALSE(format);
    CHECK(format.error().code == Code::exec_rejected);
    CHECK_THAT(format.error().message, Catch::Matchers::Contains(fragment));
  }
  SECTION("the check names the file and the rule") {
    TempDir dir;
    const std::string p = dir / "b";
    sts::test::write_file(p, build_elf(spec([](ElfSpec& s) { s.raw = {{kDtNeeded, 0xffff}}; })), 0700);
    require_rejected({p, false, ""}, Code::exec_rejected,
                     p + " cannot be checked: its ELF DT_NEEDED entry lies outside the string table: replace it with a "
                         "valid executable or correct secret_backend_command");
    ExecutableReport report;
    REQUIRE_FALSE(sts::platform::check_executable({p, false, ""}, &report));
    REQUIRE(find_rule(report, "ELF header of " + p) != nullptr);
  }
  SECTION("thousands of names are bounded") {
    ElfSpec s{64, false, std::nullopt, {}, {}, 3};
    s.names.assign(4000, {kDtNeeded, "/" + std::string(300, 'n')});
    auto format = parse_bytes(build_elf(s));
    REQUIRE_FALSE(format);
    CHECK_THAT(format.error().message, Catch::Matchers::Contains("strings take more than 1 MiB to read"));
  }
}

TEST_CASE("exec format: every truncation and every byte flip parses or is refused, never crashes") {
  for (const bool big : {false, true}) {
    ElfSpec spec{big ? 32 : 64, big, std::string("/lib/ld.so"), {"/opt/a:/opt/b"}, {"$ORIGIN"}, 3};
    spec.names = {{kDtNeeded, "/opt/x.so"}, {kDtAudit, "/a.so:b.so"}, {kDtFilter, "f"}};
    const std::string good = build_elf(spec);
    std::size_t refused = 0;
    for (std::size_t n = 0; n < good.size(); ++n) {
      if (!parse_bytes(good.substr(0, n))) ++refused;
    }
    CHECK(refused > 0);
    for (std::size_t i = 0; i < good.size(); ++i) {
      for (const char b : {'\x00', '\xff', '\x80'}) {
        std::string copy = good;
        copy[i] = b;
        (void)parse_bytes(copy);  // either result is fine; ASan/UBSan watch the reads
      }
    }
  }
}

// ---- what really runs: more attacks and the accepted cases ------------------------------------

namespace {

// A folder holding a hand-built ELF "backend" (only parsed, never run) with the given spec.
std::string make_elf_backend(const std::string& path, const ElfSpec& spec) {
  sts::test::write_file(path, build_elf(spec), 0700);
  return path;
}

const std::string kLoader = "/lib64/ld-linux-x86-64.so.2";

}  // namespace

TEST_CASE("what runs: the #! chain is followed, at most 4 interpreters") {
  TempDir dir;
  make_dir(dir / "ww", 0777);
  SECTION("an interpreter that is itself a script with a bad interpreter") {
    copy_program("/bin/sh", dir / "ww/sh");
    make_backend(dir / "wrapper", 0755, "#!" + dir / "ww/sh" + "\n");
    const std::string path = make_backend(dir / "backend", 0700, "#!" + dir / "wrapper" + "\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others (interpreter " +
                         dir / "ww/sh" + " of " + dir / "wrapper" + "): run chmod go-w " + dir / "ww");
  }
  SECTION("a good chain is accepted and listed") {
    make_backend(dir / "wrapper", 0755, "#!/bin/sh\n");
    const std::string path = make_backend(dir / "backend", 0700, "#!" + dir / "wrapper" + " -e\n");
    ExecutableReport report;
    require_ok({path, false, ""}, &report);
    const sts::CheckRule* wrapper = find_rule(report, "interpreter " + dir / "wrapper");
    REQUIRE(wrapper != nullptr);
    CHECK(wrapper->detail == "mode 0755, owner root");
    CHECK(find_rule(report, "interpreter /bin/sh") != nullptr);
  }
  SECTION("a loop is cut off") {
    make_backend(dir / "a", 0755, "#!" + dir / "b" + "\n");
    make_backend(dir / "b", 0755, "#!" + dir / "a" + "\n");
    const std::string path = make_backend(dir / "backend", 0700, "#!" + dir / "a" + "\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "the chain of interpreters of " + path + " is longer than 4");
  }
  SECTION("a missing interpreter") {
    const std::string path = make_backend(dir / "backend", 0700, "#!" + dir / "nope" + "\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "interpreter " + dir / "nope" + " of " + path + " does not exist: install it or correct the #! line of " +
                         path);
  }
  SECTION("DOS line ends") {
    const std::string path = make_backend(dir / "backend", 0700, "#!/bin/sh\r\necho\r\n");
    require_rejected({path, false, ""}, Code::exec_rejected, "ends with a carriage return (DOS line ends)");
    require_rejected({path, false, ""}, Code::exec_rejected, "run dos2unix " + path);
  }
  SECTION("a relative interpreter: the exact message") {
    const std::string path = make_backend(dir / "backend", 0700, "#!sh\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "the #! line of " + path + " names the relative interpreter \"sh\", which the kernel would look up "
                     "from the working directory: write its absolute path, e.g. #!/bin/sh");
  }
  SECTION("an interpreter with the setuid bit, or not executable") {
    copy_program("/bin/sh", dir / "suid-sh", 04755);
    copy_program("/bin/sh", dir / "noexec-sh", 0644);
    require_rejected({make_backend(dir / "b1", 0700, "#!" + dir / "suid-sh" + "\n"), false, ""}, Code::exec_rejected,
                     "has the setuid or setgid bit: run chmod ug-s " + dir / "suid-sh");
    require_rejected({make_backend(dir / "b2", 0700, "#!" + dir / "noexec-sh" + "\n"), false, ""}, Code::exec_rejected,
                     "is not executable by root: run chmod u+x " + dir / "noexec-sh");
  }
  SECTION("neither ELF nor #!") {
    const std::string path = make_backend(dir / "backend", 0700, "echo hello\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     path + " is neither an ELF executable nor a #! script, so only a binfmt_misc handler could run it");
  }
}

TEST_CASE("what runs: #!/usr/bin/env NAME is checked where env finds NAME") {
  TempDir dir;
  SECTION("NAME in the default PATH /usr/bin:/bin") {
    const std::string path = make_backend(dir / "backend", 0700, "#!/usr/bin/env sh\n");
    ExecutableReport report;
    require_ok({path, false, ""}, &report);
    const sts::CheckRule* env = find_rule(report, "env sh");
    REQUIRE(env != nullptr);
    CHECK(env->detail == "sh is /usr/bin/sh (PATH /usr/bin:/bin)");
    CHECK(find_rule(report, "interpreter /usr/bin/env") != nullptr);
    CHECK(find_rule(report, "interpreter /usr/bin/sh") != nullptr);
    CHECK(find_rule(report, "PATH folder /usr/bin") != nullptr);
  }
  const std::string path = make_backend(dir / "backend", 0700, "#!/usr/bin/env sh\n");
  SECTION("a world-writable folder earlier in an allow-listed PATH") {
    make_dir(dir / "ww", 0777);
    CheckOptions options{path, false, ""};
    options.child_path = dir / "ww" + ":/usr/bin:/bin";
    require_rejected(options, Code::exec_rejected,
                     "PATH folder " + dir / "ww" + " searched by env for sh of " + path +
                         " (mode 0777, owner root) is writable by group or others, so someone else could add files "
                         "to it: run chmod go-w " + dir / "ww");
  }
  SECTION("a sticky world-writable folder earlier in PATH (anyone may add sh there)") {
    make_dir(dir / "tmp", 01777);
    CheckOptions options{path, false, ""};
    options.child_path = dir / "tmp" + ":/usr/bin";
    require_rejected(options, Code::exec_rejected,
                     "is writable by group or others (sticky does not help here: anyone may add a missing name)");
    require_rejected(options, Code::exec_rejected,
                     "name the interpreter by its absolute path on the #! line of " + path);
  }
  SECTION("a missing PATH folder others could create") {
    make_dir(dir / "tmp", 01777);
    CheckOptions options{path, false, ""};
    options.child_path = dir / "tmp/bin" + ":/usr/bin";
    require_rejected(options, Code::exec_rejected, "so someone else could create " + dir / "tmp/bin");
  }
  SECTION("a missing PATH folder nobody else can create is skipped") {
    CheckOptions options{path, false, ""};
    options.child_path = dir / "nope" + ":/usr/bin";
    require_ok(options);
  }
  SECTION("a relative PATH entry") {
    CheckOptions options{path, false, ""};
    options.child_path = ":/usr/bin";
    require_rejected(options, Code::exec_rejected, "in the relative PATH entry \"\", the working directory");
  }
  SECTION("NAME found in a good folder of our own") {
    make_dir(dir / "bin", 0755);
    make_backend(dir / "bin/sh", 0755, "#!/bin/sh\n");
    CheckOptions options{path, false, ""};
    options.child_path = dir / "bin" + ":/usr/bin";
    ExecutableReport report;
    require_ok(options, &report);
    CHECK(find_rule(report, "interpreter " + dir / "bin/sh") != nullptr);
  }
  SECTION("NAME is not in PATH") {
    const std::string p = make_backend(dir / "b", 0700, "#!/usr/bin/env no-such-interpreter-x\n");
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "env would not find no-such-interpreter-x (#! line of " + p +
                         ") in the backend's PATH /usr/bin:/bin");
  }
  SECTION("arguments that change what env runs are refused") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"#!/usr/bin/env -S sh -e\n", "is an env option, which changes what env runs"},
        {"#!/usr/bin/env A=1\n", "is a variable assignment"},
        {"#!/usr/bin/env sh -e\n", "holds a space"},
        {"#!/usr/bin/env bin/sh\n", "is a relative path"},
        {"#!/usr/bin/env\n", "runs env without a program name"},
    };
    for (const auto& [line, fragment] : cases) {
      INFO(line);
      require_rejected({make_backend(dir / "b", 0700, line), false, ""}, Code::exec_rejected, fragment);
    }
  }
  SECTION("an absolute NAME is checked as an interpreter") {
    make_dir(dir / "ww", 0777);
    copy_program("/bin/sh", dir / "ww/sh");
    require_rejected({make_backend(dir / "b", 0700, "#!/usr/bin/env " + dir / "ww/sh" + "\n"), false, ""},
                     Code::exec_rejected, "directory " + dir / "ww" + " (mode 0777");
  }
}

TEST_CASE("what runs: an ELF file's loader and search folders") {
  TempDir dir;
  make_dir(dir / "ww", 0777);
  make_dir(dir / "sticky", 01777);
  make_dir(dir / "lib", 0755);
  SECTION("the system loader is accepted and listed") {
    ExecutableReport report;
    require_ok({make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {}, 3}), false, ""}, &report);
    const sts::CheckRule* loader = find_rule(report, "loader " + kLoader);
    REQUIRE(loader != nullptr);
    CHECK(loader->ok);
  }
  SECTION("a loader in a world-writable folder") {
    copy_program(kLoader, dir / "ww/ld.so");
    const std::string p = make_elf_backend(dir / "b", ElfSpec{64, false, dir / "ww/ld.so", {}, {}, 3});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others (loader " +
                         dir / "ww/ld.so" + " of " + p + "): run chmod go-w " + dir / "ww");
  }
  SECTION("a relative loader") {
    require_rejected({make_elf_backend(dir / "b", ElfSpec{64, false, std::string("ld.so"), {}, {}, 3}), false, ""},
                     Code::exec_rejected, "is not an absolute path, so the kernel would take it from the working directory");
  }
  SECTION("a missing loader") {
    const std::string p = make_elf_backend(dir / "b", ElfSpec{64, false, dir / "ld.so", {}, {}, 3});
    require_rejected({p, false, ""}, Code::exec_rejected, "loader " + dir / "ld.so" + " of " + p + " does not exist");
  }
  SECTION("$ORIGIN/lib, a folder of its own, is accepted") {
    ExecutableReport report;
    require_ok({make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {"$ORIGIN/lib"}, 3}), false, ""}, &report);
    const sts::CheckRule* rpath = find_rule(report, "rpath " + dir / "lib");
    REQUIRE(rpath != nullptr);
    CHECK(rpath->detail == "mode 0755, owner root");
  }
  SECTION("${ORIGIN}/../ww through DT_RPATH") {
    make_dir(dir / "bin", 0700);
    const std::string p = make_elf_backend(dir / "bin/b", ElfSpec{64, false, kLoader, {"${ORIGIN}/../ww"}, {}, 3});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "rpath " + dir / "bin/../ww" + " of " + p + " -> " + dir / "ww" +
                         " (mode 0777, owner root) is writable by group or others, so someone else could add files to "
                         "it: run chmod go-w " + dir / "ww");
  }
  SECTION("$ORIGIN is the file's real folder, not the link's") {
    make_dir(dir / "real", 0700);
    make_dir(dir / "real/lib", 0755);
    make_elf_backend(dir / "real/b", ElfSpec{64, false, kLoader, {}, {"$ORIGIN/lib"}, 3});
    make_link(dir / "real/b", dir / "b");
    ExecutableReport report;
    require_ok({dir / "b", false, ""}, &report);
    CHECK(find_rule(report, "rpath " + dir / "real/lib") != nullptr);
  }
  SECTION("a sticky world-writable search folder: anyone may add a missing library") {
    const std::string p = make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {dir / "sticky"}, 3});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "rpath " + dir / "sticky" + " of " + p +
                         " (mode 1777, owner root, sticky) is writable by group or others (sticky does not help here: "
                         "anyone may add a missing name), so someone else could add files to it: relink " + p +
                         " with a library folder of its own in -Wl,-rpath (or patchelf --set-rpath DIR " + p + ")");
  }
  SECTION("a missing search folder: fine when nobody else can create it") {
    ExecutableReport report;
    require_ok({make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {dir / "lib/none"}, 3}), false, ""},
               &report);
    const sts::CheckRule* rpath = find_rule(report, "rpath " + dir / "lib/none");
    REQUIRE(rpath != nullptr);
    CHECK_THAT(rpath->detail, Catch::Matchers::Contains("does not exist; " + dir / "lib" + " (mode 0755, owner root)"));
  }
  SECTION("a missing search folder in a sticky folder") {
    const std::string p = make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {dir / "sticky/lib"}, 3});
    require_rejected({p, false, ""}, Code::exec_rejected, "so someone else could create " + dir / "sticky/lib");
  }
  SECTION("$LIB, $PLATFORM, unknown tokens, relative and empty entries are refused") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"$LIB/x", "uses a token other than $ORIGIN"},
        {"/opt/${PLATFORM}", "uses a token other than $ORIGIN"},
        {"$ORIGINAL", "uses a token other than $ORIGIN"},
        {"lib", "is relative, so ld.so would take it from the working directory"},
        {"/opt/a::/opt/b", "is empty, which ld.so reads as the working directory"},
    };
    for (const auto& [entry, fragment] : cases) {
      INFO(entry);
      require_rejected({make_elf_backend(dir / "b", ElfSpec{64, false, kLoader, {}, {entry}, 3}), false, ""},
                       Code::exec_rejected, fragment);
    }
  }
  SECTION("a malformed ELF backend") {
    const std::string p = make_backend(dir / "b", 0700, std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(20, '\0'));
    require_rejected({p, false, ""}, Code::exec_rejected, p + " cannot be checked: its ELF header is cut short");
  }
  SECTION("a real toolchain's RPATH and RUNPATH") {
    if (!have_cc()) { WARN("no /usr/bin/cc: skipped"); return; }
    compile(dir / "rpath", {"-Wl,-rpath," + dir / "ww", "-Wl,--disable-new-dtags"});
    require_rejected({dir / "rpath", false, ""}, Code::exec_rejected, "rpath " + dir / "ww" + " of " + dir / "rpath");
    compile(dir / "good", {"-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags"});
    ExecutableReport report;
    require_ok({dir / "good", false, ""}, &report);
    CHECK(find_rule(report, "rpath " + dir / "lib") != nullptr);
  }
}

TEST_CASE("what runs: libraries and audit modules an ELF file names by path") {
  TempDir dir;
  make_dir(dir / "ww", 0777);
  make_dir(dir / "sticky", 01777);
  make_dir(dir / "lib", 0755);
  sts::test::write_file(dir / "lib/libx.so", "library", 0644);
  const auto elf = [&](std::vector<std::pair<std::uint64_t, std::string>> names) {
    ElfSpec spec{64, false, kLoader, {}, {}, 3};
    spec.names = std::move(names);
    return make_elf_backend(dir / "b", spec);
  };
  SECTION("DT_FILTER and DT_AUXILIARY in a world-writable folder") {
    sts::test::write_file(dir / "ww/f.so", "library", 0644);
    const std::string p = elf({{kDtFilter, dir / "ww/f.so"}});
    require_rejected({p, false, ""}, Code::exec_rejected, "(filter " + dir / "ww/f.so" + " of " + p + ")");
    const std::string q = elf({{kDtAuxiliary, dir / "ww/f.so"}});
    require_rejected({q, false, ""}, Code::exec_rejected, "(auxiliary " + dir / "ww/f.so" + " of " + q + ")");
  }
  SECTION("a library in a sticky folder: anyone may add the name again once it is gone") {
    sts::test::write_file(dir / "sticky/libx.so", "library", 0644);
    const std::string p = elf({{kDtNeeded, dir / "sticky/libx.so"}});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "needed " + dir / "sticky/libx.so" + " of " + p + " (mode 0644, owner root) is in the sticky folder " +
                         dir / "sticky" + " (mode 1777, owner root), where anyone may create that name once the file is "
                         "gone: install a copy in a folder of its own: install -D -o root -m 0700 " + dir / "sticky/libx.so" +
                         " /opt/stsecrets/libx.so, then relink " + p + " against /opt/stsecrets/libx.so");
  }
  SECTION("a missing library, a folder, another user's library") {
    const std::string p = elf({{kDtNeeded, dir / "lib/none.so"}});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "needed " + dir / "lib/none.so" + " of " + p + " does not exist: install it or relink " + p +
                         " against the right library");
    const std::string q = elf({{kDtNeeded, dir / "lib"}});
    require_rejected({q, false, ""}, Code::exec_rejected, "needed " + dir / "lib" + " of " + q + " is a directory, not a regular file");
    sts::test::write_file(dir / "lib/theirs.so", "library", 0600);
    REQUIRE(::chown((dir / "lib/theirs.so").c_str(), kOtherUid, kOtherGid) == 0);
    const std::string r = elf({{kDtNeeded, dir / "lib/theirs.so"}});
    require_rejected({r, false, ""}, Code::exec_rejected,
                     "needed " + dir / "lib/theirs.so" + " of " + r +
                         " (mode 0600, owner uid 54321) is not owned by root (the effective user): run chown root " +
                         dir / "lib/theirs.so");
  }
  SECTION("$ORIGIN is the file's real folder; links on the way are followed through checked folders") {
    make_dir(dir / "real", 0700);
    make_dir(dir / "real/lib", 0755);
    sts::test::write_file(dir / "real/lib/libx.so", "library", 0644);
    make_link(dir / "lib/libx.so", dir / "real/lib/liby.so");
    ElfSpec spec{64, false, kLoader, {}, {}, 3};
    spec.names = {{kDtNeeded, "$ORIGIN/lib/libx.so"}, {kDtAudit, "${ORIGIN}/lib/liby.so"}};
    make_elf_backend(dir / "real/b", spec);
    make_link(dir / "real/b", dir / "b");
    ExecutableReport report;
    require_ok({dir / "b", false, ""}, &report);
    CHECK(find_rule(report, "needed " + dir / "real/lib/libx.so") != nullptr);
    const sts::CheckRule* audit = find_rule(report, "audit " + dir / "real/lib/liby.so");
    REQUIRE(audit != nullptr);
    CHECK(audit->detail == "-> " + dir / "lib/libx.so" + ", mode 0644, owner root");
  }
  SECTION("$LIB, $PLATFORM, other tokens, relative paths and control characters are refused") {
    const std::vector<std::tuple<std::uint64_t, std::string, std::string>> cases{
        {kDtNeeded, "$LIB/libx.so", "the DT_NEEDED entry \"$LIB/libx.so\" of " + dir / "b" +
                                        " uses a token other than $ORIGIN ($LIB and $PLATFORM expand differently per system)"},
        {kDtNeeded, "lib$PLATFORM.so", "uses a token other than $ORIGIN"},
        {kDtFilter, "./f.so", "the DT_FILTER entry \"./f.so\" of " + dir / "b" + " is a relative path"},
        {kDtAuxiliary, "x/a.so", "-Wl,--auxiliary"},
        {kDtDepaudit, "../d.so", "the DT_DEPAUDIT entry \"../d.so\" of " + dir / "b" + " is a relative path"},
        {kDtNeeded, "/opt/li\x1b" "b.so", "the DT_NEEDED entry \"/opt/li\\x1bb.so\" of " + dir / "b" + " holds control characters"},
    };
    for (const auto& [tag, name, fragment] : cases) {
      INFO(name);
      require_rejected({elf({{tag, name}}), false, ""}, Code::exec_rejected, fragment);
    }
  }
  SECTION("names without '/' are found as before (rpath folders, system folders)") {
    ExecutableReport report;
    require_ok({elf({{kDtNeeded, "libc.so.6"}, {kDtFilter, "libf.so"}, {kDtAudit, "aud.so"}}), false, ""}, &report);
    CHECK(find_rule(report, "needed libc.so.6") == nullptr);
    CHECK(find_rule(report, "filter libf.so") == nullptr);
    CHECK(find_rule(report, "audit aud.so") != nullptr);
  }
  SECTION("a library named by path is read in turn: its own names and search folders") {
    ElfSpec lib{64, false, std::nullopt, {}, {}, 3};
    lib.names = {{kDtNeeded, dir / "ww/liby.so"}};
    sts::test::write_file(dir / "lib/liba.so", build_elf(lib), 0644);
    sts::test::write_file(dir / "ww/liby.so", "library", 0644);
    const std::string p = elf({{kDtNeeded, dir / "lib/liba.so"}});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     "directory " + dir / "ww" + " (mode 0777, owner root) is writable by group or others (needed " +
                         dir / "ww/liby.so" + " of " + dir / "lib/liba.so" + "): run chmod go-w " + dir / "ww");
    lib.names = {};
    lib.runpath = {"$ORIGIN/../ww"};
    sts::test::write_file(dir / "lib/liba.so", build_elf(lib), 0644);
    require_rejected({p, false, ""}, Code::exec_rejected, "rpath " + dir / "lib/../ww" + " of " + dir / "lib/liba.so");
  }
  SECTION("libraries that name each other are read once; a malformed one is refused") {
    ElfSpec lib{64, false, std::nullopt, {}, {}, 3};
    lib.names = {{kDtNeeded, "$ORIGIN/liba.so"}, {kDtNeeded, dir / "lib/libx.so"}};
    sts::test::write_file(dir / "lib/liba.so", build_elf(lib), 0644);
    ExecutableReport report;
    require_ok({elf({{kDtNeeded, dir / "lib/liba.so"}, {kDtNeeded, dir / "lib/liba.so"}}), false, ""}, &report);
    CHECK(find_rule(report, "needed " + dir / "lib/liba.so") != nullptr);
    CHECK(find_rule(report, "needed " + dir / "lib/libx.so") != nullptr);
    lib.dt_null = false;
    sts::test::write_file(dir / "lib/liba.so", build_elf(lib), 0644);
    const std::string p = elf({{kDtNeeded, dir / "lib/liba.so"}});
    require_rejected({p, false, ""}, Code::exec_rejected,
                     dir / "lib/liba.so" + " (needed " + dir / "lib/liba.so" + " of " + p +
                         ") cannot be checked: its ELF dynamic section has no DT_NULL end: replace it with a valid "
                         "library or relink " + p + " against the right library");
  }
  SECTION("an interpreter's own libraries are checked too") {
    ElfSpec spec{64, false, kLoader, {}, {}, 3};
    spec.names = {{kDtNeeded, dir / "ww/libx.so"}};
    sts::test::write_file(dir / "ww/libx.so", "library", 0644);
    sts::test::write_file(dir / "interp", build_elf(spec), 0755);
    const std::string p = make_backend(dir / "script", 0700, "#!" + dir / "interp" + "\n");
    require_rejected({p, false, ""}, Code::exec_rejected, "(needed " + dir / "ww/libx.so" + " of " + dir / "interp" + ")");
  }
}

TEST_CASE("sticky folders: links are followed only when the kernel's protected_symlinks rule allows") {
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  make_dir(dir / "good", 0755);
  make_dir(dir / "sticky", 01777);
  const std::string real = make_backend(dir / "good/backend", 0700);
  SECTION("a link of root's in root's sticky folder") {
    make_link(real, dir / "sticky/backend");
    require_ok({dir / "sticky/backend", false, ""});
  }
  SECTION("a link of another user's in a folder that is not sticky is the folder rule's business") {
    make_link(real, dir / "good/link");
    REQUIRE(::lchown((dir / "good/link").c_str(), kOtherUid, kOtherGid) == 0);
    require_ok({dir / "good/link", false, ""});
  }
  SECTION("an interpreter reached through another user's link in a sticky folder") {
    make_link("/bin/sh", dir / "sticky/sh");
    REQUIRE(::lchown((dir / "sticky/sh").c_str(), kOtherUid, kOtherGid) == 0);
    const std::string path = make_backend(dir / "backend", 0700, "#!" + dir / "sticky/sh" + "\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "so it is not followed (interpreter " + dir / "sticky/sh" + " of " + path +
                         "): name the interpreter's real path on the #! line of " + path);
  }
  SECTION("an unprivileged caller: its own link and root's are followed, a third user's is not") {
    make_link(real, dir / "sticky/mine");
    REQUIRE(::lchown((dir / "sticky/mine").c_str(), kOtherUid, kOtherGid) == 0);
    make_link(real, dir / "sticky/roots");
    make_link(real, dir / "sticky/third");
    REQUIRE(::lchown((dir / "sticky/third").c_str(), kOtherUid + 1, kOtherGid) == 0);
    // The target must be the caller's own: a copy owned by uid 54321.
    make_dir(dir / "theirs", 0755);
    REQUIRE(::chown((dir / "theirs").c_str(), kOtherUid, kOtherGid) == 0);
    const std::string own = make_backend(dir / "theirs/backend", 0700);
    REQUIRE(::chown(own.c_str(), kOtherUid, kOtherGid) == 0);
    REQUIRE(::unlink((dir / "sticky/mine").c_str()) == 0);
    REQUIRE(::unlink((dir / "sticky/roots").c_str()) == 0);
    REQUIRE(::unlink((dir / "sticky/third").c_str()) == 0);
    make_link(own, dir / "sticky/mine");
    REQUIRE(::lchown((dir / "sticky/mine").c_str(), kOtherUid, kOtherGid) == 0);
    make_link(own, dir / "sticky/roots");
    make_link(own, dir / "sticky/third");
    REQUIRE(::lchown((dir / "sticky/third").c_str(), kOtherUid + 1, kOtherGid) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      gid_t groups[] = {kOtherGid};
      if (::setgroups(1, groups) != 0 || ::setgid(kOtherGid) != 0 || ::setuid(kOtherUid) != 0) ::_exit(100);
      if (!sts::platform::check_executable({dir / "sticky/mine", false, ""})) ::_exit(1);
      if (!sts::platform::check_executable({dir / "sticky/roots", false, ""})) ::_exit(2);
      auto r = sts::platform::check_executable({dir / "sticky/third", false, ""});
      if (r || r.error().message.find("is owned by uid 54322, not by root or uid 54321 (the effective user) or the "
                                      "folder's owner") == std::string::npos) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    INFO("the child's first failed step");
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("fixes never harm the host: shared files and system folders get a copy of one's own") {
  TempDir dir;
  SECTION("the exact message for a system file as the backend") {
    require_rejected({"/usr/bin/env", false, ""}, Code::exec_rejected,
                     "group and others have rights on /usr/bin/env (mode 0755): it is a shared system file, so leave it "
                     "as it is and install a copy or a wrapper in a folder of its own: install -D -o root -m 0700 "
                     "/usr/bin/env /opt/stsecrets/env, then set secret_backend_command to /opt/stsecrets/env");
  }
  SECTION("a file other users may execute, owned by another user") {
    const std::string path = make_backend(dir / "backend", 0755);
    REQUIRE(::chown(path.c_str(), kOtherUid, kOtherGid) == 0);
    ExecutableReport report;
    auto r = sts::platform::check_executable({path, false, ""}, &report);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Matchers::Contains("install -D -o root -m 0700 " + path));
    for (const auto& rule : report.rules) {
      CHECK(rule.fix.find("chmod 700") == std::string::npos);
      CHECK(rule.fix.find("chown") == std::string::npos);
    }
  }
  SECTION("the effective user's own file keeps the chmod fix (SPEC 5's example)") {
    const std::string path = make_backend(dir / "backend", 0755);
    require_rejected({path, false, ""}, Code::exec_rejected, "(mode 0755): run chmod 700 " + path);
  }
  SECTION("an interpreter other users may execute, owned by another user") {
    const std::string interp = copy_program("/bin/sh", dir / "sh");
    REQUIRE(::chown(interp.c_str(), kOtherUid, kOtherGid) == 0);
    const std::string path = make_backend(dir / "backend", 0700, "#!" + interp + "\n");
    require_rejected({path, false, ""}, Code::exec_rejected,
                     "interpreter " + interp + " of " + path + " (mode 0755, owner uid 54321) is not owned by root (the "
                     "effective user): it is a shared system file, so leave it as it is and install a copy or a wrapper "
                     "in a folder of its own: install -D -o root -m 0700 " + interp + " /opt/stsecrets/sh, then name "
                     "/opt/stsecrets/sh on the #! line of " + path);
  }
  SECTION("a system folder on the ancestor walk") {
    // A short-lived folder under /usr/local (a system folder by SPEC 5), removed at once.
    char tmpl[] = "/usr/local/sts-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) { WARN("cannot create a folder under /usr/local: skipped"); return; }
    const std::string sys = tmpl;
    struct Cleanup {
      std::string dir;
      ~Cleanup() { (void)sts::test::run_command({"/bin/rm", "-rf", dir}); }
    } cleanup{sys};
    REQUIRE(::chmod(sys.c_str(), 0777) == 0);
    const std::string path = make_backend(sys + "/backend", 0700);
    ExecutableReport report;
    auto r = sts::platform::check_executable({path, false, ""}, &report);
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "directory " + sys + " (mode 0777, owner root) is writable by group or others: it is a system folder, so "
          "leave it as it is and install a copy or a wrapper in a folder of its own: install -D -o root -m 0700 " +
              path + " /opt/stsecrets/backend, then set secret_backend_command to /opt/stsecrets/backend");
    const sts::CheckRule* rule = find_rule(report, "directory " + sys);
    REQUIRE(rule != nullptr);
    CHECK(rule->fix.find("chmod") == std::string::npos);
  }
}

TEST_CASE("performance: the fetcher's success path looks up no user or group names") {
  TempDir dir;
  const std::string path = make_backend(dir / "backend", 0700);
  const auto before = sts::posix::name_lookups();
  for (int i = 0; i < 3; ++i) require_ok({path, false, ""});
  CHECK(sts::posix::name_lookups() == before);
  ExecutableReport report;
  require_ok({path, false, ""}, &report);  // the report names owners: lookups happen here
  CHECK(sts::posix::name_lookups() > before);
}

TEST_CASE("performance: an ELF file's libraries named by path cost no name lookups on the fetcher's path") {
  TempDir dir;
  sts::test::write_file(dir / "libx.so", "library", 0644);
  ElfSpec spec{64, false, kLoader, {}, {}, 3};
  spec.names = {{kDtNeeded, dir / "libx.so"}, {kDtAudit, dir / "libx.so"}};
  const std::string path = make_elf_backend(dir / "backend", spec);
  const auto before = sts::posix::name_lookups();
  require_ok({path, false, ""});
  CHECK(sts::posix::name_lookups() == before);
}

// ---- SPEC 2: the main config file -------------------------------------------------------------

namespace {

void require_config_rejected(const std::string& path, Code code, const std::string& fragment) {
  const auto before = sts::test::open_fds();
  std::vector<sts::CheckRule> rules;
  auto st = sts::platform::check_config_file(path, &rules);
  REQUIRE_FALSE(st);
  INFO(st.error().message);
  CHECK(st.error().code == code);
  CHECK_THAT(st.error().message, Catch::Matchers::Contains(fragment));
  CHECK(st.error().message.find('\n') == std::string::npos);
  bool failed_rule = false;
  for (const auto& rule : rules) failed_rule = failed_rule || !rule.ok;
  CHECK(failed_rule);
  auto quiet = sts::platform::check_config_file(path);
  REQUIRE_FALSE(quiet);
  CHECK(quiet.error().message == st.error().message);
  CHECK(sts::test::open_fds() == before);
}

void require_config_ok(const std::string& path) {
  std::vector<sts::CheckRule> rules;
  auto st = sts::platform::check_config_file(path, &rules);
  if (!st) FAIL("unexpected rejection: " << st.error().message);
  for (const auto& rule : rules) CHECK(rule.ok);
  CHECK(sts::platform::check_config_file(path));
}

}  // namespace

TEST_CASE("config file: the permission matrix") {
  TempDir dir;
  const std::string cfg = dir / "stackstate.yaml";
  struct Row {
    unsigned mode;
    bool ok;
  };
  for (const Row row : {Row{0600, true}, Row{0644, true}, Row{0400, true}, Row{0640, true}, Row{0664, false},
                        Row{0620, false}, Row{0602, false}, Row{0666, false}, Row{0777, false}}) {
    DYNAMIC_SECTION("mode 0" << std::oct << row.mode) {
      sts::test::write_file(cfg, "a: 1\n", row.mode);
      if (row.ok) {
        require_config_ok(cfg);
      } else {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", row.mode);
        require_config_rejected(cfg, Code::config_insecure,
                                "config file " + cfg + " (mode " + mode + ", owner root) is writable by group or others, "
                                "so others could choose what runs as the agent or which secrets it gets: run chmod go-w " + cfg);
      }
    }
  }
}

TEST_CASE("config file: owners, folders, links and bad paths") {
  TempDir dir;
  SECTION("the report lists the folders and the file") {
    const std::string cfg = dir / "stackstate.yaml";
    sts::test::write_file(cfg, "a: 1\n", 0600);
    std::vector<sts::CheckRule> rules;
    REQUIRE(sts::platform::check_config_file(cfg, &rules));
    std::vector<std::string> names;
    for (const auto& rule : rules) names.push_back(rule.name);
    CHECK(names == std::vector<std::string>{"directory /", "directory /tmp", "directory " + dir.path(),
                                            "config file " + cfg});
    CHECK(rules.back().detail == "mode 0600, owner root");
  }
  SECTION("owned by another user") {
    const std::string cfg = dir / "stackstate.yaml";
    sts::test::write_file(cfg, "a: 1\n", 0600);
    REQUIRE(::chown(cfg.c_str(), kOtherUid, kOtherGid) == 0);
    require_config_rejected(cfg, Code::config_insecure,
                            "config file " + cfg + " (mode 0600, owner uid 54321) is not owned by root (the effective "
                            "user), so others could choose what runs as the agent or which secrets it gets: run chown root " + cfg);
  }
  SECTION("another user's and writable: both fixes") {
    const std::string cfg = dir / "stackstate.yaml";
    sts::test::write_file(cfg, "a: 1\n", 0600);
    REQUIRE(::chown(cfg.c_str(), kOtherUid, kOtherGid) == 0);
    REQUIRE(::chmod(cfg.c_str(), 0666) == 0);
    require_config_rejected(cfg, Code::config_insecure, "run chown root " + cfg + " && chmod go-w " + cfg);
  }
  SECTION("a world-writable folder above it") {
    make_dir(dir / "etc", 0777);
    sts::test::write_file(dir / "etc/s.yaml", "a: 1\n", 0600);
    require_config_rejected(dir / "etc/s.yaml", Code::config_insecure,
                            "directory " + dir / "etc" + " (mode 0777, owner root) is writable by group or others "
                            "(config file " + dir / "etc/s.yaml" + "): run chmod go-w " + dir / "etc");
  }
  SECTION("a folder above it owned by another user") {
    make_dir(dir / "etc", 0755);
    REQUIRE(::chown((dir / "etc").c_str(), kOtherUid, kOtherGid) == 0);
    sts::test::write_file(dir / "etc/s.yaml", "a: 1\n", 0600);
    require_config_rejected(dir / "etc/s.yaml", Code::config_insecure, "is not owned by root (the effective user)");
  }
  SECTION("a sticky folder above it is fine, a sticky file's link of another user is not") {
    make_dir(dir / "sticky", 01777);
    sts::test::write_file(dir / "sticky/s.yaml", "a: 1\n", 0600);
    require_config_ok(dir / "sticky/s.yaml");
    make_link(dir / "sticky/s.yaml", dir / "sticky/link.yaml");
    REQUIRE(::lchown((dir / "sticky/link.yaml").c_str(), kOtherUid, kOtherGid) == 0);
    require_config_rejected(dir / "sticky/link.yaml", Code::config_insecure,
                            "is owned by uid 54321, not by root (the effective user) or the folder's owner, so it is "
                            "not followed (config file " + dir / "sticky/link.yaml" + "): pass the config file's real "
                            "path with --config");
  }
  SECTION("a good link: followed and shown") {
    sts::test::write_file(dir / "real.yaml", "a: 1\n", 0600);
    make_link("real.yaml", dir / "s.yaml");
    std::vector<sts::CheckRule> rules;
    REQUIRE(sts::platform::check_config_file(dir / "s.yaml", &rules));
    CHECK(rules.back().detail == "-> " + dir / "real.yaml" + ", mode 0600, owner root");
  }
  SECTION("missing, a directory, a missing folder: unreadable, not insecure") {
    require_config_rejected(dir / "none.yaml", Code::config_unreadable,
                            "config file " + dir / "none.yaml" + " does not exist: pass the right file with --config");
    require_config_rejected(dir / "none/s.yaml", Code::config_unreadable,
                            "does not exist (" + dir / "none" + " is missing)");
    require_config_rejected(dir.path(), Code::config_unreadable, "is a directory, not a regular file");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    require_config_rejected(dir / "fifo", Code::config_unreadable, "is a fifo, not a regular file");
    auto empty = sts::platform::check_config_file("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == Code::config_unreadable);
  }
  SECTION("a relative path is taken from the working directory") {
    sts::test::write_file(dir / "s.yaml", "a: 1\n", 0666);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::chdir(dir.path().c_str()) != 0) ::_exit(100);
      auto st = sts::platform::check_config_file("s.yaml");
      ::_exit(!st && st.error().code == Code::config_insecure &&
                      st.error().message.find("config file " + dir / "s.yaml" + " (mode 0666") != std::string::npos
                  ? 0
                  : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("an unprivileged caller: its own file and root's are fine, another user's is not") {
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    sts::test::write_file(dir / "mine.yaml", "a: 1\n", 0600);
    REQUIRE(::chown((dir / "mine.yaml").c_str(), kOtherUid, kOtherGid) == 0);
    sts::test::write_file(dir / "roots.yaml", "a: 1\n", 0644);
    sts::test::write_file(dir / "third.yaml", "a: 1\n", 0644);
    REQUIRE(::chown((dir / "third.yaml").c_str(), kOtherUid + 1, kOtherGid) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      gid_t groups[] = {kOtherGid};
      if (::setgroups(1, groups) != 0 || ::setgid(kOtherGid) != 0 || ::setuid(kOtherUid) != 0) ::_exit(100);
      if (!sts::platform::check_config_file(dir / "mine.yaml")) ::_exit(1);
      if (!sts::platform::check_config_file(dir / "roots.yaml")) ::_exit(2);
      auto st = sts::platform::check_config_file(dir / "third.yaml");
      if (st || st.error().message.find("is not owned by root or uid 54321 (the effective user)") == std::string::npos ||
          st.error().message.find("run chown 54321 " + dir / "third.yaml") == std::string::npos) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    INFO("the child's first failed step");
    CHECK(WEXITSTATUS(status) == 0);
  }
}

// ld.so looks for a name without '/' (DT_NEEDED libzz.so) in the DT_RPATH/DT_RUNPATH folders and
// first in subfolders of them that depend on the CPU and glibc (glibc-hwcaps/x86-64-v2, tls,
// x86_64, ...). A checked folder could still hand ld.so another user's file: a link in it, a
// subfolder of theirs, or a library of root's that names theirs by path (review of the fixes).
TEST_CASE("attack: a library found by name in a DT_RUNPATH folder") {
  if (!have_cc()) { WARN("no /usr/bin/cc: skipped"); return; }
  TempDir dir;
  make_dir(dir / "lib", 0755);
  make_dir(dir / "evil", 0755);
  REQUIRE(::chown((dir / "evil").c_str(), kOtherUid, kOtherGid) == 0);
  const std::string backend = dir / "backend";
  compile_library(dir / "lib/libzz.so", {"-Wl,-soname,libzz.so"});
  compile(backend, {"-L" + dir / "lib", "-Wl,--no-as-needed", "-lzz", "-Wl,--enable-new-dtags", "-Wl,-rpath," + dir / "lib"},
          kCallsLib);
  const std::string not_owned = " (mode 0755, owner uid 54321) is not owned by root (the effective user)";
  SECTION("a link in the folder to another user's library") {
    compile_library(dir / "evil/libzz.so", {"-Wl,-soname,libzz.so"});
    REQUIRE(::chown((dir / "evil/libzz.so").c_str(), kOtherUid, kOtherGid) == 0);
    REQUIRE(::unlink((dir / "lib/libzz.so").c_str()) == 0);
    make_link(dir / "evil/libzz.so", dir / "lib/libzz.so");
    require_rejected({backend, false, ""}, Code::exec_rejected, "directory " + dir / "evil" + not_owned);
  }
  SECTION("a glibc-hwcaps subfolder of another user's, searched before the folder itself") {
    make_dir(dir / "lib/glibc-hwcaps", 0755);
    make_dir(dir / "lib/glibc-hwcaps/x86-64-v2", 0755);
    REQUIRE(::chown((dir / "lib/glibc-hwcaps/x86-64-v2").c_str(), kOtherUid, kOtherGid) == 0);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "folder " + dir / "lib/glibc-hwcaps/x86-64-v2" + " below rpath " + dir / "lib" + " of " + backend +
                         not_owned + ", so someone else could add files to it: relink " + backend +
                         " with a library folder of its own in -Wl,-rpath (or patchelf --set-rpath DIR " + backend + ")");
  }
  SECTION("a legacy hwcap subfolder this CPU's ld.so would not search is held to the rule too (the verdict is CPU-independent)") {
    make_dir(dir / "lib/tls", 0755);
    make_dir(dir / "lib/tls/haswell", 0777);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "folder " + dir / "lib/tls/haswell" + " below rpath " + dir / "lib" + " of " + backend +
                         " (mode 0777, owner root) is writable by group or others, so someone else could add files to "
                         "it: run chmod go-w " + dir / "lib/tls/haswell");
  }
  SECTION("root's library found by name names another user's by path") {
    compile_library(dir / "evil/libe.so", {"-Wl,-soname," + dir / "evil/libe.so"});
    REQUIRE(::chown((dir / "evil/libe.so").c_str(), kOtherUid, kOtherGid) == 0);
    compile(dir / "lib/libzz.so",
            {"-shared", "-fPIC", "-Wl,-soname,libzz.so", "-Wl,--no-as-needed", dir / "evil/libe.so"},
            "void sts_test_lib(void) {}\n", 0644);
    require_rejected({backend, false, ""}, Code::exec_rejected, "directory " + dir / "evil" + not_owned);
  }
  SECTION("more search folders than the check reads is refused, not skipped") {
    make_dir(dir / "lib/glibc-hwcaps", 0755);
    for (int i = 0; i < 70; ++i) make_dir(dir / ("lib/glibc-hwcaps/v" + std::to_string(i)), 0755);
    require_rejected({backend, false, ""}, Code::exec_rejected,
                     "ld.so searches the folders below rpath " + dir / "lib" + " of " + backend +
                         ", and there are more than 64 to check: keep only libraries in " + dir / "lib");
  }
  SECTION("a search folder the effective user cannot list is refused, not skipped") {
    // As uid 54321: its own backend, root's lib folder 0711 (searchable, not listable).
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    REQUIRE(::chmod((dir / "lib").c_str(), 0711) == 0);
    REQUIRE(::chown(backend.c_str(), kOtherUid, kOtherGid) == 0);
    const std::string expected = "cannot list " + dir / "lib" + " (rpath " + dir / "lib" + " of " + backend +
                                 "), where ld.so searches libraries: Permission denied";
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      gid_t groups[] = {kOtherGid};
      if (::setgroups(1, groups) != 0 || ::setgid(kOtherGid) != 0 || ::setuid(kOtherUid) != 0) ::_exit(100);
      auto r = sts::platform::check_executable({backend, false, ""});
      ::_exit(r ? 1 : r.error().message == expected ? 0 : 2);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    INFO("child exit: 1 accepted, 2 another message than: " << expected);
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("a subfolder ld.so never searches is left alone") {
    make_dir(dir / "lib/python3.11", 0777);
    REQUIRE(::chown((dir / "lib/python3.11").c_str(), kOtherUid, kOtherGid) == 0);
    ExecutableReport report;
    require_ok({backend, false, ""}, &report);
    CHECK(find_rule(report, "rpath " + dir / "lib/python3.11") == nullptr);
  }
  SECTION("all root's: the library found by name is listed and passes") {
    make_dir(dir / "lib/glibc-hwcaps", 0755);
    make_dir(dir / "lib/glibc-hwcaps/x86-64-v3", 0755);
    ExecutableReport report;
    require_ok({backend, false, ""}, &report);
    const sts::CheckRule* found = find_rule(report, "needed " + dir / "lib/libzz.so");
    REQUIRE(found != nullptr);
    CHECK(found->ok);
    const sts::CheckRule* sub = find_rule(report, "rpath " + dir / "lib/glibc-hwcaps/x86-64-v3");
    REQUIRE(sub != nullptr);
    CHECK(sub->ok);
  }
}
