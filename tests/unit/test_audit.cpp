// The audit log (audit.h) and the file hook under it (platform::append_audit_line, POSIX):
// the record format, the SPEC 6 rules on the file and its folder, and rotation past the
// maximum size. Concurrent appenders across processes: tests/integration/test_audit_rotation.cpp.
#include "common/audit.h"
#include "common/file_io.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using sts::test::dir_entries;

sts::AuditRecord sample_record() {
  using namespace std::chrono;
  sts::AuditRecord r;
  r.time = sys_days{year{2024} / 5 / 1} + hours{12} + minutes{34} + seconds{56} + milliseconds{789};
  r.executable = "/opt/backend";
  r.sha256 = std::string(64, 'a');
  r.handles = {"db_pass", "api/key"};
  r.resolved = 1;
  r.failed = 1;
  r.exit_code = 0;
  r.signal = 0;
  r.duration_ms = 42;
  r.stdout_bytes = 120;
  r.stderr_bytes = 7;
  r.outcome = "ok";
  return r;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Sets the umask for a scope.
class UmaskScope {
 public:
  explicit UmaskScope(mode_t m) : old_(::umask(m)) {}
  ~UmaskScope() { ::umask(old_); }
  UmaskScope(const UmaskScope&) = delete;
  UmaskScope& operator=(const UmaskScope&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("audit: a record is one JSON line with names, counts and an RFC 3339 UTC time") {
  const std::string line = sts::format_audit_line(sample_record());
  CHECK(line.find('\n') == std::string::npos);
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("time") == "2024-05-01T12:34:56.789Z");
  CHECK(j.at("executable") == "/opt/backend");
  CHECK(j.at("sha256") == std::string(64, 'a'));
  CHECK(j.at("handles") == nlohmann::json::array({"db_pass", "api/key"}));
  CHECK(j.at("resolved") == 1);
  CHECK(j.at("failed") == 1);
  CHECK(j.at("exit_code") == 0);
  CHECK(j.at("signal") == 0);
  CHECK(j.at("duration_ms") == 42);
  CHECK(j.at("stdout_bytes") == 120);
  CHECK(j.at("stderr_bytes") == 7);
  CHECK(j.at("outcome") == "ok");
  // Exactly these fields: there is no place for a value.
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  CHECK(keys == std::set<std::string>{"time", "executable", "sha256", "handles", "resolved", "failed", "exit_code",
                                      "signal", "duration_ms", "stdout_bytes", "stderr_bytes", "outcome"});
  CHECK(line.rfind("{\"time\":\"2024-05-01T12:34:56.789Z\",", 0) == 0);
}

TEST_CASE("audit: the time is UTC with zero-padded fields") {
  using namespace std::chrono;
  sts::AuditRecord r = sample_record();
  r.time = sys_days{year{1999} / 1 / 2} + hours{3} + minutes{4} + seconds{5} + milliseconds{6};
  CHECK(nlohmann::json::parse(sts::format_audit_line(r)).at("time") == "1999-01-02T03:04:05.006Z");
  r.time = system_clock::now();
  const std::string t = nlohmann::json::parse(sts::format_audit_line(r)).at("time");
  CHECK(std::regex_match(t, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
}

TEST_CASE("audit: control characters and bad UTF-8 in names stay on one line") {
  sts::AuditRecord r = sample_record();
  r.handles = {"evil\nhandle", std::string("bad\xff" "utf8")};
  r.executable = "/opt/back\r\nend";
  const std::string line = sts::format_audit_line(r);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  const auto j = nlohmann::json::parse(line);
  CHECK(j.at("handles")[0] == "evil\nhandle");
}


namespace {

struct Refusal {
  std::string what;
  std::function<void(const std::string& path)> make;  // puts the offending thing at path
  std::string message;                                // the whole expected message ({P} = path)
};

std::string with_path(std::string text, const std::string& path) {
  for (auto at = text.find("{P}"); at != std::string::npos; at = text.find("{P}")) text.replace(at, 3, path);
  return text;
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

}  // namespace

TEST_CASE("audit: append_audit writes one line per call to a 0600 file, under any umask") {
  const unsigned umask_value = GENERATE(0000u, 0022u, 0277u);
  INFO("umask " << umask_value);
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  UmaskScope scoped(static_cast<mode_t>(umask_value));
  sts::AuditRecord r = sample_record();
  REQUIRE(sts::append_audit(path, r));
  CHECK(file_mode(path) == 0600);
  r.outcome = "backend_timeout";
  r.exit_code = -1;
  r.signal = 9;
  REQUIRE(sts::append_audit(path, r));
  CHECK(file_mode(path) == 0600);
  const std::string text = sts::test::read_file(path);
  CHECK(text.back() == '\n');
  auto lines = split_lines(text);
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0]).at("outcome") == "ok");
  CHECK(nlohmann::json::parse(lines[1]).at("outcome") == "backend_timeout");
  CHECK(nlohmann::json::parse(lines[1]).at("signal") == 9);
}

TEST_CASE("audit: an existing log that breaks a SPEC 6 rule is refused with its fix, untouched") {
  using sts::test::kOtherGid;
  using sts::test::kOtherUid;
  const std::vector<Refusal> cases{
      {"another owner, mode 0622 (forgeable records)",
       [](const std::string& p) {
         sts::test::write_file(p, "old\n", 0622);
         REQUIRE(::chown(p.c_str(), kOtherUid, kOtherGid) == 0);
       },
       "the audit log {P} is owned by uid 54321, not by the effective user (uid 0), so its owner can forge records; "
       "move it away (mv {P} {P}.suspect) and let stsecrets create a new one, or run chown 0 {P} if you trust its "
       "records"},
      {"another owner, mode 0600",
       [](const std::string& p) {
         sts::test::write_file(p, "old\n", 0600);
         REQUIRE(::chown(p.c_str(), kOtherUid, kOtherGid) == 0);
       },
       "the audit log {P} is owned by uid 54321"},
      {"mode 0644", [](const std::string& p) { sts::test::write_file(p, "old\n", 0644); },
       "the audit log {P} has mode 0644, not 0600; run chmod 600 {P}"},
      {"mode 0620", [](const std::string& p) { sts::test::write_file(p, "old\n", 0620); },
       "the audit log {P} has mode 0620, not 0600; run chmod 600 {P}"},
      {"mode 0400", [](const std::string& p) { sts::test::write_file(p, "old\n", 0400); },
       "the audit log {P} has mode 0400, not 0600; run chmod 600 {P}"},
      {"a second hard link",
       [](const std::string& p) {
         sts::test::write_file(p, "old\n", 0600);
         REQUIRE(::link(p.c_str(), (p + "-other-name").c_str()) == 0);
       },
       "the audit log {P} has 2 hard links, so it can be read or replaced through another name; move it away "
       "(mv {P} {P}.old) and let stsecrets create a new one"},
      {"a FIFO", [](const std::string& p) { REQUIRE(::mkfifo(p.c_str(), 0600) == 0); },
       "the audit log {P} is a FIFO; remove the FIFO (rm {P}) and let stsecrets create the file"},
      {"a symlink to an owner-only file",
       [](const std::string& p) {
         sts::test::write_file(p + "-target", "old\n", 0600);
         REQUIRE(::symlink((p + "-target").c_str(), p.c_str()) == 0);
       },
       "the audit log {P} is a symbolic link; point secret_audit_file at the real file"},
      {"a folder", [](const std::string& p) { REQUIRE(::mkdir(p.c_str(), 0700) == 0); },
       "the audit log {P} is a folder; point secret_audit_file at a file, not a folder"},
      {"a device",
       [](const std::string& p) {
         if (::mknod(p.c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0) {
           // No mknod here: a FIFO stands in for "not a regular file".
           REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
         }
       },
       "the audit log {P} is a"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    sts::test::TempDir dir;
    const std::string path = dir / "audit.jsonl";
    c.make(path);
    const std::string type_before = file_type(path);
    // A FIFO opened for writing without O_NONBLOCK blocks until a reader comes; the alarm
    // turns such a hang into a failure instead of a test that never ends.
    ::alarm(60);
    auto st = sts::append_audit(path, sample_record());
    ::alarm(0);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::config_insecure);
    CHECK_THAT(st.error().message, Catch::StartsWith(with_path(c.message, path)));
    CHECK(file_type(path) == type_before);
    if (type_before == "file") CHECK(sts::test::read_file(path) == "old\n");
  }
}

TEST_CASE("audit: the folder of the log must not let others rename it away") {
  sts::test::TempDir base;
  const std::string dir = base / "logs";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  const std::string path = dir + "/audit.jsonl";

  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  auto open_to_all = sts::append_audit(path, sample_record());
  REQUIRE_FALSE(open_to_all);
  CHECK(open_to_all.error().code == sts::Code::config_insecure);
  CHECK(open_to_all.error().message == "the folder " + dir + " of the audit log is writable by group or others (mode "
                                           "0777), who can rename the log away; run chmod go-w " + dir +
                                           ", or put the log in a folder of its own");
  CHECK(file_type(path) == "missing");

  REQUIRE(::chmod(dir.c_str(), 0770) == 0);
  CHECK_FALSE(sts::append_audit(path, sample_record()));

  // Sticky (like /tmp): others may not rename the log, but they can create its name (or FILE.1)
  // before it exists, and every run then fails; refused too (review of the fixes).
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  auto sticky = sts::append_audit(path, sample_record());
  REQUIRE_FALSE(sticky);
  CHECK(sticky.error().code == sts::Code::config_insecure);
  CHECK(sticky.error().message == "the folder " + dir + " of the audit log is writable by group or others (mode 1777, "
                                      "sticky), who can create the log's name or its FILE.1 first and stop every run; "
                                      "put the log in a folder of its own");
  CHECK(file_type(path) == "missing");

  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(sts::append_audit(path, sample_record()));

  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(::chown(dir.c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);
  auto foreign = sts::append_audit(path, sample_record());
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code == sts::Code::config_insecure);
  CHECK(foreign.error().message == "the folder " + dir + " of the audit log is owned by uid 54321, who can rename the "
                                       "log away; run chown 0 " + dir + ", or put the log in a folder of its own");
}

TEST_CASE("audit: a missing folder and a path naming a folder are clear errors") {
  sts::test::TempDir dir;
  const std::string missing = dir / "no-such-dir/audit.jsonl";
  auto st = sts::append_audit(missing, sample_record());
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::io_failed);
  CHECK(st.error().os_error == ENOENT);
  CHECK(st.error().message == "cannot open the folder of the audit log " + missing +
                                  ": No such file or directory; create it (owner-only) or change secret_audit_file");

  auto slash = sts::append_audit(dir / "logs/", sample_record());
  REQUIRE_FALSE(slash);
  CHECK(slash.error().code == sts::Code::config_invalid);
  CHECK_THAT(slash.error().message, Catch::Contains("names a folder; name a file"));
}

TEST_CASE("audit: past the maximum size the log is rotated to FILE.1, one generation, same rules") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  const std::string rotated = path + ".1";
  const std::string line = sts::format_audit_line(sample_record()) + "\n";
  const std::uint64_t max = line.size() * 3;  // three records fit, the fourth rotates

  for (int i = 0; i < 3; ++i) REQUIRE(sts::append_audit(path, sample_record(), max));
  CHECK(file_type(rotated) == "missing");
  CHECK(sts::test::read_file(path).size() == 3 * line.size());

  REQUIRE(sts::append_audit(path, sample_record(), max));
  CHECK(split_lines(sts::test::read_file(rotated)).size() == 3);
  CHECK(split_lines(sts::test::read_file(path)).size() == 1);
  CHECK(file_mode(rotated) == 0600);
  CHECK(file_mode(path) == 0600);

  // One generation: the next rotation replaces FILE.1.
  for (int i = 0; i < 3; ++i) REQUIRE(sts::append_audit(path, sample_record(), max));
  CHECK(split_lines(sts::test::read_file(rotated)).size() == 3);
  CHECK(split_lines(sts::test::read_file(path)).size() == 1);
  CHECK(dir_entries(dir.path()).size() == 2);
}

TEST_CASE("audit: rotation edge cases: a record larger than the maximum, 0 = never, what sits at FILE.1") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  const std::string rotated = path + ".1";
  const std::string line = sts::format_audit_line(sample_record()) + "\n";

  SECTION("a record larger than the maximum still lands, alone in its file") {
    REQUIRE(sts::append_audit(path, sample_record(), 10));
    CHECK(file_type(rotated) == "missing");
    REQUIRE(sts::append_audit(path, sample_record(), 10));
    CHECK(sts::test::read_file(rotated) == line);
    CHECK(sts::test::read_file(path) == line);
  }
  SECTION("0 disables rotation") {
    for (int i = 0; i < 5; ++i) REQUIRE(sts::append_audit(path, sample_record(), 0));
    CHECK(file_type(rotated) == "missing");
    CHECK(split_lines(sts::test::read_file(path)).size() == 5);
  }
  SECTION("a symlink at FILE.1 is replaced, not written through") {
    sts::test::write_file(dir / "elsewhere", "keep\n", 0644);
    REQUIRE(::symlink((dir / "elsewhere").c_str(), rotated.c_str()) == 0);
    REQUIRE(sts::append_audit(path, sample_record(), 1));
    REQUIRE(sts::append_audit(path, sample_record(), 1));
    CHECK(file_type(rotated) == "file");
    CHECK(sts::test::read_file(dir / "elsewhere") == "keep\n");
  }
  SECTION("a folder at FILE.1 makes rotation fail with the reason") {
    REQUIRE(::mkdir(rotated.c_str(), 0700) == 0);
    REQUIRE(sts::append_audit(path, sample_record(), 1));
    auto st = sts::append_audit(path, sample_record(), 1);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::io_failed);
    CHECK(st.error().message == "cannot rotate the audit log " + path + " to " + path + ".1: Is a directory");
    CHECK(sts::test::read_file(path) == line);
  }
}

TEST_CASE("audit: the platform hook appends exactly the bytes it is given") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  REQUIRE(sts::platform::append_audit_line(path, "{\"a\":1}\n", 0));
  REQUIRE(sts::platform::append_audit_line(path, "{\"b\":2}\n", 0));
  CHECK(sts::test::read_file(path) == "{\"a\":1}\n{\"b\":2}\n");
}

TEST_CASE("audit: a link another user planted in a sticky folder is not followed to the log's folder") {
  // F3: secret_audit_file /tmp/logs/audit.jsonl with /tmp/logs -> /root/private planted by
  // another user put the log into /root/private. The kernel's protected_symlinks rule applies
  // whatever the sysctl says.
  sts::test::TempDir base;
  const std::string shared = base / "shared";
  const std::string private_dir = base / "private";
  REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
  REQUIRE(::chmod(shared.c_str(), 01777) == 0);
  REQUIRE(::mkdir(private_dir.c_str(), 0700) == 0);
  const std::string link = shared + "/logs";
  REQUIRE(::symlink(private_dir.c_str(), link.c_str()) == 0);
  REQUIRE(::lchown(link.c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);

  auto st = sts::append_audit(link + "/audit.jsonl", sample_record());
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::config_insecure);
  CHECK_THAT(st.error().message,
             Catch::StartsWith("symbolic link " + link + " -> " + private_dir + " in the sticky folder " + shared +
                               " (mode 1777, owner root) is owned by uid 54321, not by root (the effective user) or "
                               "the folder's owner, so it is not followed"));
  CHECK(dir_entries(private_dir).empty());

  // The same link, owned by the effective user: followed.
  REQUIRE(::lchown(link.c_str(), 0, 0) == 0);
  REQUIRE(sts::append_audit(link + "/audit.jsonl", sample_record()));
  CHECK(dir_entries(private_dir) == std::vector<std::string>{"audit.jsonl"});
}

namespace {

// "directory DIR (mode M, owner O) PROBLEM (the folder of secret_audit_file LOG): run FIX": the
// SPEC 5 folder rule's words, as for the executable's folders.
std::string ancestor_refusal(const std::string& dir, const std::string& found, const std::string& problem,
                             const std::string& log, const std::string& fix) {
  return "directory " + dir + " (" + found + ") " + problem + " (the folder of secret_audit_file " + log +
         "): run " + fix;
}

}  // namespace

TEST_CASE("audit: a folder above the log's folder that others can write is refused, not only the log's own") {
  // Review finding: secret_audit_file /tmp/r-o/pub/realdir/audit.jsonl with pub 0777 (not
  // sticky) and realdir root's 0755 was accepted; uid 54321 then ran `mv realdir hidden;
  // ln -s /tmp/r-o/victim realdir` (its own link in a non-sticky folder) and the next run
  // wrote a fresh log into victim: the records moved aside, the place chosen by another user.
  sts::test::TempDir base;
  const std::string pub = base / "pub";
  const std::string realdir = pub + "/realdir";
  const std::string victim = base / "victim";
  REQUIRE(::mkdir(pub.c_str(), 0700) == 0);
  REQUIRE(::chmod(pub.c_str(), 0777) == 0);
  REQUIRE(::mkdir(realdir.c_str(), 0700) == 0);
  REQUIRE(::chmod(realdir.c_str(), 0755) == 0);
  REQUIRE(::mkdir(victim.c_str(), 0700) == 0);
  const std::string log = realdir + "/audit.jsonl";
  const std::string writable = ancestor_refusal(pub, "mode 0777, owner root", "is writable by group or others", log,
                                                "chmod go-w " + pub);

  auto first = sts::append_audit(log, sample_record());
  REQUIRE_FALSE(first);
  CHECK(first.error().code == sts::Code::config_insecure);
  CHECK(first.error().message == writable);
  CHECK(dir_entries(realdir).empty());

  // The swap the finding describes (made here by root, the link given to uid 54321): still refused
  // at pub, before the link is looked at; victim stays empty.
  const std::string hidden = pub + "/hidden";
  REQUIRE(::rename(realdir.c_str(), hidden.c_str()) == 0);
  REQUIRE(::symlink(victim.c_str(), realdir.c_str()) == 0);
  REQUIRE(::lchown(realdir.c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);
  auto swapped = sts::append_audit(log, sample_record());
  REQUIRE_FALSE(swapped);
  CHECK(swapped.error().code == sts::Code::config_insecure);
  CHECK(swapped.error().message == writable);
  CHECK(dir_entries(victim).empty());

  // Group-writable is as bad; sticky (like /tmp) is fine: others cannot rename what is not theirs.
  REQUIRE(::unlink(realdir.c_str()) == 0);
  REQUIRE(::rename(hidden.c_str(), realdir.c_str()) == 0);
  REQUIRE(::chmod(pub.c_str(), 0770) == 0);
  auto group = sts::append_audit(log, sample_record());
  REQUIRE_FALSE(group);
  CHECK(group.error().message == ancestor_refusal(pub, "mode 0770, owner root", "is writable by group or others", log,
                                                  "chmod go-w " + pub));
  REQUIRE(::chmod(pub.c_str(), 01777) == 0);
  REQUIRE(sts::append_audit(log, sample_record()));
  CHECK(dir_entries(realdir) == std::vector<std::string>{"audit.jsonl"});
}

TEST_CASE("audit: a folder above the log's folder owned by another user is refused") {
  sts::test::TempDir base;
  const std::string theirs = base / "theirs";
  const std::string logs = theirs + "/logs";
  REQUIRE(::mkdir(theirs.c_str(), 0700) == 0);
  REQUIRE(::chmod(theirs.c_str(), 0755) == 0);
  REQUIRE(::mkdir(logs.c_str(), 0700) == 0);
  REQUIRE(::chown(theirs.c_str(), sts::test::kOtherUid, sts::test::kOtherGid) == 0);
  const std::string log = logs + "/audit.jsonl";
  auto st = sts::append_audit(log, sample_record());
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::config_insecure);
  CHECK(st.error().message == ancestor_refusal(theirs, "mode 0755, owner uid 54321",
                                               "is not owned by root (the effective user)", log, "chown root " + theirs));
  CHECK(dir_entries(logs).empty());
}

TEST_CASE("audit: the folders a link leads to are held to the same rule as the named ones") {
  // The named path is all root's own; its link leads below a folder anyone can write.
  sts::test::TempDir base;
  const std::string mine = base / "mine";
  const std::string pub = base / "pub";
  const std::string realdir = pub + "/realdir";
  REQUIRE(::mkdir(mine.c_str(), 0700) == 0);
  REQUIRE(::mkdir(pub.c_str(), 0700) == 0);
  REQUIRE(::chmod(pub.c_str(), 0777) == 0);
  REQUIRE(::mkdir(realdir.c_str(), 0700) == 0);
  const std::string link = mine + "/logs";
  REQUIRE(::symlink(realdir.c_str(), link.c_str()) == 0);
  const std::string log = link + "/audit.jsonl";
  auto st = sts::append_audit(log, sample_record());
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::config_insecure);
  CHECK(st.error().message == ancestor_refusal(pub, "mode 0777, owner root", "is writable by group or others", log,
                                               "chmod go-w " + pub));
  CHECK(dir_entries(realdir).empty());
}
