// The shared POSIX path rules of path_rules.h: the walk, the ancestor, search-folder and
// sticky-symlink rules, names for messages, and the phrases that point each fix at the setting
// that names the path.
//
// The walk: from "/", one component at a time with openat(O_PATH|O_NOFOLLOW) + fstat, each
// folder checked before anything inside it is trusted. A link is followed only when the folder
// that holds it passed (whoever can write there can re-point it) and, in a sticky folder, only
// when the link belongs to the effective user, root or the folder's owner: the kernel's
// protected_symlinks rule, applied whatever the sysctl says, because in /tmp anyone may create a
// link pointing at a good file and re-point it later. An absolute target is walked again from
// "/", a relative one from the link's folder; at most kMaxLinks links are followed.
#if defined(_WIN32)
#error "path_rules_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "posix/path_rules.h"

#include "common/text.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <utility>

namespace sts::posix {
namespace {

std::atomic<std::uint64_t> g_name_lookups{0};

std::optional<std::string> lookup_user(uid_t uid) {
  g_name_lookups.fetch_add(1, std::memory_order_relaxed);
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
  g_name_lookups.fetch_add(1, std::memory_order_relaxed);
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

// The name of the rule that stands for the subject itself (a walk failure is recorded there).
std::string final_rule_name(const Subject& s) {
  switch (s.role) {
    case Role::backend: return "regular file";
    case Role::interpreter: return "interpreter " + s.path;
    case Role::loader: return "loader " + s.path;
    case Role::library_folder: return "rpath " + s.path;
    case Role::library: return library_word(s.tag) + (" " + s.path);
    case Role::search_folder: return "PATH folder " + s.path;
    case Role::config: return "config file " + s.path;
    case Role::output_folder: return "output folder " + s.path;
    case Role::audit_folder: return "audit folder " + s.path;
  }
  return s.path;
}

// "relink /opt/backend with X in -Wl,--audit", or for a linked library "relink /opt/backend against X".
std::string relink_with(const Subject& s, const std::string& what) {
  if (s.tag == LibraryTag::needed) return "relink " + s.named_by + " against " + what;
  return "relink " + s.named_by + " with " + what + " in " + library_option(s.tag);
}

}  // namespace

const char* library_word(LibraryTag tag) {
  switch (tag) {
    case LibraryTag::needed: return "needed";
    case LibraryTag::filter: return "filter";
    case LibraryTag::auxiliary: return "auxiliary";
    case LibraryTag::audit: return "audit";
    case LibraryTag::depaudit: return "depaudit";
  }
  return "library";
}

const char* library_dt(LibraryTag tag) {
  switch (tag) {
    case LibraryTag::needed: return "DT_NEEDED";
    case LibraryTag::filter: return "DT_FILTER";
    case LibraryTag::auxiliary: return "DT_AUXILIARY";
    case LibraryTag::audit: return "DT_AUDIT";
    case LibraryTag::depaudit: return "DT_DEPAUDIT";
  }
  return "DT_NEEDED";
}

const char* library_option(LibraryTag tag) {
  switch (tag) {
    case LibraryTag::needed: return "";
    case LibraryTag::filter: return "-Wl,--filter";
    case LibraryTag::auxiliary: return "-Wl,--auxiliary";
    case LibraryTag::audit: return "-Wl,--audit";
    case LibraryTag::depaudit: return "-Wl,--depaudit";
  }
  return "";
}

// ---- identity and names --------------------------------------------------------------------

Identity Identity::current() {
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

bool Identity::in_groups(gid_t gid) const {
  for (gid_t g : groups) {
    if (g == gid) return true;
  }
  return false;
}

std::optional<std::string> Names::user_name(uid_t uid) {
  auto it = users_.find(uid);
  if (it == users_.end()) it = users_.emplace(uid, lookup_user(uid)).first;
  return it->second;
}
std::optional<std::string> Names::group_name(gid_t gid) {
  auto it = groups_.find(gid);
  if (it == groups_.end()) it = groups_.emplace(gid, lookup_group(gid)).first;
  return it->second;
}
std::string Names::user_text(uid_t uid) { auto n = user_name(uid); return n ? *n : "uid " + std::to_string(uid); }
std::string Names::group_text(gid_t gid) { auto n = group_name(gid); return n ? *n : "gid " + std::to_string(gid); }
std::string Names::user_arg(uid_t uid) { auto n = user_name(uid); return n ? *n : std::to_string(uid); }
std::string Names::group_arg(gid_t gid) { auto n = group_name(gid); return n ? *n : std::to_string(gid); }

std::uint64_t name_lookups() noexcept { return g_name_lookups.load(std::memory_order_relaxed); }

// ---- text ----------------------------------------------------------------------------------

std::string octal(unsigned value, int width) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%0*o", width, value);
  return std::string(buf.data());
}

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
  for (const auto& n : names) {
    out += '/';
    out += n;
  }
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

std::string base_name(std::string_view path) {
  auto parts = split_path(path);
  return parts.empty() ? std::string("/") : parts.back();
}

std::string dir_name(std::string_view path) {
  auto parts = split_path(path);
  if (!parts.empty()) parts.pop_back();
  return join_path(parts);
}

bool is_system_path(std::string_view path) {
  const auto parts = split_path(path);
  if (parts.empty()) return false;
  const std::string& top = parts.front();
  return top == "usr" || top == "bin" || top == "sbin" || top.rfind("lib", 0) == 0;
}

OpenedFile open_for_reading(const WalkEnd& end) {
  OpenedFile out;
  // O_NONBLOCK: should the name have become a fifo since the O_PATH open, opening must not hang
  // (the comparison below then rejects it).
  out.fd = UniqueFd(::openat(end.dir.get(), end.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!out.fd.valid()) {
    out.error = errno;
    return out;
  }
  if (::fstat(out.fd.get(), &out.st) != 0) {
    out.error = errno;
    out.fd.reset();
    return out;
  }
  if (out.st.st_dev != end.st.st_dev || out.st.st_ino != end.st.st_ino) {
    out.replaced = true;
    out.fd.reset();
    return out;
  }
  const int flags = ::fcntl(out.fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(out.fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return out;
}

// ---- the rule book -------------------------------------------------------------------------

RuleBook::RuleBook(std::vector<CheckRule>* rules, Code rejected, Code unusable)
    : rules_(rules), rejected_(rejected), unusable_(unusable), id_(Identity::current()) {}

void RuleBook::add(const std::string& name, bool ok, std::string detail, std::string fix, std::string message,
                   int os_error) {
  if (!ok) {
    fail(name, std::move(detail), std::move(fix), std::move(message), os_error);
    return;
  }
  if (rules_ == nullptr || !recorded_.insert(name).second) return;
  rules_->push_back(CheckRule{name, true, std::move(detail), std::string()});
}

void RuleBook::fail(const std::string& name, std::string detail, std::string fix, std::string message, int os_error,
                    std::optional<Code> code) {
  if (!error_) error_ = make_error(code.value_or(rejected_), std::move(message), os_error);
  if (rules_ == nullptr || !recorded_.insert(name).second) return;
  rules_->push_back(CheckRule{name, false, std::move(detail), std::move(fix)});
}

std::string RuleBook::owner_requirement() {
  if (id_.euid == 0) return "root (the effective user)";
  return "root or " + names_.user_text(id_.euid) + " (the effective user)";
}

std::string RuleBook::via(const Subject& s, bool links_followed) const {
  if (s.role == Role::backend) return links_followed ? " (resolving " + s.path + ")" : std::string();
  return " (" + s.context + ")";
}

std::string RuleBook::correct_setting(const Subject& s) const {
  switch (s.role) {
    case Role::backend: return "correct secret_backend_command";
    case Role::interpreter: return "correct the #! line of " + s.named_by;
    case Role::loader: return "relink " + s.named_by + " with the right -Wl,--dynamic-linker";
    case Role::library_folder: return "relink " + s.named_by + " with the right -Wl,-rpath";
    case Role::library:
      return s.tag == LibraryTag::needed ? relink_with(s, "the right library")
                                         : "relink " + s.named_by + " with the right " + library_option(s.tag);
    case Role::search_folder: return "name the interpreter by its absolute path on the #! line of " + s.named_by;
    case Role::config: return "pass the right file with --config";
    case Role::output_folder: return "name a folder that exists";
    case Role::audit_folder: return "correct secret_audit_file";
  }
  return "correct the path";
}

std::string RuleBook::point_at_file(const Subject& s) const {
  switch (s.role) {
    case Role::backend: return "point secret_backend_command at the file itself";
    case Role::interpreter: return "name the interpreter's real path on the #! line of " + s.named_by;
    case Role::loader: return "relink " + s.named_by + " with the loader's real path in -Wl,--dynamic-linker";
    case Role::library_folder: return "relink " + s.named_by + " with the folder's real path in -Wl,-rpath";
    case Role::library: return relink_with(s, s.tag == LibraryTag::needed ? "the library's real path" : "the file's real path");
    case Role::search_folder: return "name the interpreter by its absolute path on the #! line of " + s.named_by;
    case Role::config: return "pass the config file's real path with --config";
    case Role::output_folder: return "write into a folder of your own, not through another user's link";
    case Role::audit_folder: return "point secret_audit_file into a folder of your own, not through another user's link";
  }
  return "use the real path";
}

std::string RuleBook::relocate_fix(const Subject& s) {
  const std::string user = names_.user_arg(id_.euid);
  const std::string name = base_name(s.path);
  const std::string dest = "/opt/stsecrets/" + name;
  const std::string install = "install -D -o " + user + " -m 0700 " + s.path + " " + dest;
  switch (s.role) {
    case Role::backend: return install + ", then set secret_backend_command to " + dest;
    case Role::interpreter: return install + ", then name " + dest + " on the #! line of " + s.named_by;
    case Role::loader: return install + ", then relink " + s.named_by + " with -Wl,--dynamic-linker=" + dest;
    case Role::library_folder:
      return "relink " + s.named_by + " with a library folder of its own in -Wl,-rpath (or patchelf --set-rpath DIR " +
             s.named_by + ")";
    case Role::library: return install + ", then " + relink_with(s, dest);
    case Role::search_folder: return point_at_file(s);
    case Role::config:
      return "install -D -o " + user + " -m 0600 " + s.path + " /etc/stsecrets/" + name +
             ", then pass --config /etc/stsecrets/" + name;
    case Role::output_folder: return point_at_file(s);  // no folder rule on the way: never asked for
    case Role::audit_folder: return "point secret_audit_file into a folder of your own";
  }
  return install;
}

// ---- rules ---------------------------------------------------------------------------------

void RuleBook::rule_directory(const Subject& s, const std::string& path, const struct stat& st, bool links_followed) {
  // An output folder may lie below folders of any owner (a home under a group-writable /home):
  // only the link rule applies on its way. The audit log's folders get the rule (SPEC 6):
  // whoever can rename one of them can move the records aside and choose where the next run
  // writes.
  if (s.role == Role::output_folder) return;
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id_.euid;
  const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool write_ok = !writable || sticky;
  const bool ok = owner_ok && write_ok;
  const std::string name = "directory " + path;
  if (ok && (!verbose() || recorded_.count(name) != 0)) return;  // passes cost no text

  const std::string found = "mode " + mode_text(st.st_mode) + ", owner " + names_.user_text(st.st_uid);
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
  if (ok) {
    add(name, true, detail, "", "");
    return;
  }
  detail += ": " + problem;
  std::string message = "directory " + path + " (" + found + ") " + problem + via(s, links_followed) + ": ";
  if (is_system_path(path)) {
    // SPEC 5: a fix never changes the host's own folders.
    fix = relocate_fix(s);
    const bool copy = s.role != Role::library_folder && s.role != Role::search_folder && s.role != Role::audit_folder;
    message += std::string("it is a system folder, so leave it as it is and ") +
               (copy ? "install a copy or a wrapper in a folder of its own: " : "") + fix;
  } else {
    message += "run " + fix;
  }
  fail(name, detail, fix, message);
}

void RuleBook::rule_search_folder(const Subject& s, const std::string& rule_name, const Walk& walk) {
  const bool missing = walk.state == WalkState::missing;
  const struct stat& st = missing ? walk.end.dir_st : walk.end.st;
  const std::string& folder = missing ? walk.end.dir_path : walk.end.resolved;
  if (!missing && !S_ISDIR(st.st_mode)) {
    fail(rule_name, folder + " is " + type_text(st.st_mode) + ", not a folder", correct_setting(s),
         s.context + " is " + type_text(st.st_mode) + ", not a folder: " + correct_setting(s));
    return;
  }
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id_.euid;
  const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool ok = owner_ok && !writable;
  if (ok && (!verbose() || recorded_.count(rule_name) != 0)) return;

  std::string found = "mode " + mode_text(st.st_mode) + ", owner " + names_.user_text(st.st_uid);
  if (sticky) found += ", sticky";
  std::string shown = missing ? walk.end.resolved + " does not exist; " + folder + " (" + found + ")"
                              : (folder != s.path ? "-> " + folder + ", " : std::string()) + found;
  if (ok) {
    add(rule_name, true, missing ? shown + " lets nobody else create it" : shown, "", "");
    return;
  }
  std::string problem;
  std::string fix;
  if (!owner_ok) {
    problem = "is not owned by " + owner_requirement();
    fix = "chown " + names_.user_arg(id_.euid) + " " + folder;
  }
  if (writable) {
    problem += std::string(problem.empty() ? "" : " and ") + "is writable by group or others" +
               (sticky ? " (sticky does not help here: anyone may add a missing name)" : "");
    fix += std::string(fix.empty() ? "" : " && ") + "chmod go-w " + folder;
  }
  // A sticky shared folder (/tmp), a system folder or another user's folder is not ours to change.
  const bool leave = sticky || is_system_path(folder) || !owner_ok;
  if (leave) fix = relocate_fix(s);
  const std::string consequence = missing ? ", so someone else could create " + walk.end.resolved
                                          : ", so someone else could add files to it";
  std::string message = missing ? s.context + " does not exist, and " + folder + " (" + found + ") " + problem
                                : s.context + (folder != s.path ? " -> " + folder : std::string()) + " (" + found +
                                      ") " + problem;
  message += consequence + ": " + (leave ? fix : "run " + fix);
  fail(rule_name, shown + ": " + problem, fix, message);
}

bool RuleBook::rule_symlink(const Subject& s, const std::string& here, const struct stat& link_st,
                            const std::string& target, const std::string& folder, const struct stat& folder_st) {
  const bool sticky = (folder_st.st_mode & S_ISVTX) != 0;
  const uid_t owner = link_st.st_uid;
  const bool ok = !sticky || owner == id_.euid || owner == 0 || owner == folder_st.st_uid;
  const std::string name = "symlink " + here;
  if (ok) {
    if (verbose() && recorded_.count(name) == 0) add(name, true, "-> " + target, "", "");
    return true;
  }
  const std::string fix = point_at_file(s);
  fail(name, "-> " + target + ": owned by " + names_.user_text(owner) + " in the sticky folder " + folder, fix,
       "symbolic link " + here + " -> " + target + " in the sticky folder " + folder + " (mode " +
           mode_text(folder_st.st_mode) + ", owner " + names_.user_text(folder_st.st_uid) + ") is owned by " +
           names_.user_text(owner) + ", not by " + owner_requirement() +
           " or the folder's owner, so it is not followed" + (s.role == Role::backend ? "" : via(s, true)) + ": " +
           fix);
  return false;
}

void RuleBook::walk_error(const Subject& s, const std::string& here, const std::vector<std::string>& names, int err,
                          int links) {
  const std::string parent = join_path(std::vector<std::string>(names.begin(), names.end() - 1));
  std::string message = "cannot open " + here + via(s, links > 0) + ": " + errno_text(err);
  if (err == EACCES) {
    message += " (no search permission on " + parent + "): run the check as a user that can reach it, or " +
               (s.role == Role::backend ? std::string("move the backend") : correct_setting(s));
  }
  fail(final_rule_name(s), "cannot open " + here + ": " + errno_text(err), "", message, err, unusable_);
}

// ---- the walk ------------------------------------------------------------------------------

// The state of one walk: the folders of the current resolved path ("/" first, each open with
// O_PATH and its status), their names below "/", and the components still to go.
struct RuleBook::WalkCursor {
  struct Frame {
    UniqueFd fd;
    struct stat st {};
  };
  std::vector<Frame> dirs;
  std::vector<std::string> names;
  std::deque<std::string> pending;
  Walk walk;
};

Walk RuleBook::walk(const Subject& s) {
  WalkCursor c;
  if (!walk_start(s, c)) return std::move(c.walk);
  while (!c.pending.empty()) {
    std::string name = std::move(c.pending.front());
    c.pending.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      // The parent was checked on the way down; the resolved path never contains links.
      if (c.dirs.size() > 1) {
        c.dirs.pop_back();
        c.names.pop_back();
      }
      continue;
    }
    if (!walk_step(s, c, name)) return std::move(c.walk);
  }
  // The path ended on "/", "." or "..": a folder, already checked on the way.
  c.walk.state = WalkState::found;
  c.walk.end.checked_as_folder = true;
  c.walk.end.resolved = join_path(c.names);
  c.walk.end.st = c.dirs.back().st;
  c.walk.end.node = std::move(c.dirs.back().fd);
  return std::move(c.walk);
}

bool RuleBook::walk_start(const Subject& s, WalkCursor& c) {
  WalkCursor::Frame root{UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)), {}};
  if (!root.fd.valid() || ::fstat(root.fd.get(), &root.st) != 0) {
    const int e = errno;
    fail("directory /", "cannot open: " + errno_text(e), "", "cannot open / to check " + s.path + ": " + errno_text(e), e,
         unusable_);
    return false;
  }
  rule_directory(s, "/", root.st, false);
  c.dirs.push_back(std::move(root));
  for (auto& part : split_path(s.path)) c.pending.push_back(std::move(part));
  return true;
}

// One component: a folder to descend into, a link to follow, the end, or a failure. False when
// the walk is over (c.walk says how).
bool RuleBook::walk_step(const Subject& s, WalkCursor& c, const std::string& name) {
  Walk& w = c.walk;
  c.names.push_back(name);
  const std::string here = join_path(c.names);
  UniqueFd fd(::openat(c.dirs.back().fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int e = errno;
    if (e != ENOENT) {
      walk_error(s, here, c.names, e, w.links);
      return false;
    }
    w.state = WalkState::missing;
    w.end.missing_last = c.pending.empty();
    walk_end(c, name, here);
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int e = errno;
    fail(final_rule_name(s), "cannot stat " + here + ": " + errno_text(e), "",
         "cannot stat " + here + via(s, w.links > 0) + ": " + errno_text(e), e, unusable_);
    return false;
  }
  if (S_ISLNK(st.st_mode)) return walk_link(s, c, fd, st, here);
  if (c.pending.empty()) {
    w.state = WalkState::found;
    w.end.node = std::move(fd);
    w.end.st = st;
    walk_end(c, name, here);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    fail(final_rule_name(s), here + " is " + type_text(st.st_mode) + ", not a directory", correct_setting(s),
         "cannot resolve " + s.path + (s.role == Role::backend ? "" : " (" + s.context + ")") + ": " + here + " is " +
             type_text(st.st_mode) + ", not a directory: " + correct_setting(s),
         ENOTDIR, unusable_);
    return false;
  }
  rule_directory(s, here, st, w.links > 0);
  c.dirs.push_back(WalkCursor::Frame{std::move(fd), st});
  return true;
}

// A link: its folder passed, the sticky-folder rule decides, then its target's components go
// first in the queue (an absolute target restarts from "/").
bool RuleBook::walk_link(const Subject& s, WalkCursor& c, const UniqueFd& fd, const struct stat& st,
                         const std::string& here) {
  Walk& w = c.walk;
  if (++w.links > kMaxLinks) {
    fail("symlink " + here, "more than " + std::to_string(kMaxLinks) + " symbolic links", point_at_file(s),
         "too many symbolic links (more than " + std::to_string(kMaxLinks) + ") resolving " + s.path +
             (s.role == Role::backend ? "" : " (" + s.context + ")") + ", at " + here + ": " + point_at_file(s),
         ELOOP, unusable_);
    return false;
  }
  std::vector<char> target(static_cast<std::size_t>(PATH_MAX) + 1);
  const ssize_t n = ::readlinkat(fd.get(), "", target.data(), target.size());
  if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
    const int e = n < 0 ? errno : ENAMETOOLONG;
    fail("symlink " + here, "cannot read link: " + errno_text(e), "",
         "cannot read symbolic link " + here + " resolving " + s.path + ": " + errno_text(e), e, unusable_);
    return false;
  }
  const std::string link(target.data(), static_cast<std::size_t>(n));
  c.names.pop_back();
  if (!rule_symlink(s, here, st, link, join_path(c.names), c.dirs.back().st)) return false;
  if (!link.empty() && link.front() == '/') {
    c.dirs.resize(1);  // walk again from "/" (already checked)
    c.names.clear();
  }
  auto parts = split_path(link);
  c.pending.insert(c.pending.begin(), parts.begin(), parts.end());
  return true;
}

// The walk stops at `name` in the current folder (found or missing): hand that folder out.
void RuleBook::walk_end(WalkCursor& c, const std::string& name, const std::string& here) {
  Walk& w = c.walk;
  w.end.resolved = here;
  w.end.name = name;
  w.end.dir_st = c.dirs.back().st;
  w.end.dir = std::move(c.dirs.back().fd);
  c.names.pop_back();
  w.end.dir_path = join_path(c.names);
}

}  // namespace sts::posix
