// SPEC 2 secret_audit_file_max_size + SPEC 6: several processes append to one audit log at once
// while it rotates. Every record lands whole (one JSON line), never interleaved with another,
// and exactly once across FILE and FILE.1; with one generation kept, what rotation discards is
// measurable: for each process the records that survive are exactly its latest ones, in order.
//
// The processes are forked children of the test, started together through a pipe (they wait
// for its end to close), so the test depends on no timing.
#include "common/audit.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kProcesses = 2;
constexpr int kRecordsEach = 3000;

sts::AuditRecord record_of(int process, int seq) {
  sts::AuditRecord r;
  r.time = std::chrono::system_clock::now();
  r.executable = "/opt/backend";
  r.sha256 = std::string(64, 'a');
  r.handles = {"p" + std::to_string(process), std::to_string(seq)};
  r.exit_code = 0;
  r.outcome = "ok";
  return r;
}

// Forks kProcesses children that each append kRecordsEach records once the gate opens; returns
// the number of children that failed.
int run_appenders(const std::string& path, std::uint64_t max_size) {
  int gate[2];
  REQUIRE(::pipe(gate) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      while (::read(gate[0], &c, 1) < 0) {
      }
      for (int i = 0; i < kRecordsEach; ++i) {
        auto st = sts::append_audit(path, record_of(p, i), max_size);
        if (!st) {
          const std::string msg = "appender " + std::to_string(p) + ": " + st.error().message + "\n";
          (void)!::write(2, msg.data(), msg.size());
          ::_exit(1);
        }
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);  // opens the gate for all at once
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

struct Survivors {
  std::map<int, std::vector<int>> seqs;  // process -> sequence numbers, in file order
  int bad_lines = 0;
  std::size_t lines = 0;
};

// Reads FILE.1 then FILE (oldest first) and collects every record.
Survivors collect(const std::vector<std::string>& files) {
  Survivors s;
  for (const auto& f : files) {
    const std::string text = sts::test::read_file(f);
    if (!text.empty() && text.back() != '\n') ++s.bad_lines;  // a torn last record
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      ++s.lines;
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("handles") || j.at("handles").size() != 2) {
        ++s.bad_lines;
        continue;
      }
      const std::string who = j.at("handles")[0];
      s.seqs[std::stoi(who.substr(1))].push_back(std::stoi(j.at("handles")[1].get<std::string>()));
    }
  }
  return s;
}

std::size_t record_size() { return sts::format_audit_line(record_of(0, kRecordsEach - 1)).size() + 1; }

}  // namespace

TEST_CASE("audit rotation: two processes, one rotation: every record lands exactly once, whole") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  // Room for a bit more than half of all records: exactly one rotation, nothing discarded.
  const std::uint64_t max = record_size() * kProcesses * kRecordsEach * 6 / 10;
  REQUIRE(run_appenders(path, max) == 0);

  const auto s = collect({path + ".1", path});
  CHECK(s.bad_lines == 0);
  CHECK(s.lines == static_cast<std::size_t>(kProcesses * kRecordsEach));
  for (int p = 0; p < kProcesses; ++p) {
    INFO("process " << p);
    std::vector<int> want(kRecordsEach);
    for (int i = 0; i < kRecordsEach; ++i) want[static_cast<std::size_t>(i)] = i;
    CHECK(s.seqs.at(p) == want);  // each exactly once, in the order it was appended
  }
  CHECK(sts::test::read_file(path + ".1").size() <= max);
  CHECK(sts::test::read_file(path).size() <= max);
}

TEST_CASE("audit rotation: two processes, many rotations: only whole older generations are discarded") {
  sts::test::TempDir dir;
  const std::string path = dir / "audit.jsonl";
  const std::uint64_t max = record_size() * 200;  // about 30 rotations
  REQUIRE(run_appenders(path, max) == 0);

  const auto s = collect({path + ".1", path});
  CHECK(s.bad_lines == 0);
  CHECK(sts::test::read_file(path + ".1").size() <= max);
  CHECK(sts::test::read_file(path).size() <= max);
  // What survives of each process is a run of its latest records, ending with its last one,
  // with no gap and no duplicate: rotation dropped only records older than all of these. (A
  // process that finished early may have had all its records rotated out: the others kept
  // appending; then nothing of it survives, which is one generation's rule, not a loss.)
  std::size_t survivors = 0;
  for (const auto& [p, got] : s.seqs) {
    INFO("process " << p);
    REQUIRE_FALSE(got.empty());
    CHECK(got.back() == kRecordsEach - 1);
    bool contiguous = true;
    for (std::size_t i = 1; i < got.size(); ++i) contiguous = contiguous && got[i] == got[i - 1] + 1;
    CHECK(contiguous);
    survivors += got.size();
  }
  CHECK(survivors == s.lines);
  // The two generations together hold at least one full file's worth (FILE.1 was full when it
  // was rotated), so the discarded part is bounded too.
  CHECK(s.lines * record_size() > max);
}
