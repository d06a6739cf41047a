// SecureBuffer and the locked arena (secure_buffer.h, SPEC 6, STYLE 9).
#include "stsecrets/logging.h"
#include "stsecrets/secure_buffer.h"
#include "support/test_support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>


namespace {


bool all_zero(const std::optional<std::string>& bytes) {
  if (!bytes) return true;  // unmapped: nothing left to read
  return bytes->find_first_not_of('\0') == std::string::npos;
}

}  // namespace

TEST_CASE("SecureBuffer append, push_back, view and copy") {
  sts::SecureBuffer b;
  CHECK(b.empty());
  CHECK(b.view().empty());
  b.append("abc");
  b.push_back('d');
  b.append("");
  CHECK(b.size() == 4);
  CHECK(b.view() == "abcd");
  sts::SecureBuffer c = b.copy();
  CHECK(c.view() == "abcd");
  CHECK(c.data() != b.data());
  sts::SecureBuffer d(std::string_view("xyz"));
  CHECK(d.view() == "xyz");
}

TEST_CASE("SecureBuffer reserve, spare and commit") {
  sts::SecureBuffer b;
  b.append("head");
  b.reserve(100);
  REQUIRE(b.spare_size() >= 96);
  CHECK(b.view() == "head");  // growth kept the contents
  const char* before = b.data();
  std::memcpy(b.spare(), "tail", 4);
  b.commit(4);
  CHECK(b.view() == "headtail");
  b.reserve(10);  // smaller than the capacity: no change
  CHECK(b.data() == before);
  // commit never goes past the capacity
  std::size_t room = b.spare_size();
  b.commit(room + 1000);
  CHECK(b.spare_size() == 0);
  CHECK(b.size() == 8 + room);
}

TEST_CASE("SecureBuffer growth zeroes the old block") {
  sts::SecureBuffer pin("keeps-the-first-chunk-busy");
  sts::SecureBuffer b;
  b.append("0123456789abcdef");  // exactly two 8-byte units
  const char* old = b.data();
  b.reserve(4096);
  REQUIRE(b.data() != old);
  CHECK(b.view() == "0123456789abcdef");
  CHECK(all_zero(sts::test::peek_memory(old, 16)));
}

TEST_CASE("SecureBuffer truncate and clear zero the dropped bytes and keep the storage") {
  sts::SecureBuffer b("0123456789");
  const char* storage = b.data();
  b.truncate(4);
  CHECK(b.view() == "0123");
  CHECK(all_zero(std::string(storage + 4, 6)));
  b.truncate(8);  // growing through truncate is a no-op
  CHECK(b.size() == 4);
  b.clear();
  CHECK(b.empty());
  CHECK(b.data() == storage);
  CHECK(all_zero(std::string(storage, 10)));
  b.append("again");
  CHECK(b.view() == "again");
}

TEST_CASE("SecureBuffer release zeroes and gives the storage back") {
  const auto base = sts::arena_stats().in_use_bytes;
  sts::SecureBuffer pin("pin");
  sts::SecureBuffer b("0123456789abcdef0123456789abcdef");
  const char* storage = b.data();
  CHECK(sts::arena_stats().in_use_bytes == base + 8 + 32);
  b.release();
  CHECK(b.data() == nullptr);
  CHECK(b.empty());
  CHECK(all_zero(sts::test::peek_memory(storage, 32)));
  CHECK(sts::arena_stats().in_use_bytes == base + 8);
}

TEST_CASE("SecureBuffer move construction and move assignment") {
  sts::SecureBuffer a("first");
  const char* storage = a.data();
  sts::SecureBuffer b(std::move(a));
  CHECK(b.view() == "first");
  CHECK(b.data() == storage);
  CHECK(a.data() == nullptr);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  CHECK(a.empty());

  sts::SecureBuffer c("second-value-that-is-longer");
  const char* c_storage = c.data();
  const auto before = sts::arena_stats().in_use_bytes;
  c = std::move(b);  // c's old block is zeroed and returned
  CHECK(c.view() == "first");
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(sts::arena_stats().in_use_bytes == before - 32);
  CHECK(all_zero(sts::test::peek_memory(c_storage, 27)));

  sts::SecureBuffer& self = c;
  c = std::move(self);  // self-move leaves the value alone
  CHECK(c.view() == "first");
}

TEST_CASE("secure_equal compares contents and lengths") {
  CHECK(sts::secure_equal("", ""));
  CHECK(sts::secure_equal("abc", "abc"));
  CHECK_FALSE(sts::secure_equal("abc", "abd"));
  CHECK_FALSE(sts::secure_equal("abc", "abcd"));
  CHECK_FALSE(sts::secure_equal("", "a"));
  CHECK_FALSE(sts::secure_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST_CASE("secure_zero zeroes") {
  char buf[32];
  std::memset(buf, 'x', sizeof buf);
  sts::secure_zero(buf, sizeof buf);
  CHECK(all_zero(std::string(buf, sizeof buf)));
  sts::secure_zero(nullptr, 0);  // allowed
}

TEST_CASE("arena stats: memory is locked and in-use bytes are accounted in 8-byte units") {
  sts::SecureBuffer pin("x");
  const sts::ArenaStats base = sts::arena_stats();
  CHECK(base.mapped_bytes > 0);
  CHECK(base.locked_bytes > 0);  // RLIMIT_MEMLOCK is large enough on the test machine
  CHECK_FALSE(base.degraded);
  {
    sts::SecureBuffer a("0123456789");  // 10 bytes -> two units
    sts::SecureBuffer b(std::string(33, 'b'));  // 33 bytes -> five units
    sts::SecureBuffer c("01234567");  // 8 bytes -> exactly one unit
    CHECK(sts::arena_stats().in_use_bytes == base.in_use_bytes + 16 + 40 + 8);
  }
  CHECK(sts::arena_stats().in_use_bytes == base.in_use_bytes);
}

TEST_CASE("many small buffers share one arena instead of a page each") {
  sts::SecureBuffer pin("x");
  const sts::ArenaStats base = sts::arena_stats();
  constexpr std::size_t kCount = 1000;
  constexpr std::size_t kBytes = 32;
  std::vector<sts::SecureBuffer> buffers;
  buffers.reserve(kCount);
  for (std::size_t i = 0; i < kCount; ++i) buffers.emplace_back(std::string(kBytes, static_cast<char>('a' + i % 26)));
  const sts::ArenaStats full = sts::arena_stats();
  CHECK(full.in_use_bytes - base.in_use_bytes == kCount * kBytes);
  const std::size_t locked_growth = full.locked_bytes - base.locked_bytes;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // Within 2x of the bytes held plus one (first) chunk, far from a page per secret.
  CHECK(locked_growth < 2 * kCount * kBytes + 16 * 1024);
  CHECK(full.locked_bytes < kCount * page / 4);
  CHECK(full.locked_bytes == full.mapped_bytes);
  for (std::size_t i = 0; i < kCount; ++i) {
    REQUIRE(buffers[i].view() == std::string(kBytes, static_cast<char>('a' + i % 26)));
  }
  buffers.clear();
  CHECK(sts::arena_stats().in_use_bytes == base.in_use_bytes);
}

TEST_CASE("degraded mode: RLIMIT_MEMLOCK 0 keeps the arena working and warns exactly once") {
  if (STS_UNDER_ASAN) {
    WARN("skipped under ASan: ASan makes mlock() a no-op that always succeeds");
    return;
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: no Catch2 here; report one line "warnings degraded works" to the parent.
    ::close(fds[0]);
    rlimit zero{0, 0};
    int setup_ok = ::setrlimit(RLIMIT_MEMLOCK, &zero) == 0 ? 1 : 0;
    if (::geteuid() == 0) {
      // Root ignores RLIMIT_MEMLOCK (CAP_IPC_LOCK); becoming another user drops the capability.
      if (::setgid(sts::test::kOtherGid) != 0 || ::setuid(sts::test::kOtherUid) != 0) setup_ok = 0;
    }
    int warnings = 0;
    int lock_warnings = 0;
    sts::set_log_callback([&](sts::LogLevel level, std::string_view line) {
      if (level == sts::LogLevel::warn) ++warnings;
      if (line.find("could not be locked") != std::string_view::npos) ++lock_warnings;
    });
    int works = 1;
    {
      // 2000 x 128 bytes: several fresh chunks, each of whose locks is refused.
      std::vector<sts::SecureBuffer> held;
      for (int i = 0; i < 2000; ++i) {
        held.emplace_back(std::string(128, static_cast<char>('A' + i % 26)));
      }
      for (int i = 0; i < 2000; ++i) {
        if (held[static_cast<std::size_t>(i)].view() != std::string(128, static_cast<char>('A' + i % 26))) works = 0;
      }
      held.clear();
      // And again, after the chunks went back.
      for (int i = 0; i < 2000; ++i) held.emplace_back(std::string(128, 'z'));
    }
    const sts::ArenaStats s = sts::arena_stats();
    std::string report = std::to_string(setup_ok) + " " + std::to_string(warnings) + " " +
                         std::to_string(lock_warnings) + " " + std::to_string(s.degraded ? 1 : 0) + " " +
                         std::to_string(works) + "\n";
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[128];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  int setup_ok = -1, warnings = -1, lock_warnings = -1, degraded = -1, works = -1;
  REQUIRE(std::sscanf(report.c_str(), "%d %d %d %d %d", &setup_ok, &warnings, &lock_warnings, &degraded, &works) == 5);
  CHECK(setup_ok == 1);
  CHECK(works == 1);
  CHECK(degraded == 1);
  CHECK(warnings == 1);
  CHECK(lock_warnings == 1);
}

namespace {

// What a forked child sees at the arena address of a secret: 'v' the secret, 'z' zeros (MADV_WIPEONFORK),
// 'u' nothing mapped (MADV_DONTFORK), 'o' other bytes. The child reads through /proc/self/mem, so
// an unmapped range is an answer, not a crash, and reports one byte over a pipe.
char seen_by_forked_child(const char* where, const sts::test::MaskedNeedle& secret) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::optional<std::string> bytes = sts::test::peek_memory(where, secret.size());
    char verdict = 'o';
    if (!bytes) {
      verdict = 'u';
    } else if (secret.matches(reinterpret_cast<const unsigned char*>(bytes->data()))) {
      verdict = 'v';
    } else if (bytes->find_first_not_of('\0') == std::string::npos) {
      verdict = 'z';
    }
    (void)!::write(fds[1], &verdict, 1);
    ::_exit(0);
  }
  ::close(fds[1]);
  char verdict = '?';
  const ssize_t n = ::read(fds[0], &verdict, 1);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(n == 1);
  return verdict;
}

}  // namespace

TEST_CASE("the arena is excluded from forked children: they see zeros or nothing, never the secret") {
  // Built byte by byte from its masked form: the only plain copies are the arena's.
  const sts::test::MaskedNeedle secret({"f0rk", "-S3cr3t", "-Kq71"});
  sts::SecureBuffer small;  // in a shared chunk
  sts::SecureBuffer large;  // a dedicated mapping (16 KiB and more)
  large.reserve(64 * 1024);
  for (std::size_t i = 0; i < secret.size(); ++i) {
    small.push_back(secret.plain_at(i));
    large.push_back(secret.plain_at(i));
  }
  for (const sts::SecureBuffer* b : {&small, &large}) {
    const char verdict = seen_by_forked_child(b->data(), secret);
    INFO("child saw '" << verdict << "' (z: wiped, u: not mapped, v: the secret, o: other bytes)");
    CHECK((verdict == 'z' || verdict == 'u'));
    // The parent's copy is untouched.
    CHECK(secret.matches(reinterpret_cast<const unsigned char*>(b->data())));
  }
}
