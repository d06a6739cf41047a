// Review finding F3 through the real binary (STS_CLI), as root: a link another user (uid
// 54321) planted in /tmp must not redirect what the command writes, not for `-o`, not for
// `--output-dir` and not for `secret_audit_file`; and an existing --output-dir owned by another
// user or writable by others is refused. The kernel's protected_symlinks sysctl may be off (it
// was during the review): the command applies the rule itself.
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using sts::test::dir_entries;

using sts::test::CommandResult;
using sts::test::kOtherGid;
using sts::test::kOtherUid;
using sts::test::TempDir;
using sts::test::write_file;

CommandResult cli(const std::vector<std::string>& args, const std::string& cwd = {}) {
  std::vector<std::string> argv = {STS_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return sts::test::run_command(argv, {}, std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C"},
                                std::chrono::seconds(60), std::nullopt, cwd);
}

// A link in /tmp itself, owned by uid 54321, pointing at `target`; removed at the end.
class PlantedLink {
 public:
  explicit PlantedLink(const std::string& target) {
    char name[] = "/tmp/sts-planted-XXXXXX";
    const int fd = ::mkstemp(name);  // reserves a unique name, then the link takes its place
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = name;
    REQUIRE(::unlink(path_.c_str()) == 0);
    REQUIRE(::symlink(target.c_str(), path_.c_str()) == 0);
    REQUIRE(::lchown(path_.c_str(), kOtherUid, kOtherGid) == 0);
  }
  ~PlantedLink() { ::unlink(path_.c_str()); }
  PlantedLink(const PlantedLink&) = delete;
  PlantedLink& operator=(const PlantedLink&) = delete;
  const std::string& path() const { return path_; }
  std::string name() const { return path_.substr(5); }

 private:
  std::string path_;
};

// A config resolved by the file backend, and a backend script (for the audit log, which
// records executable runs).
struct Setup {
  TempDir dir;
  std::string victim = dir / "victim";  // root's own private folder
  std::string config = dir / "stackstate.yaml";
  std::string app = dir / "app.yaml";  // an input FILE: --output-dir writes DIR/app.yaml
  Setup() {
    REQUIRE(::mkdir(victim.c_str(), 0700) == 0);
    write_file(victim + "/app.yaml", "untouched\n");
    const std::string secrets = dir / "secrets";
    REQUIRE(::mkdir(secrets.c_str(), 0700) == 0);
    write_file(secrets + "/x", "xvalue-Rt42");
    write_file(config, "x: ENC[x]\nsecret_backend_type: file\nsecret_backend_config: {root: " + secrets + "}\n");
    write_file(app, "password: ENC[x]\n");
  }
  std::string audited_config(const std::string& audit_file) const {
    const std::string bin = dir / "bin";
    REQUIRE(::mkdir(bin.c_str(), 0700) == 0);
    write_file(bin + "/backend", "#!/bin/sh\ncat >/dev/null\nprintf '%s' '{\"x\":{\"value\":\"xvalue-Rt42\"}}'\n", 0700);
    const std::string path = dir / "audited.yaml";
    write_file(path, "x: ENC[x]\nsecret_backend_command: " + bin + "/backend\nsecret_audit_file: " + audit_file + "\n");
    return path;
  }
};

const std::string kNotFollowed = "is owned by uid 54321, not by root (the effective user) or the folder's owner, so it "
                                 "is not followed";

}  // namespace

TEST_CASE("cli: -o through a link another user planted in /tmp is refused, the target untouched", "[cli][security]") {
  if (::geteuid() != 0) {
    WARN("needs root to plant a link owned by another uid");
    return;
  }
  Setup s;
  PlantedLink link(s.victim);
  const bool relative = GENERATE(false, true);
  INFO((relative ? "relative to /tmp" : "absolute"));
  const CommandResult r = relative ? cli({"resolve", "--config", s.config, "-o", link.name() + "/app.yaml"}, "/tmp")
                                   : cli({"resolve", "--config", s.config, "-o", link.path() + "/app.yaml"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("stsecrets: error: symbolic link " + link.path() + " -> " + s.victim) != std::string::npos);
  CHECK(r.err.find(kNotFollowed) != std::string::npos);
  CHECK(sts::test::read_file(s.victim + "/app.yaml") == "untouched\n");
  CHECK(dir_entries(s.victim).size() == 1);
}

TEST_CASE("cli: --output-dir through a link another user planted in /tmp is refused", "[cli][security]") {
  if (::geteuid() != 0) {
    WARN("needs root to plant a link owned by another uid");
    return;
  }
  Setup s;
  PlantedLink link(s.victim);
  const CommandResult r = cli({"resolve", "--config", s.config, s.app, "--output-dir", link.path()});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(kNotFollowed) != std::string::npos);
  CHECK(dir_entries(s.victim) == std::vector<std::string>{"app.yaml"});
  CHECK(sts::test::read_file(s.victim + "/app.yaml") == "untouched\n");
}

TEST_CASE("cli: an --output-dir owned by another user or writable by others is refused", "[cli][security]") {
  if (::geteuid() != 0) {
    WARN("needs root to give a folder to another uid");
    return;
  }
  Setup s;
  const std::string out = s.dir / "out";
  REQUIRE(::mkdir(out.c_str(), 0700) == 0);
  const bool foreign = GENERATE(false, true);
  if (foreign) {
    REQUIRE(::chown(out.c_str(), kOtherUid, kOtherGid) == 0);
  } else {
    REQUIRE(::chmod(out.c_str(), 0777) == 0);
  }
  const CommandResult r = cli({"resolve", "--config", s.config, s.app, "--output-dir", out});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(foreign ? "stsecrets: error: --output-dir " + out + " is owned by uid 54321"
                           : "stsecrets: error: --output-dir " + out + " is writable by group or others (mode 0777)") !=
        std::string::npos);
  CHECK(dir_entries(out).empty());
}

TEST_CASE("cli: secret_audit_file through a link another user planted in /tmp is refused", "[cli][security]") {
  if (::geteuid() != 0) {
    WARN("needs root to plant a link owned by another uid");
    return;
  }
  Setup s;
  PlantedLink link(s.victim);
  const CommandResult r = cli({"resolve", "--config", s.audited_config(link.path() + "/audit.jsonl")});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(kNotFollowed) != std::string::npos);
  CHECK(dir_entries(s.victim) == std::vector<std::string>{"app.yaml"});
}

TEST_CASE("cli: secret_audit_file below a folder others can write is refused, before and after a swap",
          "[cli][security]") {
  // Review finding: pub 0777 (not sticky) above root's realdir was accepted; another user then
  // swapped realdir for a link of their own to victim and the next run logged into victim.
  if (::geteuid() != 0) {
    WARN("needs root to give a link to another uid");
    return;
  }
  Setup s;
  const std::string pub = s.dir / "pub";
  const std::string realdir = pub + "/realdir";
  REQUIRE(::mkdir(pub.c_str(), 0700) == 0);
  REQUIRE(::chmod(pub.c_str(), 0777) == 0);
  REQUIRE(::mkdir(realdir.c_str(), 0700) == 0);
  REQUIRE(::chmod(realdir.c_str(), 0755) == 0);
  const std::string log = realdir + "/audit.jsonl";
  const std::string config = s.audited_config(log);
  const std::string expected = "stsecrets: error: directory " + pub + " (mode 0777, owner root) is writable by group or "
                               "others (the folder of secret_audit_file " + log + "): run chmod go-w " + pub + "\n";

  const CommandResult before = cli({"resolve", "--config", config});
  INFO("stderr: " << before.err);
  CHECK(before.exit_code == 3);
  CHECK(before.err == expected);
  CHECK(dir_entries(realdir).empty());

  REQUIRE(::rename(realdir.c_str(), (pub + "/hidden").c_str()) == 0);
  REQUIRE(::symlink(s.victim.c_str(), realdir.c_str()) == 0);
  REQUIRE(::lchown(realdir.c_str(), kOtherUid, kOtherGid) == 0);
  const CommandResult after = cli({"resolve", "--config", config});
  INFO("stderr: " << after.err);
  CHECK(after.exit_code == 3);
  CHECK(after.err == expected);
  CHECK(dir_entries(s.victim) == std::vector<std::string>{"app.yaml"});
}
