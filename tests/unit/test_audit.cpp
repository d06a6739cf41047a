// The audit log (audit.h) and the owner-only file hook under it (private_file.h, POSIX).
#include "common/audit.h"
#include "common/private_file.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

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

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
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

TEST_CASE("audit: append_audit writes one line per call to a 0600 file, even under umask 000") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  UmaskScope umask0(0);
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

TEST_CASE("audit: an existing file that group or others can read is refused") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  sts::test::write_file(path, "", 0644);
  auto st = sts::append_audit(path, sample_record());
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::config_invalid);
  CHECK(st.error().message == "refusing to write " + path +
                                  ": it is readable by group or others (mode 0644); fix it with: chmod 600 " + path);
  CHECK(sts::test::read_file(path).empty());
  CHECK(file_mode(path) == 0644);  // the mode is the owner's to fix, not ours

  sts::test::write_file(path, "", 0640);
  auto st2 = sts::platform::append_private(path, "x\n");
  REQUIRE_FALSE(st2);
  CHECK(st2.error().message.find("(mode 0640)") != std::string::npos);

  // An existing owner-only file is appended to.
  sts::test::write_file(path, "earlier\n", 0600);
  REQUIRE(sts::append_audit(path, sample_record()));
  CHECK(split_lines(sts::test::read_file(path)).size() == 2);
}

TEST_CASE("private file: a symlink at the path and a missing folder are refused with the path and reason") {
  sts::test::TempDir dir;
  const std::string target = dir / "target";
  sts::test::write_file(target, "", 0600);
  const std::string link = dir / "link";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  auto st = sts::platform::append_private(link, "x\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == sts::Code::config_invalid);
  CHECK(st.error().message == "refusing to write " + link + ": it is a symbolic link; point the setting at the real file");
  CHECK(sts::test::read_file(target).empty());

  const std::string missing = dir / "no-such-dir/audit.jsonl";
  auto st2 = sts::platform::append_private(missing, "x\n");
  REQUIRE_FALSE(st2);
  CHECK(st2.error().code == sts::Code::config_invalid);
  CHECK(st2.error().os_error == ENOENT);
  CHECK(st2.error().message == "cannot open " + missing + ": No such file or directory");
}

TEST_CASE("private file: write_private_atomic creates 0600 files and replaces existing ones") {
  sts::test::TempDir dir;
  const std::string path = dir / "out.yaml";
  UmaskScope umask0(0);
  REQUIRE(sts::platform::write_private_atomic(path, "first: 1\n"));
  CHECK(sts::test::read_file(path) == "first: 1\n");
  CHECK(file_mode(path) == 0600);
  sts::test::write_file(path, "old", 0644);
  REQUIRE(sts::platform::write_private_atomic(path, "second: 2\n"));
  CHECK(sts::test::read_file(path) == "second: 2\n");
  CHECK(file_mode(path) == 0600);
  CHECK(dir_entries(dir.path()) == std::vector<std::string>{"out.yaml"});  // no temporary left
}

TEST_CASE("private file: a failed atomic write leaves no temporary file behind") {
  sts::test::TempDir dir;
  SECTION("the target is a directory") {
    const std::string path = dir / "sub";
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);
    auto st = sts::platform::write_private_atomic(path, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == sts::Code::config_invalid);
    CHECK(st.error().message == "cannot rename the temporary file into place as " + path + ": Is a directory");
    CHECK(dir_entries(dir.path()) == std::vector<std::string>{"sub"});
  }
  SECTION("the folder does not exist") {
    const std::string path = dir / "nope/out.yaml";
    auto st = sts::platform::write_private_atomic(path, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().os_error == ENOENT);
    CHECK(st.error().message == "cannot create a temporary file beside " + path + ": No such file or directory");
    CHECK(dir_entries(dir.path()).empty());
  }
}
