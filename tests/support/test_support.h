// File: support/test_support.h
//
// Shared test helpers: temporary folders, file writing, fd and child-process snapshots, a
// memory scanner for residue tests (with MaskedNeedle, a secret the test never holds in plain),
// and running a command with captured output. POSIX only (tests/windows has its own support).
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

// ASan intercepts mlock() as a no-op that always succeeds, keeps freed heap blocks in
// quarantine, and maps terabytes of shadow memory, so a scan of all readable memory (residue) or
// a gcore dump would not finish. Tests that depend on either skip with a WARN under ASan; the
// same proofs run in the default (and clang) builds.
#if defined(__SANITIZE_ADDRESS__)
#define STS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STS_UNDER_ASAN 1
#endif
#endif
#ifndef STS_UNDER_ASAN
#define STS_UNDER_ASAN 0
#endif

namespace sts::test {

// A fresh folder under /tmp (mode 0700, root-owned when run as root), removed recursively on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
 private:
  std::string path_;
};

// Writes bytes to path (creating it), then chmod(mode).
void write_file(const std::string& path, std::string_view bytes, unsigned mode = 0600);
std::string read_file(const std::string& path);
// The names in a folder, sorted, without "." and ".."; throws when it cannot be listed.
std::vector<std::string> dir_entries(const std::string& dir);

// The numbers of this process's open fds (from /proc/self/fd, minus the one used to list).
std::set<int> open_fds();
// Pids of this process's children that still exist (including zombies), from /proc.
std::vector<pid_t> child_pids();
// Pids whose process group is pgid.
std::vector<pid_t> pids_in_group(pid_t pgid);

// Reads n bytes at p through /proc/self/mem: nullopt when the range is no longer mapped (a
// freed arena chunk may be unmapped), instead of a crash.
std::optional<std::string> peek_memory(const void* p, std::size_t n);

// A secret for residue tests, held only XOR-masked with a per-position key, so that the test
// itself never holds the plain bytes: not in a literal, not in a std::string, and not in a vector
// register. The last matters: glibc's AVX-512 (EVEX) memcmp loads its second argument into
// ymm18, a register that ordinary code never touches, so a needle compared with memcmp stays in
// the register file until the dynamic linker's lazy-binding trampoline (_dl_runtime_resolve_xsavec)
// or a signal frame XSAVEs it onto the stack, where the next scan finds it.
//
//   MaskedNeedle n({"zq7", "R3s1du3", "-Alpha"});   // fragments: the whole is never a literal
//   sts::SecureBuffer value;
//   for (std::size_t i = 0; i < n.size(); ++i) value.push_back(n.plain_at(i));
//   CHECK(count_in_own_memory(n) == 0);
//
// Plain copies are made one byte at a time (plain_at, write_plain), never with memcpy or
// std::string operations, which would leave the whole value in a vector register.
class MaskedNeedle {
 public:
  // Masks the concatenation of `pieces`, reading each piece one byte at a time.
  MaskedNeedle(std::initializer_list<std::string_view> pieces);
  std::size_t size() const noexcept { return masked_.size(); }
  // The plain byte at i.
  char plain_at(std::size_t i) const noexcept;
  // Writes the size() plain bytes to out, one volatile store at a time.
  void write_plain(char* out) const noexcept;
  // Whether the size() bytes at p are the secret: compared masked, one byte load at a time,
  // so no register ever holds more than one plain byte.
  bool matches(const volatile unsigned char* p) const noexcept;

 private:
  static unsigned char key(std::size_t i) noexcept;
  std::vector<unsigned char> masked_;
};

// Number of occurrences of the needle in this process's readable memory regions
// (/proc/self/maps + /proc/self/mem), skipping [ignore_begin, ignore_begin + ignore_size).
// The scanner makes no copy of its own that a later scan could find: it reads through a private
// mapping that it skips, wipes and unmaps, and compares masked, byte by byte (MaskedNeedle).
// STS_TEST_SCAN_DEBUG=1 prints where each hit is (address and mapping), never what.
std::size_t count_in_own_memory(const MaskedNeedle& needle, const void* ignore_begin = nullptr,
                                std::size_t ignore_size = 0);
// The same for a needle the caller holds in plain memory (skip its storage with `ignore`). The
// scan itself leaves no copy, but the caller's own plain needle, and every memcmp/memcpy the
// caller does with it, may: prefer MaskedNeedle.
std::size_t count_in_own_memory(std::string_view needle, const void* ignore_begin = nullptr,
                                std::size_t ignore_size = 0);

struct CommandResult {
  int exit_code = -1;   // exit status, or -1 if signalled
  int signal = 0;
  std::string out;
  std::string err;
};
// Runs argv (no shell) with optional stdin bytes, environment (nullopt = inherit), cwd and
// umask. Waits at most `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, std::string_view input = {},
                          const std::optional<std::vector<std::string>>& env = std::nullopt,
                          std::chrono::seconds timeout = std::chrono::seconds(60),
                          std::optional<unsigned> umask_value = std::nullopt,
                          const std::string& cwd = {});

// An unused uid/gid for ownership tests (no passwd entry).
constexpr uid_t kOtherUid = 54321;
constexpr gid_t kOtherGid = 54321;

}  // namespace sts::test
