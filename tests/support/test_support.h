// File: support/test_support.h
//
// Shared test helpers: temporary folders, file writing, fd and child-process snapshots, a
// memory scanner for residue tests, and running a command with captured output.
#pragma once

#include <chrono>
#include <functional>
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

// The numbers of this process's open fds (from /proc/self/fd, minus the one used to list).
std::set<int> open_fds();
// Pids of this process's children that still exist (including zombies), from /proc.
std::vector<pid_t> child_pids();
// Pids whose process group is pgid.
std::vector<pid_t> pids_in_group(pid_t pgid);

// Reads n bytes at p through /proc/self/mem: nullopt when the range is no longer mapped (a
// freed arena chunk may be unmapped), instead of a crash.
std::optional<std::string> peek_memory(const void* p, std::size_t n);

// Number of occurrences of needle in this process's readable memory regions
// (/proc/self/maps + /proc/self/mem), skipping the needle's own storage given in `ignore`.
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
