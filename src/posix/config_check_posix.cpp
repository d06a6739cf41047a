// SPEC 2 on POSIX: the main config file names the backend, its arguments and its environment,
// so whoever can change it chooses what runs. It passes the same folder and link rules as the
// executable (path_rules.h), and the file itself must be a regular file owned by root or the
// effective user and not writable by group or others (reading is fine: it holds handles, not
// secrets).
#if defined(_WIN32)
#error "config_check_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/executable_check.h"

#include "common/text.h"
#include "posix/path_rules.h"

#include <cerrno>
#include <climits>
#include <string>
#include <unistd.h>
#include <vector>

namespace sts {
namespace {

using posix::Role;
using posix::RuleBook;
using posix::Subject;
using posix::Walk;
using posix::WalkState;

// The file's own rule: one line with every problem and every fix, like a folder's.
void rule_config_file(RuleBook& book, const Subject& s, const Walk& walk) {
  const struct stat& st = walk.end.st;
  const std::string& resolved = walk.end.resolved;
  const std::string name = "config file " + s.path;
  const std::string shown = resolved == s.path ? s.path : s.path + " -> " + resolved;
  if (walk.end.checked_as_folder || !S_ISREG(st.st_mode)) {
    book.fail(name, resolved + " is " + posix::type_text(st.st_mode), "pass the config file with --config",
              "config file " + shown + " is " + posix::type_text(st.st_mode) +
                  ", not a regular file: pass the config file with --config",
              0, Code::config_unreadable);
    return;
  }
  const posix::Identity& id = book.identity();
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id.euid;
  const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (owner_ok && !writable && !book.verbose()) return;
  posix::Names& names = book.names();
  const std::string found = "mode " + posix::mode_text(st.st_mode) + ", owner " + names.user_text(st.st_uid);
  const std::string link = resolved == s.path ? std::string() : "-> " + resolved + ", ";
  if (owner_ok && !writable) {
    book.add(name, true, link + found, "", "");
    return;
  }
  std::string problem;
  std::string fix;
  if (!owner_ok) {
    problem = "is not owned by " + book.owner_requirement();
    fix = "chown " + names.user_arg(id.euid) + " " + resolved;
  }
  if (writable) {
    problem += std::string(problem.empty() ? "" : " and ") + "is writable by group or others";
    fix += std::string(fix.empty() ? "" : " && ") + "chmod go-w " + resolved;
  }
  std::string message = "config file " + shown + " (" + found + ") " + problem +
                        ", so others could choose what runs as the agent or which secrets it gets: ";
  if (posix::is_system_path(resolved)) {
    fix = book.relocate_fix(s);
    message += "it is a shared system file, so leave it as it is and use a copy of your own: " + fix;
  } else {
    message += "run " + fix;
  }
  book.fail(name, link + found + ": " + problem, fix, message);
}

}  // namespace

Status platform::check_config_file(const std::string& path, std::vector<CheckRule>* rules) {
  if (path.empty()) {
    return make_error(Code::config_unreadable, "the config file path is empty: pass the config file with --config");
  }
  std::string absolute = path;
  if (absolute.front() != '/') {
    std::vector<char> cwd(PATH_MAX + 1);
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
      const int e = errno;
      return make_error(Code::config_unreadable,
                        "cannot check config file " + path + ": the working directory is unknown (" + errno_text(e) +
                            "): pass an absolute --config",
                        e);
    }
    absolute = std::string(cwd.data()) + "/" + path;
  }

  RuleBook book(rules, Code::config_insecure, Code::config_unreadable);
  const Subject s{Role::config, absolute, "config file " + absolute, ""};
  const Walk walk = book.walk(s);
  if (walk.state == WalkState::missing) {
    book.fail("config file " + absolute, walk.end.resolved + " does not exist", "pass the right file with --config",
              "config file " + absolute + " does not exist" +
                  (walk.end.missing_last ? std::string() : " (" + walk.end.resolved + " is missing)") +
                  ": pass the right file with --config",
              ENOENT, Code::config_unreadable);
  }
  if (walk.state == WalkState::found) rule_config_file(book, s, walk);
  if (book.error()) return *book.error();
  return ok();
}

}  // namespace sts
