// The file hooks of file_io.h on Linux: secret files read beneath a root, output files, and the
// audit log. (read_file, for non-secret files, lives in read_file_posix.cpp.)
//
// read_beneath: openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from an O_PATH descriptor of
//   the root, so the kernel resolves the name and refuses, in the same lookup, anything that
//   would leave the root: an absolute symlink, a ".." (from a symlink) above the root, a /proc
//   magic link. Symlinks that stay beneath the root are followed (Kubernetes secret volumes are
//   built of them). RESOLVE_NO_XDEV is deliberately not set: mount points are made by root,
//   and Docker bind-mounts each secret file into /run/secrets, which NO_XDEV would refuse.
//   Where openat2 is ENOSYS (kernel < 5.6) or EPERM (a seccomp filter), the same rules are
//   applied by a walk: one component at a time from the root with O_NOFOLLOW, symlinks read
//   through their own O_PATH descriptor (readlinkat(fd, "")) and their targets walked by the
//   same rules, ".." popping the folders the walk itself opened. The walk also serves names
//   openat2 refused with EXDEV: RESOLVE_BENEATH refuses every absolute symlink, and the walk
//   follows one whose target spells a path under the root (walking the rest from the root
//   descriptor, not from "/"), refusing all others. Either way the file is opened
//   O_NONBLOCK | O_NOCTTY (a FIFO never blocks, a tty never becomes ours), checked with fstat
//   on that descriptor (a regular file, not too large), O_NONBLOCK cleared, and read through
//   that descriptor straight into secure memory. Nothing is ever re-opened by path.
//
// write_file_atomic: the folder is reached by walk_written_folder (written_folder.h: a link
//   another user planted in a sticky folder is not followed), then everything happens relative
//   to its descriptor; see the comment above replace_destination() for exactly what holds
//   against a destination that changes between the check and the rename.
//
// append_audit_line: the folder is reached like an output file's, but every folder above it
//   must also pass the SPEC 5 ancestor rule (path_rules.h, Role::audit_folder); the SPEC 6 rules
//   on the folder and the log are data (audit_file_rules, audit_folder_rules), checked on the
//   opened descriptor. Rotation takes an exclusive flock on the log itself; a waiter
//   that gets the lock re-checks that the path still names the file it locked, so nobody
//   appends to a file that was just rotated away.
#if defined(_WIN32)
#error "file_io_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/file_io.h"

#include "common/file_io_messages.h"
#include "common/text.h"
#include "posix/file_io_seams.h"
#include "posix/unique_fd.h"
#include "posix/written_folder.h"
#include "stsecrets/check.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <linux/openat2.h>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sts::platform {
namespace {

using posix::UniqueFd;

std::atomic<testing::BeneathWalk> g_beneath_walk{testing::BeneathWalk::automatic};
std::mutex g_hook_mutex;
std::function<void(const std::string&)> g_before_rename;  // guarded by g_hook_mutex

// ---- small shared steps --------------------------------------------------------------------

// A path as it appears in a message: control characters escaped, so it stays one line.
std::string shown(std::string_view path) { return escape_controls(path); }

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

const char* kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unknown kind of file";
}

struct PathParts {
  std::string dir;   // "." for a bare name, "/" for a name in the root
  std::string base;  // empty when the path ends in '/'
};

PathParts split_parent(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

bool names_a_folder(std::string_view base) { return base.empty() || base == "." || base == ".."; }

// Writes all of bytes; 0, or the errno of the failed write.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// close() that reports a deferred write error (NFS reports some only here). EINTR leaves the
// descriptor closed on Linux, so it is not an error.
int close_checked(UniqueFd& fd) {
  const int raw = fd.release();
  if (::close(raw) != 0 && errno != EINTR) return errno;
  return 0;
}

// ---- read_beneath ----------------------------------------------------------------------------

constexpr int kMaxBeneathLinks = 40;    // the kernel's own limit (MAXSYMLINKS)
constexpr int kMaxOpenat2Retries = 16;  // EAGAIN: a rename raced a ".." in the lookup
constexpr int kBeneathOpenFlags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;

std::vector<std::string> split_components(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto slash = text.find('/');
    const std::string_view part = text.substr(0, slash);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    text.remove_prefix(slash + 1);
  }
  return parts;
}

// The rules on the name itself, before anything is opened; empty when it passes. root: as shown.
std::string name_problem(std::string_view rel, const std::string& root) {
  if (rel.empty()) return "empty name";
  if (rel.find('\0') != std::string_view::npos) return "name contains a NUL byte";
  // A leading backslash is refused too: it is an absolute path on Windows, and a handle means
  // the same on both platforms.
  if (rel.front() == '/' || rel.front() == '\\') return "absolute paths are not allowed; name a file under " + root;
  if (rel.back() == '/') return "the name ends with \"/\"; name a file under " + root + ", not a folder";
  for (std::string_view rest = rel; !rest.empty();) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return "\"..\" is not allowed; name a file under " + root;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

// The kernel's way: a descriptor, or -errno.
int open_by_openat2(int rootfd, const std::string& rel) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(kBeneathOpenFlags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < kMaxOpenat2Retries; ++attempt) {
    const long fd = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
  return -EAGAIN;
}

// The fallback walk (see the banner). Every open is relative to a descriptor this walk holds
// and uses O_NOFOLLOW, so no name is ever resolved through a link by the kernel; the walk
// reads each link through the descriptor of the link it found, and walks the target itself.
class BeneathWalker {
 public:
  // root_spellings: absolute paths that name the root (as configured, and canonical); an
  // absolute link whose target starts with one of them is walked from the root descriptor,
  // never resolved by the kernel. Any other absolute link leaves the root.
  explicit BeneathWalker(std::vector<std::vector<std::string>> root_spellings)
      : root_spellings_(std::move(root_spellings)) {}

  // A descriptor opened kBeneathOpenFlags, or -errno (EXDEV: the name leaves the root).
  int open(int rootfd, std::string_view rel) {
    UniqueFd root(::fcntl(rootfd, F_DUPFD_CLOEXEC, 0));
    if (!root.valid()) return -errno;
    folders_.push_back(std::move(root));
    for (auto& part : split_components(rel)) todo_.push_back(std::move(part));
    while (!todo_.empty()) {
      std::string name = std::move(todo_.front());
      todo_.pop_front();
      if (const int rc = step(name); rc != kContinue) return rc;
    }
    // The name ended on a folder (a link to "." or ".."): refused like any folder.
    return -EISDIR;
  }

 private:
  static constexpr int kContinue = INT_MIN;

  int step(const std::string& name) {
    if (name == "..") {
      if (folders_.size() == 1) return -EXDEV;  // above the root
      folders_.pop_back();
      return kContinue;
    }
    const int dir = folders_.back().get();
    const bool last = todo_.empty();
    if (last) {
      const int fd = ::openat(dir, name.c_str(), kBeneathOpenFlags | O_NOFOLLOW);
      if (fd >= 0) return fd;
      if (errno != ELOOP) return -errno;
      // ELOOP under O_NOFOLLOW: the name is a symlink; read it below.
    }
    UniqueFd node(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!node.valid()) return -errno;
    struct stat st {};
    if (::fstat(node.get(), &st) != 0) return -errno;
    if (S_ISLNK(st.st_mode)) {
      if (++links_ > kMaxBeneathLinks) return -ELOOP;
      return queue_link_target(node.get());
    }
    if (last) {
      // It was a link a moment ago and is not now (swapped between the two opens): try the
      // name again, within the same budget so a flipping name cannot keep the walk busy.
      if (++links_ > kMaxBeneathLinks) return -ELOOP;
      todo_.push_front(name);
      return kContinue;
    }
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    folders_.push_back(std::move(node));
    return kContinue;
  }

  // Puts the components of the link's target in front of what is left to walk.
  int queue_link_target(int linkfd) {
    char target[PATH_MAX];
    const ssize_t n = ::readlinkat(linkfd, "", target, sizeof target);
    if (n < 0) return -errno;
    if (static_cast<std::size_t>(n) == sizeof target) return -ENAMETOOLONG;
    if (n == 0) return -ENOENT;
    auto parts = split_components(std::string_view(target, static_cast<std::size_t>(n)));
    if (target[0] == '/') {
      const std::size_t skip = root_prefix_length(parts);
      if (skip == kNoPrefix) return -EXDEV;
      parts.erase(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(skip));
      folders_.resize(1);  // back to the root descriptor
    }
    todo_.insert(todo_.begin(), std::make_move_iterator(parts.begin()), std::make_move_iterator(parts.end()));
    return kContinue;
  }

  static constexpr std::size_t kNoPrefix = static_cast<std::size_t>(-1);

  // How many leading components of an absolute target spell the root; kNoPrefix if none does.
  std::size_t root_prefix_length(const std::vector<std::string>& target) const {
    for (const auto& root : root_spellings_) {
      if (root.size() <= target.size() && std::equal(root.begin(), root.end(), target.begin())) return root.size();
    }
    return kNoPrefix;
  }

  std::vector<std::vector<std::string>> root_spellings_;
  std::vector<UniqueFd> folders_;  // the root, then each folder walked into
  std::deque<std::string> todo_;
  int links_ = 0;
};

bool openat2_unusable(int err) { return err == ENOSYS || err == EPERM; }

// The absolute spellings of root, as component lists: as configured (when absolute and free of
// "..") and canonical. Only used to recognise absolute links that point beneath the root; a
// spelling that is stale by the time a link is read only makes such a link refused or walked
// from the root descriptor, never followed elsewhere.
std::vector<std::vector<std::string>> root_spellings(const std::string& root) {
  std::vector<std::vector<std::string>> out;
  auto add = [&out](std::string_view path) {
    if (path.empty() || path.front() != '/') return;
    auto parts = split_components(path);
    if (std::find(parts.begin(), parts.end(), "..") != parts.end()) return;
    if (std::find(out.begin(), out.end(), parts) == out.end()) out.push_back(std::move(parts));
  };
  add(root);
  if (char* canonical = ::realpath(root.c_str(), nullptr)) {
    add(canonical);
    std::free(canonical);
  }
  return out;
}

// A descriptor for root/rel opened beneath rootfd, or -errno. The kernel's openat2 first; the
// walk where openat2 cannot run (ENOSYS, EPERM), and where it refused with EXDEV, because
// RESOLVE_BENEATH refuses every absolute symlink, also one that names a file under the root
// (ln -s /etc/secrets/real /etc/secrets/alias); the walk follows those and refuses the rest.
int open_beneath(int rootfd, const std::string& root, const std::string& rel) {
  const auto walk = g_beneath_walk.load();
  if (walk != testing::BeneathWalk::manual_only) {
    const int fd = open_by_openat2(rootfd, rel);
    if (fd >= 0 || walk == testing::BeneathWalk::openat2_only) return fd;
    if (!openat2_unusable(-fd) && -fd != EXDEV) return fd;
  }
  return BeneathWalker(root_spellings(root)).open(rootfd, rel);
}

// The message for an open beneath the root that failed with err.
Error beneath_open_failed(const BeneathErrors& fail, int err) {
  switch (err) {
    case ENOENT: return fail.missing(err);
    case ENOTDIR: return fail.not_a_folder_on_the_way(err);
    case EISDIR: return fail.is_directory(err);
    case EXDEV: return fail.leaves_root(err);
    case ELOOP: return fail.too_many_links(err);
    case EAGAIN: return fail.kept_changing(err);
    default: return fail.cannot("open", errno_text(err), err);
  }
}

// Reads at most max_bytes + 1 bytes of fd into secure memory; the +1 tells "too large" apart.
// 0, or the errno of the failed read.
int read_capped(int fd, std::size_t max_bytes, std::size_t size_hint, SecureBuffer& out) {
  const std::size_t limit = max_bytes + 1;
  out.reserve(std::min(size_hint, max_bytes) + 1);
  while (out.size() < limit) {
    if (out.spare_size() == 0) out.reserve(std::min(out.size() * 2, limit));
    const std::size_t want = std::min(out.spare_size(), limit - out.size());
    const ssize_t n = ::read(fd, out.spare(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    out.commit(static_cast<std::size_t>(n));
  }
  return 0;
}

// ---- write_file_atomic -------------------------------------------------------------------------

constexpr int kMaxTempAttempts = 16;
constexpr std::size_t kMaxTempStem = 200;  // keeps ".<stem>.tmp-<12 hex>" under NAME_MAX

std::string random_hex(std::size_t bytes) {
  static std::atomic<unsigned long> counter{0};
  std::vector<unsigned char> raw(bytes);
  if (::getrandom(raw.data(), raw.size(), GRND_NONBLOCK) != static_cast<ssize_t>(raw.size())) {
    // Unpredictability only spares a retry here (O_EXCL makes a taken name harmless).
    unsigned long v = static_cast<unsigned long>(::getpid()) * 1000003UL + counter.fetch_add(1);
    for (auto& b : raw) {
      b = static_cast<unsigned char>(v & 0xffU);
      v = (v >> 8) | (v << 56);
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 0xfU];
  }
  return out;
}

enum class Destination { absent, regular };

Error write_refused(const std::string& path, const std::string& why) {
  return make_error(Code::usage, "refusing to write " + shown(path) + ": " + why);
}

// What the destination is now: absent or a regular file; anything else is refused (usage).
Result<Destination> check_destination(int dirfd, const std::string& base, const std::string& path) {
  struct stat st {};
  if (::fstatat(dirfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Destination::absent;
    const int err = errno;
    return make_error(Code::io_failed, "cannot inspect " + shown(path) + ": " + errno_text(err), err);
  }
  if (S_ISLNK(st.st_mode)) {
    return write_refused(path, "it is a symbolic link; name the file it points to, or remove the link first");
  }
  if (S_ISDIR(st.st_mode)) return write_refused(path, "it is a folder; name a file (or use --output-dir for a folder)");
  if (!S_ISREG(st.st_mode)) {
    return write_refused(path, std::string("it is ") + kind_of(st.st_mode) +
                                   ", not a regular file; name a regular file, or use -o - for stdout");
  }
  return Destination::regular;
}

struct TempFile {
  UniqueFd fd;
  std::string name;
};

// A new owner-only file beside the destination, so the rename stays on one filesystem.
Result<TempFile> create_temp(int dirfd, const std::string& base, const std::string& path) {
  const std::string stem = "." + base.substr(0, kMaxTempStem) + ".tmp-";
  int err = 0;
  for (int attempt = 0; attempt < kMaxTempAttempts; ++attempt) {
    TempFile t{UniqueFd(), stem + random_hex(6)};
    t.fd.reset(::openat(dirfd, t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (t.fd.valid()) return t;
    err = errno;
    if (err != EEXIST) break;
  }
  return make_error(Code::io_failed, "cannot create a temporary file beside " + shown(path) + ": " + errno_text(err), err);
}

// Mode exactly 0600 (the umask may have taken owner bits; it never adds any), the bytes, and a
// flush to disk, so the rename publishes a complete file.
Status fill_temp(TempFile& t, std::string_view bytes, const std::string& path) {
  const char* step = "set mode 0600 on";
  int err = ::fchmod(t.fd.get(), 0600) != 0 ? errno : 0;
  if (err == 0) {
    step = "write";
    err = write_all(t.fd.get(), bytes);
  }
  if (err == 0) {
    step = "flush";
    err = ::fsync(t.fd.get()) != 0 ? errno : 0;
  }
  if (err == 0) {
    step = "write";
    err = close_checked(t.fd);
  }
  if (err == 0) return ok();
  return make_error(Code::io_failed,
                    std::string("cannot ") + step + " the temporary file for " + shown(path) + ": " + errno_text(err), err);
}

// Puts the temporary file in place of the destination, never replacing what is not a regular
// file, even when the destination changes after check_destination:
//   - absent:  renameat2(RENAME_NOREPLACE) fails if something appeared meanwhile; the caller
//              checks again.
//   - regular: renameat2(RENAME_EXCHANGE) swaps the two names atomically; what was swapped out
//              is then inspected under the temporary name, and if it is not a regular file (a
//              symlink or device planted after the check) the swap is undone and the write
//              refused. Either way nothing is ever written through the destination: the bytes
//              went into our own O_EXCL file, and renames act on names, not on what they point to.
// On a filesystem without renameat2 flags (EINVAL) this falls back to rename(), which still
// never writes through a link but would replace a non-regular file planted between the check
// and the rename by someone who can write the folder (and who could remove that entry anyway).
// Returns true when placed, false when the destination changed meanwhile (check it again).
Result<bool> replace_destination(int dirfd, const std::string& temp, const std::string& base, Destination was,
                                 const std::string& path) {
  const unsigned flags = was == Destination::absent ? RENAME_NOREPLACE : RENAME_EXCHANGE;
  if (::renameat2(dirfd, temp.c_str(), dirfd, base.c_str(), flags) != 0) {
    const int err = errno;
    if ((was == Destination::absent && err == EEXIST) || (was == Destination::regular && err == ENOENT)) {
      return false;
    }
    if (err == EINVAL && ::renameat(dirfd, temp.c_str(), dirfd, base.c_str()) == 0) return true;
    return make_error(Code::io_failed,
                      "cannot rename the temporary file into place as " + shown(path) + ": " + errno_text(err), err);
  }
  if (was == Destination::absent) return true;
  struct stat st {};
  const bool swapped_out_regular = ::fstatat(dirfd, temp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  if (!swapped_out_regular) {
    (void)::renameat2(dirfd, temp.c_str(), dirfd, base.c_str(), RENAME_EXCHANGE);
    return write_refused(path, "it was replaced by something that is not a regular file while it was written; "
                               "nothing was written, check who else writes that folder");
  }
  (void)::unlinkat(dirfd, temp.c_str(), 0);  // the previous file, now under the temporary name
  return true;
}

void run_before_rename_hook(const std::string& path) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(g_hook_mutex);
    hook = g_before_rename;
  }
  if (hook) hook(path);
}

// ---- append_audit_line -------------------------------------------------------------------------

constexpr int kMaxAuditAttempts = 64;  // reopen rounds when the log is rotated or removed meanwhile

Error audit_insecure(const CheckRule& rule) { return make_error(Code::config_insecure, rule.detail + "; " + rule.fix); }

// SPEC 6 on an existing (or just created) audit log, as data. The fixes are commands.
std::vector<CheckRule> audit_file_rules(const struct stat& st, const std::string& path) {
  const std::string p = shown(path);
  const uid_t euid = ::geteuid();
  std::vector<CheckRule> rules;
  const bool regular = S_ISREG(st.st_mode);
  std::string type_fix = "remove it (rm " + p + ") and let stsecrets create the file";
  if (S_ISFIFO(st.st_mode)) type_fix = "remove the FIFO (rm " + p + ") and let stsecrets create the file";
  if (S_ISDIR(st.st_mode)) type_fix = "point secret_audit_file at a file, not a folder";
  rules.push_back({"audit type", regular, "the audit log " + p + " is " + kind_of(st.st_mode), regular ? "" : type_fix});
  const bool one_link = st.st_nlink == 1;
  rules.push_back({"audit links", one_link,
                   "the audit log " + p + " has " + std::to_string(st.st_nlink) + " hard links, so it can be read or "
                       "replaced through another name",
                   one_link ? "" : "move it away (mv " + p + " " + p + ".old) and let stsecrets create a new one"});
  const bool owned = st.st_uid == euid;
  rules.push_back({"audit owner", owned,
                   "the audit log " + p + " is owned by uid " + std::to_string(st.st_uid) +
                       ", not by the effective user (uid " + std::to_string(euid) + "), so its owner can forge records",
                   owned ? "" : "move it away (mv " + p + " " + p + ".suspect) and let stsecrets create a new one, "
                                "or run chown " + std::to_string(euid) + " " + p + " if you trust its records"});
  const bool mode_ok = (st.st_mode & 07777) == 0600;
  rules.push_back({"audit mode", mode_ok, "the audit log " + p + " has mode " + octal_mode(st.st_mode) + ", not 0600",
                   mode_ok ? "" : "run chmod 600 " + p});
  return rules;
}

// The folder holding the log: whoever can write it can rename the log away and put their own
// in its place. Owned by root or the effective user, and not writable by group or others,
// sticky or not (in a sticky folder others cannot rename the log, but they can take its name
// or FILE.1 before it exists and stop every run). Folders
// further up were checked by the walk that reached it (Role::audit_folder: the SPEC 5 ancestor
// rule, links followed only through folders that pass): whoever can write one of them can
// rename this folder aside with the log in it and put a link of their own in its place.
std::vector<CheckRule> audit_folder_rules(const struct stat& st, const std::string& dir) {
  const std::string d = shown(dir);
  const uid_t euid = ::geteuid();
  std::vector<CheckRule> rules;
  const bool owned = st.st_uid == 0 || st.st_uid == euid;
  rules.push_back({"audit folder owner", owned,
                   "the folder " + d + " of the audit log is owned by uid " + std::to_string(st.st_uid) +
                       ", who can rename the log away",
                   owned ? "" : "run chown " + std::to_string(euid) + " " + d + ", or put the log in a folder of its own"});
  // Sticky does not help here: others cannot rename the log, but they can create its name, or
  // FILE.1, before it exists, and every run then fails (review of the fixes).
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool mode_ok = (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
  const std::string found = "the folder " + d + " of the audit log is writable by group or others (mode " +
                            octal_mode(st.st_mode);
  rules.push_back({"audit folder mode", mode_ok,
                   sticky ? found + ", sticky), who can create the log's name or its FILE.1 first and stop every run"
                          : found + "), who can rename the log away",
                   mode_ok  ? ""
                   : sticky ? "put the log in a folder of its own"
                            : "run chmod go-w " + d + ", or put the log in a folder of its own"});
  return rules;
}

Status first_failure(const std::vector<CheckRule>& rules) {
  for (const auto& r : rules) {
    if (!r.ok) return audit_insecure(r);
  }
  return ok();
}

Result<UniqueFd> open_audit_folder(const std::string& dir, const std::string& path) {
  auto walk = walk_written_folder(dir, posix::Role::audit_folder, "the folder of secret_audit_file " + shown(path),
                                  Code::config_insecure);
  if (!walk) return std::move(walk).error();
  UniqueFd fd = walk->state == posix::WalkState::found ? open_walked_folder(*walk) : UniqueFd();
  if (!fd.valid()) {
    const int err = walk->state == posix::WalkState::found ? errno : ENOENT;
    return make_error(Code::io_failed,
                      "cannot open the folder of the audit log " + shown(path) + ": " + errno_text(err) +
                          (err == ENOENT ? "; create it (owner-only) or change secret_audit_file" : ""),
                      err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return make_error(Code::io_failed, "cannot inspect the folder of the audit log " + shown(path) + ": " + errno_text(err), err);
  }
  if (auto s = first_failure(audit_folder_rules(st, dir)); !s) return std::move(s).error();
  return fd;
}

// Opens (creating owner-only if absent) the log for appending, and checks the rules on the
// descriptor. An invalid UniqueFd means the log vanished meanwhile (rotated or removed by
// another appender): try again.
Result<UniqueFd> open_audit_file(int dirfd, const std::string& base, const std::string& path) {
  // A look before opening, so a device or FIFO is never even opened; the checks that count are
  // the ones on the descriptor below.
  struct stat pre {};
  const bool exists = ::fstatat(dirfd, base.c_str(), &pre, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISLNK(pre.st_mode)) {
    return make_error(Code::config_insecure, "the audit log " + shown(path) +
                                                 " is a symbolic link; point secret_audit_file at the real file");
  }
  if (exists) {
    if (auto s = first_failure({audit_file_rules(pre, path).front()}); !s) return std::move(s).error();
  }
  constexpr int kFlags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  bool created = false;
  UniqueFd fd;
  if (!exists) {
    fd.reset(::openat(dirfd, base.c_str(), kFlags | O_CREAT | O_EXCL, 0600));
    created = fd.valid();
    if (!created && errno != EEXIST) {
      const int err = errno;
      return make_error(Code::io_failed, "cannot create the audit log " + shown(path) + ": " + errno_text(err), err);
    }
  }
  if (!fd.valid()) fd.reset(::openat(dirfd, base.c_str(), kFlags));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return UniqueFd();
    if (err == ELOOP) {
      return make_error(Code::config_insecure, "the audit log " + shown(path) +
                                                   " is a symbolic link; point secret_audit_file at the real file", err);
    }
    if (err == ENXIO) {  // a FIFO with no reader, planted after the look above
      return make_error(Code::config_insecure, "the audit log " + shown(path) + " is a FIFO; remove the FIFO (rm " +
                                                   shown(path) + ") and let stsecrets create the file", err);
    }
    return make_error(Code::io_failed, "cannot open the audit log " + shown(path) + ": " + errno_text(err), err);
  }
  // Created: exactly 0600 whatever the umask (which can only have taken bits away, so the file
  // was never more open than 0600 in between). Under a umask that strips owner bits (0277) a
  // concurrent appender that opens the file before this fchmod sees 0400 and refuses once;
  // under the usual umasks (022, 077) the file is 0600 from its creation.
  if (created && ::fchmod(fd.get(), 0600) != 0) {
    const int err = errno;
    return make_error(Code::io_failed, "cannot set mode 0600 on the audit log " + shown(path) + ": " + errno_text(err), err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return make_error(Code::io_failed, "cannot inspect the audit log " + shown(path) + ": " + errno_text(err), err);
  }
  // No link left: between our open and now, another appender rotated this file away twice
  // (the second rotation removed it). Not a rule violation: the name is simply elsewhere now.
  if (st.st_nlink == 0) return UniqueFd();
  if (auto s = first_failure(audit_file_rules(st, path)); !s) return std::move(s).error();
  // O_NONBLOCK was only for the open; appends to a regular file never block on it anyway.
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

bool still_named(int dirfd, const std::string& base, int fd, struct stat& st) {
  struct stat now {};
  if (::fstat(fd, &st) != 0) return false;
  if (::fstatat(dirfd, base.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return now.st_dev == st.st_dev && now.st_ino == st.st_ino;
}

int lock_exclusive(int fd) {
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

}  // namespace

// ---- written_folder.h --------------------------------------------------------------------------

Result<posix::Walk> walk_written_folder(const std::string& dir, posix::Role role, const std::string& context,
                                        Code refused) {
  std::string absolute = dir;
  if (absolute.empty() || absolute.front() != '/') {
    // The walk starts at "/"; the working folder's path has no links in it (getcwd).
    std::vector<char> cwd(static_cast<std::size_t>(PATH_MAX) + 1);
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
      const int err = errno;
      return make_error(Code::io_failed, "cannot find the working folder to reach " + shown(dir) + ": " + errno_text(err),
                        err);
    }
    absolute = std::string(cwd.data()) + "/" + dir;
  }
  posix::RuleBook book(nullptr, refused, Code::io_failed);
  posix::Walk walk = book.walk(posix::Subject{role, absolute, context, ""});
  if (book.error()) return *book.error();
  return walk;
}

UniqueFd open_walked_folder(const posix::Walk& walk) {
  if (!S_ISDIR(walk.end.st.st_mode)) {
    errno = ENOTDIR;
    return UniqueFd();
  }
  return UniqueFd(::openat(walk.end.node.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// ---- the hooks -------------------------------------------------------------------------------

Result<SecureBuffer> read_beneath(const std::string& root, std::string_view relative, std::size_t max_bytes) {
  const BeneathErrors fail(root, relative, '/');
  if (auto problem = name_problem(relative, fail.root()); !problem.empty()) return fail.bad_name(problem);

  UniqueFd rootfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd.valid()) {
    const int err = errno;
    return fail.root_unusable(errno_text(err), err);
  }
  const int raw = open_beneath(rootfd.get(), root, std::string(relative));
  if (raw < 0) return beneath_open_failed(fail, -raw);
  UniqueFd fd(raw);

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return fail.cannot("inspect", errno_text(err), err);
  }
  if (S_ISDIR(st.st_mode)) return fail.is_directory();
  if (!S_ISREG(st.st_mode)) return fail.not_regular(kind_of(st.st_mode));
  if (st.st_size > 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes) return fail.too_large(max_bytes);
  // Blocking reads again: a regular file ignores O_NONBLOCK today, but the read loop should
  // not depend on that.
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);

  SecureBuffer value;
  if (const int err = read_capped(fd.get(), max_bytes, static_cast<std::size_t>(st.st_size), value); err != 0) {
    return fail.cannot("read", errno_text(err), err);
  }
  if (value.size() > max_bytes) return fail.too_large(max_bytes);
  return value;
}

// An existing --output-dir (SPEC 6, review finding F3), as data: whoever else can write it can
// replace a resolved file after it was written, or put a link in place of one before.
std::vector<CheckRule> output_dir_rules(const struct stat& st, const std::string& path) {
  const std::string p = quote_text(path, 512);
  const uid_t euid = ::geteuid();
  const std::string own_folder = ", or give --output-dir a folder of your own";
  std::vector<CheckRule> rules;
  const bool owned = st.st_uid == 0 || st.st_uid == euid;
  rules.push_back({"output folder owner", owned,
                   "--output-dir " + p + " is owned by uid " + std::to_string(st.st_uid) +
                       ", who could replace the resolved files in it",
                   owned ? "" : "run chown " + std::to_string(euid) + " " + p + own_folder});
  // Sticky does not help: anyone may still add the name of a file not written yet.
  const bool closed = (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
  rules.push_back({"output folder mode", closed,
                   "--output-dir " + p + " is writable by group or others (mode " + posix::mode_text(st.st_mode) +
                       "), who could replace the resolved files in it",
                   closed ? "" : "run chmod go-w " + p + own_folder});
  return rules;
}

Status write_file_atomic(const std::string& path, std::string_view bytes, bool private_folder) {
  const PathParts parts = split_parent(path);
  if (names_a_folder(parts.base)) return write_refused(path, "the path names a folder, not a file");
  auto walk = walk_written_folder(parts.dir, posix::Role::output_folder, "the folder of the output file " + shown(path),
                                  Code::usage);
  if (!walk) return std::move(walk).error();
  UniqueFd dirfd = walk->state == posix::WalkState::found ? open_walked_folder(*walk) : UniqueFd();
  if (!dirfd.valid()) {
    const int err = walk->state == posix::WalkState::found ? errno : ENOENT;
    return make_error(Code::io_failed, "cannot open the folder of " + shown(path) + ": " + errno_text(err), err);
  }
  if (private_folder) {
    // Checked again on the descriptor written through: make_private_dir's check was by path.
    struct stat st {};
    if (::fstat(dirfd.get(), &st) != 0) {
      const int err = errno;
      return make_error(Code::io_failed, "cannot check the folder of " + shown(path) + ": " + errno_text(err), err);
    }
    for (const CheckRule& rule : output_dir_rules(st, parts.dir)) {
      if (!rule.ok) return make_error(Code::usage, rule.detail + "; " + rule.fix);
    }
  }
  auto dest = check_destination(dirfd.get(), parts.base, path);
  if (!dest) return std::move(dest).error();
  auto temp = create_temp(dirfd.get(), parts.base, path);
  if (!temp) return std::move(temp).error();
  const std::string temp_name = temp->name;
  auto drop_temp = [&] { (void)::unlinkat(dirfd.get(), temp_name.c_str(), 0); };
  if (auto st = fill_temp(*temp, bytes, path); !st) {
    drop_temp();
    return st;
  }
  run_before_rename_hook(path);
  // The destination changed between the check and the rename: check again, a bounded number
  // of times (each round needs someone else to change the folder).
  for (int round = 0;; ++round) {
    auto placed = replace_destination(dirfd.get(), temp_name, parts.base, *dest, path);
    if (!placed) {
      drop_temp();
      return std::move(placed).error();
    }
    if (*placed) break;
    if (round == kMaxTempAttempts) {
      drop_temp();
      return make_error(Code::io_failed, "cannot write " + shown(path) + ": the folder keeps changing; try again", EAGAIN);
    }
    dest = check_destination(dirfd.get(), parts.base, path);
    if (!dest) {
      drop_temp();
      return std::move(dest).error();
    }
  }
  // Make the rename itself durable. EINVAL: the filesystem cannot sync folders.
  if (::fsync(dirfd.get()) != 0 && errno != EINVAL) {
    const int err = errno;
    return make_error(Code::io_failed, "cannot flush the folder of " + shown(path) + ": " + errno_text(err), err);
  }
  return ok();
}

Status append_audit_line(const std::string& path, std::string_view line, std::uint64_t max_size) {
  const PathParts parts = split_parent(path);
  if (names_a_folder(parts.base)) {
    return make_error(Code::config_invalid, "secret_audit_file " + shown(path) + " names a folder; name a file");
  }
  auto dirfd = open_audit_folder(parts.dir, path);
  if (!dirfd) return std::move(dirfd).error();
  const std::string rotated = parts.base + ".1";

  for (int attempt = 0; attempt < kMaxAuditAttempts; ++attempt) {
    auto fd = open_audit_file(dirfd->get(), parts.base, path);
    if (!fd) return std::move(fd).error();
    if (!fd->valid()) continue;
    // Only processes of the effective user can open the log (0600, ours), so only they can
    // hold this lock, each for one append or one rotation.
    if (const int err = lock_exclusive(fd->get()); err != 0) {
      return make_error(Code::io_failed, "cannot lock the audit log " + shown(path) + ": " + errno_text(err), err);
    }
    struct stat st {};
    if (!still_named(dirfd->get(), parts.base, fd->get(), st)) continue;  // rotated while we waited
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (max_size > 0 && size > 0 && size + line.size() > max_size) {
      // One generation: FILE.1 is replaced. The lock is still held, so no other appender can
      // decide on the same file; the ones waiting find the name moved and reopen.
      if (::renameat(dirfd->get(), parts.base.c_str(), dirfd->get(), rotated.c_str()) != 0) {
        const int err = errno;
        return make_error(Code::io_failed,
                          "cannot rotate the audit log " + shown(path) + " to " + shown(path) + ".1: " + errno_text(err), err);
      }
      continue;
    }
    int err = write_all(fd->get(), line);
    if (err == 0) err = close_checked(*fd);
    if (err != 0) return make_error(Code::io_failed, "cannot append to the audit log " + shown(path) + ": " + errno_text(err), err);
    return ok();
  }
  return make_error(Code::io_failed, "cannot append to the audit log " + shown(path) +
                                         ": it keeps being replaced or removed while appending; check what else writes it",
                    EAGAIN);
}

// ---- test seams ----------------------------------------------------------------------------------

void testing::set_beneath_walk(BeneathWalk walk) { g_beneath_walk.store(walk); }

bool testing::openat2_available() {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH;
  const long fd = ::syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
  if (fd < 0) return !openat2_unusable(errno);
  ::close(static_cast<int>(fd));
  return true;
}

void testing::set_before_rename_hook(std::function<void(const std::string& path)> hook) {
  std::lock_guard<std::mutex> lock(g_hook_mutex);
  g_before_rename = std::move(hook);
}

// read_file: a non-secret file (configs, documents) read whole, capped, never blocking on a
// FIFO: opened non-blocking, then only a regular (disk) file is read.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  const std::string shown = quote_text(path, 512);
  auto fail = [&](const std::string& why, int err = 0) {
    return make_error(Code::config_unreadable, "cannot read " + shown + ": " + why, err);
  };
  posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return fail(errno_text(errno), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno_text(errno), errno);
  if (S_ISDIR(st.st_mode)) return fail("it is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return fail("it is not a regular file (a FIFO, socket or device)");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > max_bytes) {
        return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
      }
      text.resize(std::min(max_bytes + 1, text.size() * 2 + 4096));
    }
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_text(errno), errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace sts::platform
