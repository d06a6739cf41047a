// SPEC 5 on POSIX (Linux): walk the configured path from "/" one component at a time through
// openat(O_PATH|O_NOFOLLOW) + fstat, check every directory on the way, follow symlinks by
// walking their targets with the same rules, then open the file once (O_RDONLY), check it on
// that descriptor, hash it from that descriptor and hand the descriptor out for execveat.
//
// Symlink rule: a link is followed only through directories that pass the ancestor rule (the
// directory holding the link passed it, since whoever can write there can re-point the link).
// An absolute target is walked again from "/", a relative one from the link's directory; at
// most kMaxLinks links are followed.
//
// Every rule is evaluated and recorded (for `stsecrets check`); the first failure is the error.
#if defined(_WIN32)
#error "executable_check_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/executable_check.h"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <grp.h>
#include <map>
#include <memory>
#include <optional>
#include <pwd.h>
#include <set>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sts {

void VerifiedExecutable::reset() noexcept {
  if (native_ == kInvalid) return;
  const int saved = errno;
  (void)::close(static_cast<int>(native_));
  errno = saved;
  native_ = kInvalid;
}

namespace {

constexpr int kMaxLinks = 8;

// Move-only owner of one descriptor (the walk holds one per directory on the current path).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) { reset(); fd_ = std::exchange(o.fd_, -1); }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept {
    if (fd_ < 0) return;
    const int saved = errno;
    (void)::close(fd_);
    errno = saved;
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(int err) {
  std::array<char, 256> buf{};
  // GNU strerror_r returns the message (possibly not in buf); XSI returns 0 and fills buf.
  auto r = ::strerror_r(err, buf.data(), buf.size());
  if constexpr (std::is_same_v<decltype(r), char*>) {
    return r != nullptr ? std::string(r) : "error " + std::to_string(err);
  } else {
    return r == 0 ? std::string(buf.data()) : "error " + std::to_string(err);
  }
}

std::optional<std::string> lookup_user(uid_t uid) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 16384;
  for (int attempt = 0; attempt < 5; ++attempt, size *= 4) {
    std::vector<char> buf(size);
    passwd pw{};
    passwd* found = nullptr;
    int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr || pw.pw_name == nullptr) return std::nullopt;
    return std::string(pw.pw_name);
  }
  return std::nullopt;
}

std::optional<std::string> lookup_group(gid_t gid) {
  long hint = ::sysconf(_SC_GETGR_R_SIZE_MAX);
  std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 16384;
  for (int attempt = 0; attempt < 5; ++attempt, size *= 4) {
    std::vector<char> buf(size);
    group gr{};
    group* found = nullptr;
    int rc = ::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr || gr.gr_name == nullptr) return std::nullopt;
    return std::string(gr.gr_name);
  }
  return std::nullopt;
}

// User and group names for messages, looked up once per check (NSS lookups are not free and
// the check runs before every backend run).
class Names {
 public:
  std::optional<std::string> user_name(uid_t uid) {
    auto it = users_.find(uid);
    if (it == users_.end()) it = users_.emplace(uid, lookup_user(uid)).first;
    return it->second;
  }
  std::optional<std::string> group_name(gid_t gid) {
    auto it = groups_.find(gid);
    if (it == groups_.end()) it = groups_.emplace(gid, lookup_group(gid)).first;
    return it->second;
  }
  // "root" or "uid 54321": for messages.
  std::string user_text(uid_t uid) { auto n = user_name(uid); return n ? *n : "uid " + std::to_string(uid); }
  std::string group_text(gid_t gid) { auto n = group_name(gid); return n ? *n : "gid " + std::to_string(gid); }
  // What a chown/chgrp command accepts: the name, else the number.
  std::string user_arg(uid_t uid) { auto n = user_name(uid); return n ? *n : std::to_string(uid); }
  std::string group_arg(gid_t gid) { auto n = group_name(gid); return n ? *n : std::to_string(gid); }

 private:
  std::map<uid_t, std::optional<std::string>> users_;
  std::map<gid_t, std::optional<std::string>> groups_;
};

std::string octal(unsigned value, int width) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%0*o", width, value);
  return std::string(buf.data());
}
// "0755", "4700": the permission bits as operators write them.
std::string mode_text(mode_t mode) { return octal(static_cast<unsigned>(mode & 07777), 4); }

std::string type_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

std::string join_path(const std::vector<std::string>& names) {
  if (names.empty()) return "/";
  std::string out;
  for (const auto& n : names) { out += '/'; out += n; }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// SHA-256 of the whole file, read through `fd` with pread (the descriptor's offset stays 0).
std::optional<std::string> sha256_of(int fd, int& err) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) { err = 0; return std::nullopt; }
  std::vector<unsigned char> buf(65536);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return std::nullopt;
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1) { err = 0; return std::nullopt; }
    offset += n;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &len) != 1) { err = 0; return std::nullopt; }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2u);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0x0f];
  }
  return hex;
}

// The effective identity the rules compare against.
struct Identity {
  uid_t euid = 0;
  gid_t egid = 0;
  std::vector<gid_t> groups;  // egid plus the supplementary groups

  static Identity current() {
    Identity id;
    id.euid = ::geteuid();
    id.egid = ::getegid();
    id.groups.push_back(id.egid);
    int n = ::getgroups(0, nullptr);
    if (n > 0) {
      std::vector<gid_t> more(static_cast<std::size_t>(n));
      n = ::getgroups(n, more.data());
      if (n > 0) id.groups.insert(id.groups.end(), more.begin(), more.begin() + n);
    }
    return id;
  }
  bool in_groups(gid_t gid) const {
    for (gid_t g : groups) if (g == gid) return true;
    return false;
  }
};

// One check run: collects rules, remembers the first failure as the error.
class Checker {
 public:
  Checker(const CheckOptions& options, ExecutableReport& report)
      : options_(options), report_(report), id_(Identity::current()) {}

  Result<VerifiedExecutable> run();

 private:
  void add_rule(std::string name, bool ok, std::string detail, std::string fix, std::string message,
                int os_error = 0) {
    if (!ok && !report_.error) report_.error = make_error(Code::exec_rejected, std::move(message), os_error);
    report_.rules.push_back(CheckRule{std::move(name), ok, std::move(detail), ok ? std::string() : std::move(fix)});
  }
  // A failure that ends the walk (nothing further can be evaluated).
  Error stop(std::string name, std::string detail, std::string fix, std::string message, int os_error = 0) {
    add_rule(std::move(name), false, std::move(detail), std::move(fix), std::move(message), os_error);
    return *report_.error;
  }
  // " (resolving /usr/local/bin/backend)" once a link has been followed, so a message about a
  // directory on a link's target says which configured path led there.
  std::string via() const {
    return links_ > 0 ? " (resolving " + options_.path + ")" : std::string();
  }
  // The file as messages name it: "/opt/backend" or "/usr/local/bin/backend -> /opt/vendor/backend".
  std::string file_text(const std::string& resolved) const {
    return resolved == options_.path ? resolved : options_.path + " -> " + resolved;
  }

  void check_directory(const std::string& path, const struct stat& st);
  Result<VerifiedExecutable> check_file(int dirfd, const std::string& name, const std::string& resolved,
                                        Fd path_fd, const struct stat& path_st);

  // "root (the effective user)" / "root or alice (the effective user)".
  std::string owner_requirement() {
    if (id_.euid == 0) return "root (the effective user)";
    return "root or " + names_.user_text(id_.euid) + " (the effective user)";
  }

  const CheckOptions& options_;
  ExecutableReport& report_;
  Identity id_;
  Names names_;
  int links_ = 0;
  std::set<std::string> directories_seen_;
};

void Checker::check_directory(const std::string& path, const struct stat& st) {
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id_.euid;
  const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool write_ok = !writable || sticky;
  const bool ok = owner_ok && write_ok;
  const std::string found = "mode " + mode_text(st.st_mode) + ", owner " + names_.user_text(st.st_uid);
  // An absolute link target may walk a directory again: record it once, unless it changed.
  if (ok && !directories_seen_.insert(path).second) return;

  std::string problem;
  std::string fix;
  if (!owner_ok) {
    problem = "is not owned by " + owner_requirement();
    fix = "chown " + names_.user_arg(id_.euid) + " " + path;
  }
  if (!write_ok) {
    problem += std::string(problem.empty() ? "" : " and ") + "is writable by group or others";
    fix += std::string(fix.empty() ? "" : " && ") + "chmod go-w " + path;
  }
  std::string detail = found;
  if (sticky) detail += ", sticky";
  if (!ok) detail += ": " + problem;
  add_rule("directory " + path, ok, detail, fix,
           "directory " + path + " (" + found + ") " + problem + via() + ": run " + fix);
}

Result<VerifiedExecutable> Checker::run() {
  const std::string& configured = options_.path;
  report_.path = configured;
  if (configured.empty() || configured.front() != '/') {
    auto err = make_error(Code::config_invalid,
                          "secret_backend_command must be an absolute path, got \"" + configured + "\"");
    report_.rules.push_back(CheckRule{"absolute path", false, "\"" + configured + "\" is relative",
                                      "set secret_backend_command to an absolute path"});
    report_.error = err;
    return err;
  }

  // The directories of the current resolved path, "/" first, each open with O_PATH.
  std::vector<Fd> dirs;
  std::vector<std::string> names;  // the resolved path's components below "/"
  {
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
      int e = errno;
      return stop("directory /", "cannot open: " + errno_text(e), "",
                  "cannot open / to check " + configured + ": " + errno_text(e), e);
    }
    dirs.emplace_back(root);
    struct stat st {};
    if (::fstat(root, &st) != 0) {
      int e = errno;
      return stop("directory /", "cannot stat: " + errno_text(e), "",
                  "cannot stat / to check " + configured + ": " + errno_text(e), e);
    }
    check_directory("/", st);
  }

  std::deque<std::string> pending;
  for (auto& c : split_path(configured)) pending.push_back(std::move(c));

  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      // The parent was checked on the way down; the resolved path never contains links.
      if (dirs.size() > 1) { dirs.pop_back(); names.pop_back(); }
      continue;
    }
    const int dirfd = dirs.back().get();
    names.push_back(name);
    const std::string here = join_path(names);

    Fd fd(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      int e = errno;
      if (e == ENOENT) {
        std::string msg = pending.empty()
            ? file_text(here) + " does not exist: install the backend there or correct secret_backend_command"
            : configured + " does not exist (" + here + " is missing" + (links_ > 0 ? ", after following links" : "") +
                  "): install the backend there or correct secret_backend_command";
        return stop("regular file", here + " does not exist", "install the backend at " + configured +
                    " or correct secret_backend_command", msg, e);
      }
      std::string parent = join_path(std::vector<std::string>(names.begin(), names.end() - 1));
      std::string msg = "cannot open " + here + via() + ": " + errno_text(e);
      if (e == EACCES) msg += " (no search permission on " + parent + "): run the check as a user that can reach it, or move the backend";
      return stop("regular file", "cannot open " + here + ": " + errno_text(e), "", msg, e);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      int e = errno;
      return stop("regular file", "cannot stat " + here + ": " + errno_text(e), "",
                  "cannot stat " + here + via() + ": " + errno_text(e), e);
    }

    if (S_ISLNK(st.st_mode)) {
      // The directory holding the link passed the ancestor rule above, so nobody else can
      // re-point it. Its target is walked with the same rules.
      if (++links_ > kMaxLinks) {
        return stop("symlink " + here, "more than " + std::to_string(kMaxLinks) + " symbolic links",
                    "point secret_backend_command at the file itself",
                    "too many symbolic links (more than " + std::to_string(kMaxLinks) + ") resolving " + configured +
                        ", at " + here + ": point secret_backend_command at the file itself", ELOOP);
      }
      std::vector<char> target(static_cast<std::size_t>(PATH_MAX) + 1);
      ssize_t n = ::readlinkat(fd.get(), "", target.data(), target.size());
      if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
        int e = n < 0 ? errno : ENAMETOOLONG;
        return stop("symlink " + here, "cannot read link: " + errno_text(e), "",
                    "cannot read symbolic link " + here + " resolving " + configured + ": " + errno_text(e), e);
      }
      std::string link(target.data(), static_cast<std::size_t>(n));
      add_rule("symlink " + here, true, "-> " + link, "", "");
      names.pop_back();
      if (!link.empty() && link.front() == '/') {
        dirs.resize(1);  // walk again from "/" (already checked)
        names.clear();
      }
      auto parts = split_path(link);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }

    if (S_ISDIR(st.st_mode) && !pending.empty()) {
      check_directory(here, st);
      dirs.push_back(std::move(fd));
      continue;
    }

    if (!pending.empty()) {
      return stop("regular file", here + " is " + type_text(st.st_mode) + ", not a directory",
                  "correct secret_backend_command",
                  "cannot resolve " + configured + ": " + here + " is " + type_text(st.st_mode) +
                      ", not a directory: correct secret_backend_command", ENOTDIR);
    }
    return check_file(dirfd, name, here, std::move(fd), st);
  }

  // The path ended on "/", "." or "..": a directory.
  const std::string here = join_path(names);
  return stop("regular file", here + " is a directory",
              "point secret_backend_command at the executable file",
              file_text(here) + " is a directory, not a regular file: point secret_backend_command at the executable file");
}

Result<VerifiedExecutable> Checker::check_file(int dirfd, const std::string& name, const std::string& resolved,
                                               Fd path_fd, const struct stat& path_st) {
  const std::string shown = file_text(resolved);
  struct stat st = path_st;
  Fd file;
  int open_error = 0;
  if (S_ISREG(path_st.st_mode)) {
    // The descriptor we keep, check, hash and execute. O_NONBLOCK: should the name have become
    // a fifo since the O_PATH open, opening must not hang (fstat below then rejects it).
    file = Fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (file.valid()) {
      struct stat now {};
      if (::fstat(file.get(), &now) != 0) {
        int e = errno;
        return stop("regular file", "cannot stat: " + errno_text(e), "", "cannot stat " + shown + ": " + errno_text(e), e);
      }
      if (now.st_dev != path_st.st_dev || now.st_ino != path_st.st_ino) {
        return stop("regular file", "replaced while being checked", "retry",
                    shown + " was replaced while being checked: retry, and find out who is changing it");
      }
      st = now;
      int flags = ::fcntl(file.get(), F_GETFL);
      if (flags >= 0) (void)::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK);
    } else {
      open_error = errno;
    }
  }
  path_fd.reset();

  report_.owner = names_.user_name(st.st_uid).value_or(std::to_string(st.st_uid));
  report_.group = names_.group_name(st.st_gid).value_or(std::to_string(st.st_gid));
  report_.mode = mode_text(st.st_mode);
  const std::string mode = mode_text(st.st_mode);

  // regular file
  if (!S_ISREG(st.st_mode)) {
    return stop("regular file", "is " + type_text(st.st_mode), "point secret_backend_command at the executable file",
                shown + " is " + type_text(st.st_mode) +
                    ", not a regular file: point secret_backend_command at the executable file");
  }
  add_rule("regular file", true, resolved, "", "");

  // no setuid/setgid
  {
    const bool suid = (st.st_mode & S_ISUID) != 0;
    const bool sgid = (st.st_mode & S_ISGID) != 0;
    std::string bits = suid && sgid ? "setuid and setgid bits" : suid ? "setuid bit" : "setgid bit";
    std::string fix = std::string("chmod ") + (suid && sgid ? "ug-s" : suid ? "u-s" : "g-s") + " " + resolved;
    const bool ok = !suid && !sgid;
    add_rule("no setuid/setgid", ok, ok ? "mode " + mode : "mode " + mode + " has the " + bits, fix,
             shown + " has the " + bits + " (mode " + mode + "): run " + fix);
  }

  // owner
  const bool owned_by_euid = st.st_uid == id_.euid;
  const bool root_group = options_.allow_group_exec && !owned_by_euid && st.st_uid == 0 && id_.in_groups(st.st_gid);
  {
    const std::string found = "owner " + names_.user_text(st.st_uid) + ", group " + names_.group_text(st.st_gid);
    if (owned_by_euid || root_group) {
      add_rule("owner", true, found + (root_group ? " (one of the effective user's groups)" : ""), "", "");
    } else if (options_.allow_group_exec && st.st_uid == 0) {
      std::string fix = "chgrp " + names_.group_arg(id_.egid) + " " + resolved;
      add_rule("owner", false, found + ": the group is not one of the effective user's groups", fix,
               shown + " is owned by root with group " + names_.group_text(st.st_gid) + ", which is not one of the groups of " +
                   names_.user_text(id_.euid) + " (the effective user): run " + fix);
    } else {
      std::string fix = "chown " + names_.user_arg(id_.euid) + " " + resolved;
      std::string want = options_.allow_group_exec && id_.euid != 0
                             ? names_.user_text(id_.euid) + " (the effective user) or by root with one of its groups"
                             : names_.user_text(id_.euid) + " (the effective user)";
      add_rule("owner", false, found + ": not owned by " + want, fix,
               shown + " is owned by " + names_.user_text(st.st_uid) + ", not by " + want + ": run " + fix);
    }
  }

  // permissions
  {
    const unsigned bits = static_cast<unsigned>(st.st_mode & 0777);
    std::vector<std::string> problems;
    unsigned wanted = 0;
    if (!options_.allow_group_exec) {
      // Only the owner may have rights, and it needs x.
      wanted = (bits & 0700u) | 0100u;
      const bool group = (bits & 070u) != 0;
      const bool others = (bits & 07u) != 0;
      if (group || others) {
        problems.push_back(std::string(group && others ? "group and others have" : group ? "group has" : "others have") +
                           " rights on " + shown);
      }
    } else {
      // The group may read and execute, never write; others nothing. When the effective user
      // gets in through the group (root-owned file), the group needs r and x.
      wanted = (bits & 0750u) | 0100u | (root_group ? 050u : 0u);
      const bool group_w = (bits & 020u) != 0;
      const bool others = (bits & 07u) != 0;
      if (group_w || others) {
        problems.push_back(std::string(group_w && others ? "group can write and others have rights on"
                                       : group_w         ? "group can write"
                                                         : "others have rights on") +
                           " " + shown);
      }
      if (root_group && (bits & 050u) != 050u) {
        problems.push_back(shown + " is not readable and executable by its group, through which " +
                           names_.user_text(id_.euid) + " runs it");
      }
    }
    if ((bits & 0100u) == 0) problems.push_back(shown + " is not executable by its owner");
    const bool ok = problems.empty();
    std::string fix = "chmod " + octal(wanted, 3) + " " + resolved;
    std::string message;
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i == 0 ? "" : "; ") + problems[i];
    add_rule("permissions", ok, ok ? "mode " + mode : "mode " + mode + ": " + message, fix,
             message + " (mode " + mode + "): run " + fix);
  }

  // readable (recorded only when it fails: the hash and the audit record need the bytes)
  if (!file.valid()) {
    std::string fix = "chmod u+r " + resolved;
    add_rule("readable", false, "cannot open for reading: " + errno_text(open_error), fix,
             "cannot open " + shown + " for reading (" + errno_text(open_error) + ", mode " + mode + ", owner " +
                 names_.user_text(st.st_uid) + "): run " + fix,
             open_error);
  } else {
    int err = 0;
    auto digest = sha256_of(file.get(), err);
    if (!digest) {
      std::string why = err != 0 ? errno_text(err) : "OpenSSL SHA-256 failed";
      add_rule("readable", false, "cannot hash: " + why, "", "cannot hash " + shown + ": " + why, err);
    } else {
      report_.sha256 = *digest;
    }
  }

  // sha256 pin
  if (!options_.sha256.empty()) {
    const std::string want = lower(options_.sha256);
    const bool ok = !report_.sha256.empty() && report_.sha256 == want;
    const std::string got = report_.sha256.empty() ? "unknown (not readable)" : report_.sha256;
    add_rule("sha256 pin", ok, ok ? report_.sha256 : "got " + got + ", want " + want,
             "update secret_backend_command_sha256 or restore the binary",
             "sha256 of " + shown + " is " + got + ", want " + want +
                 ": update secret_backend_command_sha256 or restore the binary");
  }

  if (report_.error) return *report_.error;
  return VerifiedExecutable(static_cast<std::intptr_t>(file.release()), options_.path, report_.sha256);
}

}  // namespace

Result<VerifiedExecutable> platform::check_executable(const CheckOptions& options, ExecutableReport* report) {
  ExecutableReport local;
  ExecutableReport& out = report != nullptr ? *report : local;
  out = ExecutableReport{};
  Checker checker(options, out);
  return checker.run();
}

}  // namespace sts
