// File: path_rules.h
//
// The POSIX path rules every SPEC 2/5 check shares: the walk from "/" through
// openat(O_PATH|O_NOFOLLOW) + fstat with the ancestor rule on each folder, links followed only
// through checked folders (and, in a sticky folder, only when the kernel's protected_symlinks
// rule allows it), the strict rule for folders something is searched in, and the words of every
// message and fix. check_executable (executable_check_posix.cpp) and check_config_file
// (config_check_posix.cpp) are built from these.
//
//   RuleBook book(&rules, Code::config_insecure, Code::config_unreadable);
//   Walk walk = book.walk(Subject{Role::config, "/etc/app.yaml", "config file /etc/app.yaml", ""});
//   if (walk.state == WalkState::found) { ...rules on walk.end.st... }
//   if (book.error()) return *book.error();
//
// A RuleBook records every rule as a CheckRule{name, ok, detail, fix}; the first failure is the
// error. Without a rule list (the fetcher's path) it records nothing that passed, builds no text
// for it and looks up no user or group names: the success path costs only the system calls.
//
// Ownership: a Walk owns the descriptors it returns. Thread-safety: a RuleBook is one check on
// one thread; the lookup counter is atomic.
#pragma once

#if defined(_WIN32)
#error "path_rules.h is for POSIX; Windows uses src/windows/acl_rules.h"
#endif

#include "posix/unique_fd.h"
#include "stsecrets/check.h"
#include "stsecrets/error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace sts::posix {

// At most this many symbolic links are followed in one walk.
constexpr int kMaxLinks = 8;

// The effective identity the rules compare against.
struct Identity {
  uid_t euid = 0;
  gid_t egid = 0;
  std::vector<gid_t> groups;  // egid plus the supplementary groups

  static Identity current();
  bool in_groups(gid_t gid) const;
};

// User and group names for messages, looked up on first use and at most once per id.
class Names {
 public:
  std::optional<std::string> user_name(uid_t uid);
  std::optional<std::string> group_name(gid_t gid);
  std::string user_text(uid_t uid);   // "root" or "uid 54321": for sentences
  std::string group_text(gid_t gid);  // "staff" or "gid 54321"
  std::string user_arg(uid_t uid);    // "root" or "54321": for chown
  std::string group_arg(gid_t gid);   // for chgrp

 private:
  std::map<uid_t, std::optional<std::string>> users_;
  std::map<gid_t, std::optional<std::string>> groups_;
};

// How many getpwuid_r/getgrgid_r lookups this process made for the checks (tests and
// benchmarks: the fetcher's success path makes none).
std::uint64_t name_lookups() noexcept;

std::string octal(unsigned value, int width);
std::string mode_text(mode_t mode);  // "0755", "4700"
std::string type_text(mode_t mode);  // "a directory", "a fifo", ...
std::string join_path(const std::vector<std::string>& names);
std::vector<std::string> split_path(std::string_view path);
std::string base_name(std::string_view path);
std::string dir_name(std::string_view path);

// SPEC 5: /usr, /bin, /sbin and /lib* (and everything below) belong to the host; a fix never
// changes them.
bool is_system_path(std::string_view path);

// What a walk is for. The messages name it, and the fixes point at the setting that names it.
enum class Role {
  backend,         // secret_backend_command
  interpreter,     // named on a #! line (or found by env)
  loader,          // an ELF file's PT_INTERP
  library_folder,  // an ELF file's DT_RPATH / DT_RUNPATH entry
  library,         // a file an ELF file names by path: DT_NEEDED, DT_FILTER, ..., DT_AUDIT (Subject::tag)
  search_folder,   // a PATH folder env searches
  config,          // the main config file
  // Folders something is written into: the link rule applies on the way (the kernel's
  // protected_symlinks rule, whatever the sysctl says); the folder's own rules are the writer's.
  output_folder,   // the folder of an output file, or --output-dir: only the link rule on the way
  audit_folder,    // the folder of secret_audit_file: also the ancestor rule on every folder above
};

// The dynamic-section entry that names a Role::library file.
enum class LibraryTag { needed, filter, auxiliary, audit, depaudit };
const char* library_word(LibraryTag tag);    // "needed", "audit": rule names and messages
const char* library_dt(LibraryTag tag);      // "DT_NEEDED", "DT_AUDIT"
const char* library_option(LibraryTag tag);  // "-Wl,--audit" ("" for DT_NEEDED: the library is linked)

struct Subject {
  Role role = Role::backend;
  std::string path;      // absolute, as named
  std::string context;   // "" for the backend; else e.g. "interpreter /usr/bin/python3 of /opt/backend"
  std::string named_by;  // the file whose #! line or ELF header names it, or the script env runs for
  LibraryTag tag = LibraryTag::needed;  // Role::library only
};

enum class WalkState {
  found,    // end.node is the final object
  missing,  // end.dir is the deepest existing folder, end.name the first missing name in it
  failed,   // a rule failed on the way (recorded); nothing more to check
};

struct WalkEnd {
  UniqueFd dir;              // O_PATH folder holding the final object (invalid for "/")
  struct stat dir_st {};     // that folder's status
  std::string dir_path;      // that folder, resolved
  std::string name;          // the final (or first missing) name in it
  UniqueFd node;             // O_PATH|O_NOFOLLOW descriptor of the final object
  struct stat st {};         // its status
  std::string resolved;      // its absolute path without links
  bool missing_last = false; // missing: the missing name is the path's last component
  bool checked_as_folder = false;  // found: the path ended on a folder already checked on the way
};

struct Walk {
  WalkState state = WalkState::failed;
  WalkEnd end;
  int links = 0;  // symbolic links followed
};

// The walk's final file opened for reading (O_RDONLY|O_NOFOLLOW|O_NONBLOCK through its folder,
// then O_NONBLOCK cleared): the descriptor that is checked, hashed and read. `replaced`: the
// name now leads to another file than the walk saw.
struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
  int error = 0;  // errno when fd is invalid and not replaced
  bool replaced = false;
};
OpenedFile open_for_reading(const WalkEnd& end);

// One check: the rules it recorded and its first failure.
class RuleBook {
 public:
  // `rules`: where every rule goes (nullptr: record failures only, build no text for passes).
  // `rejected`: the code of a failed rule; `unusable`: the code when the path cannot be
  // walked (missing, no permission, too many links).
  RuleBook(std::vector<CheckRule>* rules, Code rejected, Code unusable);

  bool verbose() const { return rules_ != nullptr; }
  // Quiet mode after the first failure: callers skip the remaining checks.
  bool done() const { return !verbose() && error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }
  const Identity& identity() const { return id_; }
  Names& names() { return names_; }

  // Records a rule once (by name); a failure with `message` becomes the error if it is the first.
  void add(const std::string& name, bool ok, std::string detail, std::string fix, std::string message,
           int os_error = 0);
  void fail(const std::string& name, std::string detail, std::string fix, std::string message, int os_error = 0,
            std::optional<Code> code = std::nullopt);

  // Walks subject.path from "/" (rules for every folder and link on the way).
  Walk walk(const Subject& subject);

  // The ancestor rule: owned by root or the effective user; not writable by group or others,
  // unless sticky.
  void rule_directory(const Subject& subject, const std::string& path, const struct stat& st, bool links_followed);
  // The strict rule for a folder something is searched in (library folders, PATH folders): as
  // the ancestor rule, but a sticky folder is no exception (anyone may add a missing name).
  void rule_search_folder(const Subject& subject, const std::string& rule_name, const Walk& walk);

  // "root (the effective user)" / "root or alice (the effective user)".
  std::string owner_requirement();
  // The phrases that make messages point at the right setting.
  std::string via(const Subject& subject, bool links_followed) const;
  std::string correct_setting(const Subject& subject) const;
  std::string point_at_file(const Subject& subject) const;
  // The fix that leaves a shared system file or folder alone: a copy or wrapper of one's own.
  std::string relocate_fix(const Subject& subject);

 private:
  bool rule_symlink(const Subject& subject, const std::string& here, const struct stat& link_st,
                    const std::string& target, const std::string& folder, const struct stat& folder_st);
  void walk_error(const Subject& subject, const std::string& here, const std::vector<std::string>& names, int err,
                  int links);
  // The steps of walk().
  struct WalkCursor;
  bool walk_start(const Subject& subject, WalkCursor& cursor);
  bool walk_step(const Subject& subject, WalkCursor& cursor, const std::string& name);
  bool walk_link(const Subject& subject, WalkCursor& cursor, const UniqueFd& fd, const struct stat& st,
                 const std::string& here);
  void walk_end(WalkCursor& cursor, const std::string& name, const std::string& here);

  std::vector<CheckRule>* rules_;
  Code rejected_;
  Code unusable_;
  Identity id_;
  Names names_;
  std::optional<Error> error_;
  std::set<std::string> recorded_;
};

}  // namespace sts::posix
