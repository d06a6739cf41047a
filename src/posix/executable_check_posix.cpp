// SPEC 5 on POSIX (Linux): the backend executable and what really runs.
//
// 1. The configured path is walked from "/" with the folder and link rules of path_rules.h.
// 2. The file is opened once (O_RDONLY) and checked on that descriptor: regular file, no
//    setuid/setgid, owner, permissions; it is hashed from that descriptor, and the descriptor is
//    what process_posix.cpp executes (execveat).
// 3. What the kernel will really run is read from the same descriptor (exec_format.h) and
//    checked too:
//    - a #! script: its interpreter passes the owner, mode and ancestor rules (it may be owned
//      by root and readable and executable by all, like /bin/sh), then whatever the interpreter
//      is, in turn, at most kMaxInterpreters levels;
//    - `#!/usr/bin/env NAME`: env itself, then NAME where env will find it in the backend's PATH
//      (CheckOptions::child_path); every PATH folder searched before it, and its own, must be
//      closed to others even when sticky (anyone could add NAME to /tmp); env options, variable
//      assignments and names with spaces are refused, since they change what runs;
//    - an ELF file: its loader (PT_INTERP) by the interpreter rules, and every DT_RPATH /
//      DT_RUNPATH folder by the ancestor rules plus the strict search-folder rule ($ORIGIN is
//      expanded as ld.so expands it: for a program, the folder of its real path, which ld.so
//      reads from /proc/self/exe whatever path or descriptor ran it; for a library named by path,
//      the folder of that path as written, links not resolved; $LIB, $PLATFORM, other tokens,
//      relative and empty entries are refused: they depend on the system or the working
//      directory); unless it is a system folder, every folder kSearchDepth levels below it too,
//      whatever its name, since ld.so searches CPU-dependent subfolders first;
//    - every file an ELF file names by path (a DT_NEEDED, DT_FILTER, DT_AUXILIARY, DT_AUDIT or
//      DT_DEPAUDIT name with '/', after $ORIGIN): its folders by the ancestor rule, its own folder
//      not sticky and open to others, the file owned by root or the effective user and not
//      writable by group or others; a relative path or another token is refused. Such a library
//      is read in turn (its own search folders and path names), each file once;
//    - every file found by a name without '/' in those (non-system) search folders: checked and
//      followed like a file named by path. Names found only in root's cache and system folders
//      are not followed (an audit module so named is listed as such).
//    The interpreters and loaders are checked by path, not held open: the rules make sure only
//    root or the effective user could replace them. The SHA-256 pin covers the backend file only.
//
// Every rule is evaluated and recorded when a report is asked for (`stsecrets check`); the first
// failure is the error. Without a report (the fetcher) passes cost no text and no name lookups,
// and the check stops at the first failure.
#if defined(_WIN32)
#error "executable_check_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/executable_check.h"

#include "common/text.h"
#include "posix/exec_format.h"
#include "posix/path_rules.h"
#include "posix/unique_fd.h"

// The low-level SHA-256 interface, not EVP: EVP's first digest in a process initialises
// OpenSSL's library context (reads openssl.cnf, loads the default provider, builds the name
// maps, registers an atexit cleanup): about 6.5 million instructions, 0.9 ms, which is as much
// as the whole backend spawn and is paid again by every `stsecrets` process (bench/README.md,
// "CLI startup"). SHA256_Init/Update/Final are the same assembly (SHA-NI where the CPU has it)
// without that set-up. OpenSSL 3 marks them deprecated but keeps them in every 3.x release.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <sys/stat.h>
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

using posix::OpenedFile;
using posix::Role;
using posix::RuleBook;
using posix::Subject;
using posix::UniqueFd;
using posix::Walk;
using posix::WalkState;

// #! levels plus env hops followed before giving up (the kernel itself allows few rewrites).
constexpr int kMaxInterpreters = 4;
// Files named by path (libraries, audit modules) read to follow their own names, at most.
constexpr std::size_t kMaxLibraries = 64;
// ld.so looks for a name without '/' in each DT_RPATH/DT_RUNPATH folder and first in subfolders
// of it that depend on the CPU and glibc: glibc-hwcaps/NAME, and the legacy hwcap folders made
// of "tls", the platform and hwcap names (tls/x86_64/x86_64, haswell/avx512_1, ...). Every
// subfolder ld.so could search on any x86-64 or i386 CPU is held to the search-folder rule, so
// the verdict does not depend on the CPU the check runs on; other subfolders (python3.11, ...)
// are never searched and are left alone. At most kMaxSearchFolders folders in all.
constexpr int kSearchDepth = 4;
constexpr std::size_t kMaxSearchFolders = 64;
constexpr std::array<std::string_view, 10> kLegacyHwcapFolders = {
    "tls", "x86_64", "haswell", "xeon_phi", "avx512_1", "i386", "i486", "i586", "i686", "sse2"};

// Whether ld.so may search `name`, a subfolder of a search folder whose own name is `parent`.
bool searched_subfolder(std::string_view parent, std::string_view name) {
  if (parent == "glibc-hwcaps") return true;  // x86-64-v2, -v3, -v4 and what later glibc adds
  if (name == "glibc-hwcaps") return true;
  for (std::string_view legacy : kLegacyHwcapFolders) {
    if (name == legacy) return true;
  }
  return false;
}

// SHA-256 of the whole file, read through `fd` with pread (the descriptor's offset stays 0).
std::optional<std::string> sha256_of(int fd, int& err) {
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1) { err = 0; return std::nullopt; }
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
    if (SHA256_Update(&ctx, buf.data(), static_cast<std::size_t>(n)) != 1) { err = 0; return std::nullopt; }
    offset += n;
  }
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  if (SHA256_Final(md.data(), &ctx) != 1) { err = 0; return std::nullopt; }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(md.size() * 2u);
  for (unsigned char byte : md) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0f];
  }
  return hex;
}

bool has_controls(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// ld.so expands $ORIGIN and ${ORIGIN} to `origin` (see origin_of_program, origin_of_library);
// any other "$" token ($LIB, $PLATFORM, ...) expands differently per system: nullopt.
std::optional<std::string> expand_origin(const std::string& entry, const std::string& origin) {
  std::string out;
  for (std::size_t i = 0; i < entry.size();) {
    if (entry[i] != '$') {
      out += entry[i++];
      continue;
    }
    const std::string_view rest = std::string_view(entry).substr(i + 1);
    std::size_t token = 0;
    if (rest.rfind("{ORIGIN}", 0) == 0) token = 8;
    if (rest.rfind("ORIGIN", 0) == 0 &&
        (rest.size() == 6 || (std::isalnum(static_cast<unsigned char>(rest[6])) == 0 && rest[6] != '_'))) {
      token = 6;
    }
    if (token == 0) return std::nullopt;
    out += origin;
    i += 1 + token;
  }
  return out;
}

// $ORIGIN of a program: ld.so (_dl_get_origin) reads /proc/self/exe, the real path of the file
// the kernel runs, so links do not matter, nor does execveat's "/dev/fd/N" name.
std::string origin_of_program(const std::string& resolved) { return posix::dir_name(resolved); }

// $ORIGIN of a library: ld.so (_dl_new_object) cuts the last name off the path it opened the
// library by, as written: a link's own folder, not its target's. `opened` is absolute here
// (relative names are refused before a library is walked).
std::string origin_of_library(const std::string& opened) {
  const std::size_t slash = opened.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string("/") : opened.substr(0, slash);
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : separator) + parts[i];
  return out;
}

bool is_env(const std::string& named, const std::string& resolved) {
  return posix::base_name(named) == "env" || posix::base_name(resolved) == "env";
}

// An interpreter or loader that passed its walk and file rule, open for reading when asked.
struct Program {
  UniqueFd fd;
  std::string resolved;
};

class ExecutableChecker {
 public:
  ExecutableChecker(const CheckOptions& options, ExecutableReport& report, bool verbose)
      : options_(options), report_(report), book_(verbose ? &report.rules : nullptr, Code::exec_rejected,
                                                  Code::exec_rejected) {}

  Result<VerifiedExecutable> run();

 private:
  // The backend file's rules, in report order.
  void rule_regular_file(const struct stat& st);
  void rule_no_setid(const struct stat& st);
  void rule_owner(const struct stat& st);
  void rule_permissions(const struct stat& st);
  void rule_readable_and_hash(const OpenedFile& file, const struct stat& st);
  void rule_sha256_pin();
  // What really runs.
  // `origin` is what $ORIGIN expands to in the file's ELF names (origin_of_program/_library).
  void follow(int fd, const Subject& whose, const std::string& origin);
  void follow_script(const posix::ScriptLine& line, const std::string& script);
  void follow_interpreter(const std::string& interpreter, const std::optional<std::string>& argument,
                          const std::string& script);
  void follow_env(const std::optional<std::string>& argument, const std::string& script);
  void search_path_for(const std::string& name, const std::string& script);
  void follow_elf(const posix::ElfFacts& elf, const std::string& file, const std::string& origin);
  void rule_rpath(const std::string& entry, const char* tag, const std::string& file, const std::string& origin);
  void add_search_folder(const Subject& s, const Walk& walk, const std::string& rpath, int depth);
  void search_by_name(const std::string& name, posix::LibraryTag tag, const std::string& file);
  void follow_libraries(const posix::ElfFacts& elf, const std::string& file, const std::string& origin);
  void rule_library(const std::string& entry, posix::LibraryTag tag, const std::string& file, const std::string& origin);
  void check_library(const Subject& s);
  bool rule_library_file(const Subject& s, const posix::WalkEnd& end, const struct stat& st);
  void follow_library(int fd, const Subject& s, const std::string& resolved, const std::string& origin);
  std::optional<Program> check_program(const Subject& s, bool need_read);
  // Walks to what `s` names; a missing file fails the rule `name` with "install it or ...".
  Walk walk_to(const std::string& name, const Subject& s);
  void rule_program_file(const Subject& s, const std::string& resolved, const struct stat& st);

  Result<VerifiedExecutable> finish(UniqueFd fd);
  // ": run chmod 700 /x", or for a shared file the copy it should use instead (SPEC 5).
  std::string fix_clause(bool shared, const Subject& s, const std::string& command, std::string& fix);
  bool shared_file(const std::string& named, const std::string& resolved, const struct stat& st) const {
    return posix::is_system_path(named) || posix::is_system_path(resolved) ||
           (st.st_uid != book_.identity().euid && (st.st_mode & 0011) != 0);
  }
  // The file as messages name it: "/opt/backend" or "/usr/local/bin/backend -> /opt/vendor/backend".
  std::string shown() const {
    return resolved_ == options_.path ? resolved_ : options_.path + " -> " + resolved_;
  }

  const CheckOptions& options_;
  ExecutableReport& report_;
  RuleBook book_;
  Subject backend_{Role::backend, options_.path, "", ""};
  std::string resolved_;  // the backend file's path without links
  bool shared_ = false;   // the backend file is a shared system file: fixes never change it
  int interpreters_ = 0;
  // Libraries already followed: real path and $ORIGIN. One file reached by two names is read
  // once per folder, since ld.so keeps the $ORIGIN of whichever name it opened first.
  std::set<std::pair<std::string, std::string>> libraries_read_;
  // DT_RPATH/DT_RUNPATH folders (not system ones) and their subfolders, checked: the path as
  // written and an O_PATH descriptor. Names without '/' are looked up in all of them, a superset
  // of where ld.so looks for any one file.
  std::vector<std::pair<std::string, posix::UniqueFd>> search_folders_;
};

Result<VerifiedExecutable> ExecutableChecker::run() {
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

  Walk walk = book_.walk(backend_);
  if (walk.state == WalkState::missing) {
    resolved_ = walk.end.resolved;
    const std::string message =
        walk.end.missing_last
            ? shown() + " does not exist: install the backend there or correct secret_backend_command"
            : configured + " does not exist (" + walk.end.resolved + " is missing" +
                  (walk.links > 0 ? ", after following links" : "") +
                  "): install the backend there or correct secret_backend_command";
    book_.fail("regular file", walk.end.resolved + " does not exist",
               "install the backend at " + configured + " or correct secret_backend_command", message, ENOENT);
  }
  if (walk.state != WalkState::found) return finish(UniqueFd());
  resolved_ = walk.end.resolved;
  if (walk.end.checked_as_folder) {
    book_.fail("regular file", resolved_ + " is a directory", "point secret_backend_command at the executable file",
               shown() + " is a directory, not a regular file: point secret_backend_command at the executable file");
    return finish(UniqueFd());
  }

  OpenedFile file;
  if (S_ISREG(walk.end.st.st_mode)) file = posix::open_for_reading(walk.end);
  if (file.replaced) {
    book_.fail("regular file", "replaced while being checked", "retry",
               shown() + " was replaced while being checked: retry, and find out who is changing it");
    return finish(UniqueFd());
  }
  walk.end.node.reset();
  const struct stat st = file.fd.valid() ? file.st : walk.end.st;
  if (book_.verbose()) {
    report_.owner = book_.names().user_name(st.st_uid).value_or(std::to_string(st.st_uid));
    report_.group = book_.names().group_name(st.st_gid).value_or(std::to_string(st.st_gid));
    report_.mode = posix::mode_text(st.st_mode);
  }

  rule_regular_file(st);
  if (!S_ISREG(st.st_mode)) return finish(UniqueFd());
  shared_ = shared_file(configured, resolved_, st);
  // Without a report the check ends at the first failure (book_.done()).
  if (!book_.done()) rule_no_setid(st);
  if (!book_.done()) rule_owner(st);
  if (!book_.done()) rule_permissions(st);
  if (!book_.done()) rule_readable_and_hash(file, st);
  if (!book_.done()) rule_sha256_pin();
  if (file.fd.valid() && !book_.done()) follow(file.fd.get(), backend_, origin_of_program(resolved_));
  return finish(std::move(file.fd));
}

Result<VerifiedExecutable> ExecutableChecker::finish(UniqueFd fd) {
  report_.error = book_.error();
  if (report_.error) return *report_.error;
  return VerifiedExecutable(static_cast<std::intptr_t>(fd.release()), options_.path, report_.sha256);
}

std::string ExecutableChecker::fix_clause(bool shared, const Subject& s, const std::string& command, std::string& fix) {
  if (!shared) {
    fix = command;
    return ": run " + command;
  }
  fix = book_.relocate_fix(s);
  return ": it is a shared system file, so leave it as it is and install a copy or a wrapper in a folder of its own: " +
         fix;
}

// ---- the backend file ----------------------------------------------------------------------

void ExecutableChecker::rule_regular_file(const struct stat& st) {
  if (S_ISREG(st.st_mode)) {
    book_.add("regular file", true, resolved_, "", "");
    return;
  }
  book_.fail("regular file", "is " + posix::type_text(st.st_mode), "point secret_backend_command at the executable file",
             shown() + " is " + posix::type_text(st.st_mode) +
                 ", not a regular file: point secret_backend_command at the executable file");
}

void ExecutableChecker::rule_no_setid(const struct stat& st) {
  const bool suid = (st.st_mode & S_ISUID) != 0;
  const bool sgid = (st.st_mode & S_ISGID) != 0;
  const std::string mode = posix::mode_text(st.st_mode);
  if (!suid && !sgid) {
    if (book_.verbose()) book_.add("no setuid/setgid", true, "mode " + mode, "", "");
    return;
  }
  const std::string bits = suid && sgid ? "setuid and setgid bits" : suid ? "setuid bit" : "setgid bit";
  std::string fix;
  const std::string clause =
      fix_clause(shared_, backend_, std::string("chmod ") + (suid && sgid ? "ug-s" : suid ? "u-s" : "g-s") + " " + resolved_, fix);
  book_.fail("no setuid/setgid", "mode " + mode + " has the " + bits, fix,
             shown() + " has the " + bits + " (mode " + mode + ")" + clause);
}

void ExecutableChecker::rule_owner(const struct stat& st) {
  const posix::Identity& id = book_.identity();
  posix::Names& names = book_.names();
  const bool owned_by_euid = st.st_uid == id.euid;
  const bool root_group = options_.allow_group_exec && !owned_by_euid && st.st_uid == 0 && id.in_groups(st.st_gid);
  if (owned_by_euid || root_group) {
    if (book_.verbose()) {
      book_.add("owner", true,
                "owner " + names.user_text(st.st_uid) + ", group " + names.group_text(st.st_gid) +
                    (root_group ? " (one of the effective user's groups)" : ""),
                "", "");
    }
    return;
  }
  const std::string found = "owner " + names.user_text(st.st_uid) + ", group " + names.group_text(st.st_gid);
  std::string fix;
  if (options_.allow_group_exec && st.st_uid == 0) {
    const std::string clause = fix_clause(shared_, backend_, "chgrp " + names.group_arg(id.egid) + " " + resolved_, fix);
    book_.fail("owner", found + ": the group is not one of the effective user's groups", fix,
               shown() + " is owned by root with group " + names.group_text(st.st_gid) +
                   ", which is not one of the groups of " + names.user_text(id.euid) + " (the effective user)" + clause);
    return;
  }
  const std::string want = options_.allow_group_exec && id.euid != 0
                               ? names.user_text(id.euid) + " (the effective user) or by root with one of its groups"
                               : names.user_text(id.euid) + " (the effective user)";
  const std::string clause = fix_clause(shared_, backend_, "chown " + names.user_arg(id.euid) + " " + resolved_, fix);
  book_.fail("owner", found + ": not owned by " + want, fix,
             shown() + " is owned by " + names.user_text(st.st_uid) + ", not by " + want + clause);
}

void ExecutableChecker::rule_permissions(const struct stat& st) {
  const unsigned bits = static_cast<unsigned>(st.st_mode & 0777);
  const bool root_group = options_.allow_group_exec && st.st_uid != book_.identity().euid && st.st_uid == 0;
  std::vector<std::string> problems;
  unsigned wanted = 0;
  if (!options_.allow_group_exec) {
    // Only the owner may have rights, and it needs x.
    wanted = (bits & 0700u) | 0100u;
    const bool group = (bits & 070u) != 0;
    const bool others = (bits & 07u) != 0;
    if (group || others) {
      problems.push_back(std::string(group && others ? "group and others have" : group ? "group has" : "others have") +
                         " rights on " + shown());
    }
  } else {
    // The group may read and execute, never write; others nothing. When the effective user
    // gets in through the group (root-owned file), the group needs r and x.
    const bool through_group = root_group && book_.identity().in_groups(st.st_gid);
    wanted = (bits & 0750u) | 0100u | (through_group ? 050u : 0u);
    const bool group_w = (bits & 020u) != 0;
    const bool others = (bits & 07u) != 0;
    if (group_w || others) {
      problems.push_back(std::string(group_w && others ? "group can write and others have rights on"
                                     : group_w         ? "group can write"
                                                       : "others have rights on") +
                         " " + shown());
    }
    if (through_group && (bits & 050u) != 050u) {
      problems.push_back(shown() + " is not readable and executable by its group, through which " +
                         book_.names().user_text(book_.identity().euid) + " runs it");
    }
  }
  if ((bits & 0100u) == 0) problems.push_back(shown() + " is not executable by its owner");
  const std::string mode = posix::mode_text(st.st_mode);
  if (problems.empty()) {
    if (book_.verbose()) book_.add("permissions", true, "mode " + mode, "", "");
    return;
  }
  std::string message;
  for (std::size_t i = 0; i < problems.size(); ++i) message += (i == 0 ? "" : "; ") + problems[i];
  std::string fix;
  const std::string clause = fix_clause(shared_, backend_, "chmod " + posix::octal(wanted, 3) + " " + resolved_, fix);
  book_.fail("permissions", "mode " + mode + ": " + message, fix, message + " (mode " + mode + ")" + clause);
}

void ExecutableChecker::rule_readable_and_hash(const OpenedFile& file, const struct stat& st) {
  // Recorded only when it fails: the hash, the audit record and what-runs need the bytes.
  if (!file.fd.valid()) {
    const std::string fix = "chmod u+r " + resolved_;
    book_.fail("readable", "cannot open for reading: " + errno_text(file.error), fix,
               "cannot open " + shown() + " for reading (" + errno_text(file.error) + ", mode " +
                   posix::mode_text(st.st_mode) + ", owner " + book_.names().user_text(st.st_uid) + "): run " + fix,
               file.error);
    return;
  }
  int err = 0;
  auto digest = sha256_of(file.fd.get(), err);
  if (!digest) {
    const std::string why = err != 0 ? errno_text(err) : "OpenSSL SHA-256 failed";
    book_.fail("readable", "cannot hash: " + why, "", "cannot hash " + shown() + ": " + why, err);
    return;
  }
  report_.sha256 = *digest;
}

void ExecutableChecker::rule_sha256_pin() {
  if (options_.sha256.empty()) return;
  const std::string want = ascii_lower(options_.sha256);
  const bool ok = !report_.sha256.empty() && report_.sha256 == want;
  const std::string got = report_.sha256.empty() ? "unknown (not readable)" : report_.sha256;
  book_.add("sha256 pin", ok, ok ? report_.sha256 : "got " + got + ", want " + want,
            "update secret_backend_command_sha256 or restore the binary",
            "sha256 of " + shown() + " is " + got + ", want " + want +
                ": update secret_backend_command_sha256 or restore the binary");
}

// ---- what really runs ----------------------------------------------------------------------

// `fd` is the file `whose` names (the backend, or an interpreter already checked), `origin` the
// folder $ORIGIN names in it.
void ExecutableChecker::follow(int fd, const Subject& whose, const std::string& origin) {
  const std::string& file = whose.path;
  auto format = posix::read_exec_format(fd);
  if (!format) {
    const std::string& reason = format.error().message;
    const std::string name = (reason.rfind("its #!", 0) == 0                                     ? "#! line of "
                              : reason.rfind("its ELF", 0) == 0 || reason.rfind("it is an ELF", 0) == 0 ? "ELF header of "
                                                                                                    : "format of ") +
                             file;
    const std::string fix = "replace it with a valid executable or " + book_.correct_setting(whose);
    book_.fail(name, format.error().message, fix, file + " cannot be checked: " + format.error().message + ": " + fix,
               format.error().os_error);
    return;
  }
  switch (format->kind) {
    case posix::ExecKind::script: follow_script(format->script, file); return;
    case posix::ExecKind::elf: follow_elf(format->elf, file, origin); return;
    case posix::ExecKind::other: {
      const std::string fix = "give it a #! line or " + book_.correct_setting(whose);
      book_.fail("format of " + file, "neither an ELF executable nor a #! script", fix,
                 file + " is neither an ELF executable nor a #! script, so only a binfmt_misc handler could run it, "
                        "and that is not checked: " + fix);
      return;
    }
  }
}

void ExecutableChecker::follow_script(const posix::ScriptLine& line, const std::string& script) {
  const std::string name = "#! line of " + script;
  const std::string& interpreter = line.interpreter;
  if (!interpreter.empty() && interpreter.back() == '\r') {
    book_.fail(name, "ends with a carriage return", "dos2unix " + script,
               "the #! line of " + script + " ends with a carriage return (DOS line ends), so the kernel looks for \"" +
                   quote_text(interpreter) + "\": run dos2unix " + script);
    return;
  }
  if (has_controls(interpreter)) {
    book_.fail(name, "control characters in the interpreter's name", "correct the #! line of " + script,
               "the #! line of " + script + " names \"" + quote_text(interpreter) +
                   "\", which holds control characters: correct the #! line of " + script);
    return;
  }
  if (interpreter.empty() || interpreter.front() != '/') {
    book_.fail(name, "relative interpreter \"" + quote_text(interpreter) + "\"",
               "write the interpreter's absolute path on the #! line of " + script,
               "the #! line of " + script + " names the relative interpreter \"" + quote_text(interpreter) +
                   "\", which the kernel would look up from the working directory: write its absolute path, e.g. "
                   "#!/bin/sh");
    return;
  }
  follow_interpreter(interpreter, line.argument, script);
}

void ExecutableChecker::follow_interpreter(const std::string& interpreter, const std::optional<std::string>& argument,
                                           const std::string& script) {
  if (++interpreters_ > kMaxInterpreters) {
    book_.fail("#! line of " + script, "more than " + std::to_string(kMaxInterpreters) + " interpreters",
               "name the final interpreter on the #! line of " + options_.path,
               "the chain of interpreters of " + options_.path + " is longer than " + std::to_string(kMaxInterpreters) +
                   " at " + script + ": name the final interpreter on the #! line of " + options_.path);
    return;
  }
  const Subject s{Role::interpreter, interpreter, "interpreter " + interpreter + " of " + script, script};
  auto program = check_program(s, true);
  if (!program || book_.done()) return;
  follow(program->fd.get(), s, origin_of_program(program->resolved));  // the kernel runs it as a program
  if (is_env(interpreter, program->resolved) && !book_.done()) follow_env(argument, script);
}

void ExecutableChecker::follow_env(const std::optional<std::string>& argument, const std::string& script) {
  const std::string hint = "name the interpreter by its absolute path on the #! line of " + script;
  if (!argument) {
    book_.fail("env", "no program name", hint,
               "the #! line of " + script + " runs env without a program name, so env would run " + script +
                   " itself: " + hint);
    return;
  }
  const std::string& name = *argument;
  const std::string rule = "env " + quote_text(name);
  std::string problem;
  if (has_controls(name)) {
    problem = "it holds control characters";
  } else if (name.front() == '-') {
    problem = "it is an env option, which changes what env runs";
  } else if (name.find('=') != std::string::npos) {
    problem = "it is a variable assignment, after which env would run " + script + " itself";
  } else if (name.find_first_of(" \t") != std::string::npos) {
    problem = "it holds a space, and Linux passes the rest of the #! line to env as one program name";
  } else if (name.find('/') != std::string::npos && name.front() != '/') {
    problem = "it is a relative path, which env would take from the working directory";
  }
  if (!problem.empty()) {
    book_.fail(rule, "\"" + quote_text(name) + "\": " + problem, hint,
               "the #! line of " + script + " passes \"" + quote_text(name) + "\" to env; " + problem + ": " + hint);
    return;
  }
  if (name.front() == '/') {
    follow_interpreter(name, std::nullopt, script);  // env executes a path with a slash as it is
    return;
  }
  search_path_for(name, script);
}

// env (execvp) tries each PATH folder in order; the first that holds `name` decides. Every
// folder up to it must be closed to others, or someone could put `name` there first.
void ExecutableChecker::search_path_for(const std::string& name, const std::string& script) {
  const std::string rule = "env " + name;
  const std::string& path = options_.child_path;
  const std::string hint = "name the interpreter by its absolute path on the #! line of " + script;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = path.find(':', start);
    const std::string folder = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (folder.empty() || folder.front() != '/') {
      book_.fail(rule, "PATH entry \"" + quote_text(folder) + "\" is relative", hint,
                 "env would look for " + name + " (#! line of " + script + ") in the relative PATH entry \"" +
                     quote_text(folder) + "\", the working directory: remove it from the backend's PATH or " + hint);
      return;
    }
    const Subject f{Role::search_folder, folder, "PATH folder " + folder + " searched by env for " + name + " of " + script,
                    script};
    const Walk walk = book_.walk(f);
    if (walk.state == WalkState::failed || book_.done()) return;
    book_.rule_search_folder(f, "PATH folder " + folder, walk);
    if (book_.done()) return;
    if (walk.state == WalkState::found && S_ISDIR(walk.end.st.st_mode)) {
      struct stat st {};
      if (::fstatat(walk.end.node.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        const std::string found = folder + (folder.back() == '/' ? "" : "/") + name;
        book_.add(rule, true, name + " is " + found + " (PATH " + path + ")", "", "");
        follow_interpreter(found, std::nullopt, script);
        return;
      }
      if (errno != ENOENT) {
        const int e = errno;
        book_.fail(rule, "cannot look in " + folder + ": " + errno_text(e), hint,
                   "cannot look for " + name + " in " + folder + " (env of " + script + "): " + errno_text(e), e);
        return;
      }
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  book_.fail(rule, name + " is not in PATH " + path, "install " + name + " in PATH or " + hint,
             "env would not find " + name + " (#! line of " + script + ") in the backend's PATH " + path +
                 ": install it there or " + hint);
}

void ExecutableChecker::follow_elf(const posix::ElfFacts& elf, const std::string& file, const std::string& origin) {
  if (elf.interpreter) {
    const std::string& loader = *elf.interpreter;
    const std::string name = "loader " + quote_text(loader);
    if (has_controls(loader) || loader.front() != '/') {
      const std::string fix = "relink " + file + " with an absolute -Wl,--dynamic-linker";
      book_.fail(name, "not an absolute path", fix,
                 "the ELF program interpreter \"" + quote_text(loader) + "\" of " + file +
                     " is not an absolute path, so the kernel would take it from the working directory: " + fix);
    } else {
      const Subject s{Role::loader, loader, "loader " + loader + " of " + file, file};
      (void)check_program(s, false);  // the kernel maps the loader; its own PT_INTERP is ignored
    }
  }
  follow_libraries(elf, file, origin);
}

// What ld.so loads for an ELF file (the program, or a library named by path): its search
// folders, then every file it names by path.
void ExecutableChecker::follow_libraries(const posix::ElfFacts& elf, const std::string& file, const std::string& origin) {
  for (const auto& entry : elf.rpath) {
    if (book_.done()) return;
    rule_rpath(entry, "DT_RPATH", file, origin);
  }
  for (const auto& entry : elf.runpath) {
    if (book_.done()) return;
    rule_rpath(entry, "DT_RUNPATH", file, origin);
  }
  using posix::LibraryTag;
  for (const auto& [tag, names] : {std::pair{LibraryTag::needed, &elf.needed}, std::pair{LibraryTag::filter, &elf.filter},
                                   std::pair{LibraryTag::auxiliary, &elf.auxiliary}, std::pair{LibraryTag::audit, &elf.audit},
                                   std::pair{LibraryTag::depaudit, &elf.depaudit}}) {
    for (const auto& entry : *names) {
      if (book_.done()) return;
      rule_library(entry, tag, file, origin);
    }
  }
}

void ExecutableChecker::rule_rpath(const std::string& entry, const char* tag, const std::string& file,
                                   const std::string& origin) {
  const auto expanded = expand_origin(entry, origin);
  const std::string folder = expanded.value_or("");
  std::string problem;
  if (!expanded) problem = "uses a token other than $ORIGIN ($LIB and $PLATFORM expand differently per system)";
  if (problem.empty() && entry.empty()) problem = "is empty, which ld.so reads as the working directory";
  if (problem.empty() && has_controls(folder)) problem = "holds control characters";
  if (problem.empty() && folder.front() != '/') problem = "is relative, so ld.so would take it from the working directory";
  if (!problem.empty()) {
    const std::string fix = "relink " + file + " with absolute folders (or $ORIGIN) in -Wl,-rpath";
    book_.fail("rpath " + quote_text(entry), std::string(tag) + " entry " + problem, fix,
               "the " + std::string(tag) + " entry \"" + quote_text(entry) + "\" of " + file + " " + problem + ": " + fix);
    return;
  }
  const Subject s{Role::library_folder, folder, "rpath " + folder + " of " + file, file};
  const Walk walk = book_.walk(s);
  if (walk.state == WalkState::failed) return;
  book_.rule_search_folder(s, "rpath " + folder, walk);
  // A system folder belongs to root, as does what ld.so finds there (THREAT_MODEL: not followed).
  if (walk.state != WalkState::found || book_.done() || posix::is_system_path(walk.end.resolved)) return;
  add_search_folder(s, walk, folder, 0);
}

// Records a checked search folder, then checks the subfolders below it that ld.so may search
// (searched_subfolder), kSearchDepth levels down, links followed under the walk's rules.
void ExecutableChecker::add_search_folder(const Subject& s, const Walk& walk, const std::string& rpath, int depth) {
  if (!S_ISDIR(walk.end.st.st_mode)) return;
  for (const auto& known : search_folders_) {
    if (known.first == s.path) return;
  }
  const std::string base = s.path.back() == '/' ? s.path : s.path + "/";
  search_folders_.emplace_back(s.path, UniqueFd(::fcntl(walk.end.node.get(), F_DUPFD_CLOEXEC, 0)));
  if (search_folders_.size() > kMaxSearchFolders) {
    const std::string fix = "keep only libraries in " + rpath;
    book_.fail("rpath " + rpath, "more than " + std::to_string(kMaxSearchFolders) + " folders to search", fix,
               "ld.so searches the folders below rpath " + rpath + " of " + s.named_by + ", and there are more than " +
                   std::to_string(kMaxSearchFolders) + " to check: " + fix);
    return;
  }
  if (depth == kSearchDepth) return;
  // A folder that cannot be listed is refused: what ld.so may find below it would go unchecked.
  UniqueFd listing(::openat(walk.end.node.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
  DIR* dir = listing.valid() ? ::fdopendir(listing.get()) : nullptr;
  if (dir == nullptr) {
    const int e = errno;
    book_.fail("rpath " + s.path, "cannot list it: " + errno_text(e), "let the effective user read " + s.path,
               "cannot list " + s.path + " (" + s.context + "), where ld.so searches libraries: " + errno_text(e), e);
    return;
  }
  (void)listing.release();  // closedir closes it
  std::vector<std::string> folders;
  const std::string parent = posix::base_name(s.path);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || !searched_subfolder(parent, name)) continue;
    struct stat st {};
    if (entry->d_type == DT_DIR || ((entry->d_type == DT_LNK || entry->d_type == DT_UNKNOWN) &&
                                    ::fstatat(::dirfd(dir), name.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode))) {
      folders.push_back(name);
    }
  }
  ::closedir(dir);
  for (const auto& name : folders) {
    if (book_.done()) return;
    const std::string sub = base + name;
    const Subject f{Role::library_folder, sub, "folder " + sub + " below rpath " + rpath + " of " + s.named_by,
                    s.named_by};
    const Walk w = book_.walk(f);
    if (w.state == WalkState::failed) continue;
    book_.rule_search_folder(f, "rpath " + sub, w);
    if (w.state == WalkState::found && !book_.done()) add_search_folder(f, w, rpath, depth + 1);
  }
}

// A name without '/': every file of that name in a checked search folder is checked and
// followed like a file named by path (ld.so takes the first it finds; which one depends on the
// CPU, so all are held to the rules).
void ExecutableChecker::search_by_name(const std::string& name, posix::LibraryTag tag, const std::string& file) {
  if (name.empty() || name == "." || name == ".." || has_controls(name)) return;
  for (std::size_t i = 0; i < search_folders_.size() && !book_.done(); ++i) {
    struct stat st {};
    if (::fstatat(search_folders_[i].second.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string& folder = search_folders_[i].first;
    const std::string path = (folder.back() == '/' ? folder : folder + "/") + name;
    check_library(Subject{Role::library, path,
                          posix::library_word(tag) + std::string(" ") + path + " (found by name) of " + file, file, tag});
  }
}

// One name of DT_NEEDED, DT_FILTER, DT_AUXILIARY, DT_AUDIT or DT_DEPAUDIT. ld.so expands the
// tokens of every such name; a result with '/' is opened as a path (relative ones from the
// working directory), one without is searched.
void ExecutableChecker::rule_library(const std::string& entry, posix::LibraryTag tag, const std::string& file,
                                     const std::string& origin) {
  const std::string word = posix::library_word(tag);
  const auto path = expand_origin(entry, origin);
  std::string problem;
  if (!path) {
    problem = "uses a token other than $ORIGIN ($LIB and $PLATFORM expand differently per system)";
  } else if (path->find('/') == std::string::npos) {
    // Searched: in the DT_RPATH/DT_RUNPATH folders checked above, or ld.so's cache and the
    // system folders. Audit modules are listed, so that `check` shows they load.
    search_by_name(*path, tag, file);
    const bool audit = tag == posix::LibraryTag::audit || tag == posix::LibraryTag::depaudit;
    if (audit && book_.verbose()) {
      book_.add(word + " " + quote_text(entry), true,
                "a name without '/': ld.so searches it as it searches libraries (its cache and the system folders, "
                "which belong to root)",
                "", "");
    }
    return;
  } else if (has_controls(*path)) {
    problem = "holds control characters";
  } else if (path->front() != '/') {
    problem = "is a relative path, so ld.so would take it from the working directory";
  }
  if (!problem.empty()) {
    const std::string dt = posix::library_dt(tag);
    const std::string fix =
        tag == posix::LibraryTag::needed
            ? "relink " + file + " against the library by its absolute path (or $ORIGIN/...), or give the library a "
                                 "-Wl,-soname and link it by name"
            : "relink " + file + " with an absolute path (or $ORIGIN/...) in " + posix::library_option(tag);
    book_.fail(word + " " + quote_text(entry), dt + " entry " + problem, fix,
               "the " + dt + " entry \"" + quote_text(entry) + "\" of " + file + " " + problem + ": " + fix);
    return;
  }
  check_library(Subject{Role::library, *path, word + " " + *path + " of " + file, file, tag});
}

Walk ExecutableChecker::walk_to(const std::string& name, const Subject& s) {
  Walk walk = book_.walk(s);
  if (walk.state == WalkState::missing) {
    const std::string fix = "install it or " + book_.correct_setting(s);
    book_.fail(name, walk.end.resolved + " does not exist", fix,
               s.context + " does not exist" +
                   (walk.end.missing_last ? std::string() : " (" + walk.end.resolved + " is missing)") + ": " + fix,
               ENOENT);
  }
  return walk;
}

// Walks a library or audit module named by path, applies the file rule, and follows its own
// names when it is an ELF file ld.so could load.
void ExecutableChecker::check_library(const Subject& s) {
  const std::string name = posix::library_word(s.tag) + (" " + s.path);
  Walk walk = walk_to(name, s);
  if (walk.state != WalkState::found) return;
  const bool regular = S_ISREG(walk.end.st.st_mode) && !walk.end.checked_as_folder;
  if (!regular) {
    const std::string fix = book_.correct_setting(s);
    book_.fail(name, walk.end.resolved + " is " + posix::type_text(walk.end.st.st_mode), fix,
               s.context + " is " + posix::type_text(walk.end.st.st_mode) + ", not a regular file: " + fix);
    return;
  }
  OpenedFile file = posix::open_for_reading(walk.end);
  if (file.replaced) {
    book_.fail(name, "replaced while being checked", "retry",
               s.context + " was replaced while being checked: retry, and find out who is changing it");
    return;
  }
  const struct stat st = file.fd.valid() ? file.st : walk.end.st;
  if (!rule_library_file(s, walk.end, st) || book_.done()) return;
  // A file the effective user cannot read, ld.so (the same user) cannot load either.
  if (file.fd.valid()) follow_library(file.fd.get(), s, walk.end.resolved, origin_of_library(s.path));
}

// The file rule for a library or audit module: owned by root or the effective user, not
// writable by group or others (ld.so needs only read), and not in a sticky folder others may
// write: there anyone may create the name once the file is gone.
bool ExecutableChecker::rule_library_file(const Subject& s, const posix::WalkEnd& end, const struct stat& st) {
  const posix::Identity& id = book_.identity();
  posix::Names& names = book_.names();
  const std::string name = posix::library_word(s.tag) + (" " + s.path);
  const std::string link = end.resolved != s.path ? " -> " + end.resolved : std::string();
  const std::string what = posix::library_word(s.tag) + (" " + s.path) + link + " of " + s.named_by;
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id.euid;
  const bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool open_folder = (end.dir_st.st_mode & S_ISVTX) != 0 && (end.dir_st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (owner_ok && !writable && !open_folder && !book_.verbose()) return true;  // passes cost no text, no lookups
  const std::string found = "mode " + posix::mode_text(st.st_mode) + ", owner " + names.user_text(st.st_uid);
  const std::string detail = (link.empty() ? "" : "-> " + end.resolved + ", ") + found;
  if (owner_ok && !writable && !open_folder) {
    book_.add(name, true, detail, "", "");
    return true;
  }
  if (owner_ok && !writable) {
    const std::string fix = book_.relocate_fix(s);
    book_.fail(name, detail + ": in the sticky folder " + end.dir_path + ", open to others", fix,
               what + " (" + found + ") is in the sticky folder " + end.dir_path + " (mode " +
                   posix::mode_text(end.dir_st.st_mode) + ", owner " + names.user_text(end.dir_st.st_uid) +
                   "), where anyone may create that name once the file is gone: install a copy in a folder of its own: " +
                   fix);
    return false;
  }
  std::vector<std::string> problems;
  std::vector<std::string> commands;
  if (!owner_ok) {
    problems.push_back("is not owned by " + book_.owner_requirement());
    commands.push_back("chown " + names.user_arg(id.euid) + " " + end.resolved);
  }
  if (writable) {
    problems.push_back("is writable by group or others");
    commands.push_back("chmod go-w " + end.resolved);
  }
  // Another user's library that others may read is someone's shared file, like a system one.
  const bool shared = posix::is_system_path(s.path) || posix::is_system_path(end.resolved) ||
                      (st.st_uid != id.euid && (st.st_mode & 0055) != 0);
  std::string fix;
  const std::string clause = fix_clause(shared, s, joined(commands, " && "), fix);
  const std::string problem = joined(problems, " and ");
  book_.fail(name, detail + ": " + problem, fix, what + " (" + found + ") " + problem + clause);
  return false;
}

// A library's own search folders and path names, as ld.so loads them; each file once. A file
// that is not ELF (or a script) ld.so refuses to load, so nothing more runs from it.
void ExecutableChecker::follow_library(int fd, const Subject& s, const std::string& resolved,
                                       const std::string& origin) {
  if (!libraries_read_.emplace(resolved, origin).second) return;
  if (libraries_read_.size() > kMaxLibraries) {
    const std::string fix = "link " + options_.path + " against fewer libraries by path";
    book_.fail(posix::library_word(s.tag) + (" " + s.path), "more than " + std::to_string(kMaxLibraries) + " files named by path",
               fix, "more than " + std::to_string(kMaxLibraries) + " libraries named by path load with " + options_.path +
                        ", at " + s.context + ": " + fix);
    return;
  }
  auto format = posix::read_exec_format(fd);
  if (!format && format.error().message.rfind("its #!", 0) == 0) return;  // a script: ld.so refuses it
  if (!format) {
    const std::string fix = "replace it with a valid library or " + book_.correct_setting(s);
    book_.fail("ELF header of " + s.path, format.error().message, fix,
               s.path + " (" + s.context + ") cannot be checked: " + format.error().message + ": " + fix,
               format.error().os_error);
    return;
  }
  if (format->kind == posix::ExecKind::elf) follow_libraries(format->elf, s.path, origin);
}

// Walks an interpreter or loader and applies the file rule; returns it open for reading
// (`need_read`) when it can be followed further.
std::optional<Program> ExecutableChecker::check_program(const Subject& s, bool need_read) {
  const std::string label = s.role == Role::loader ? "loader " : "interpreter ";
  const std::string name = label + s.path;
  Walk walk = walk_to(name, s);
  if (walk.state != WalkState::found) return std::nullopt;
  OpenedFile file;
  if (need_read && S_ISREG(walk.end.st.st_mode) && !walk.end.checked_as_folder) file = posix::open_for_reading(walk.end);
  if (file.replaced) {
    book_.fail(name, "replaced while being checked", "retry",
               s.context + " was replaced while being checked: retry, and find out who is changing it");
    return std::nullopt;
  }
  const struct stat st = file.fd.valid() ? file.st : walk.end.st;
  rule_program_file(s, walk.end.resolved, st);
  if (!need_read || !S_ISREG(st.st_mode) || book_.done()) return std::nullopt;
  if (!file.fd.valid()) {
    const std::string fix = "make it readable or " + book_.correct_setting(s);
    book_.fail("format of " + s.path, "cannot be read: " + errno_text(file.error), fix,
               s.context + " cannot be read to see what it runs (" + errno_text(file.error) + "): " + fix, file.error);
    return std::nullopt;
  }
  return Program{std::move(file.fd), walk.end.resolved};
}

// An interpreter or loader: a regular file without setuid/setgid, owned by root or the
// effective user, not writable by group or others (read and execute for all are fine), and
// executable by the effective user.
void ExecutableChecker::rule_program_file(const Subject& s, const std::string& resolved, const struct stat& st) {
  const posix::Identity& id = book_.identity();
  posix::Names& names = book_.names();
  const std::string name = (s.role == Role::loader ? "loader " : "interpreter ") + s.path;
  const std::string link = resolved != s.path ? " -> " + resolved : std::string();
  const std::string what = (s.role == Role::loader ? "loader " : "interpreter ") + s.path + link + " of " + s.named_by;
  if (!S_ISREG(st.st_mode)) {
    const std::string fix = book_.correct_setting(s);
    book_.fail(name, resolved + " is " + posix::type_text(st.st_mode), fix,
               what + " is " + posix::type_text(st.st_mode) + ", not a regular file: " + fix);
    return;
  }
  const unsigned mode = static_cast<unsigned>(st.st_mode);
  const bool owner_ok = st.st_uid == 0 || st.st_uid == id.euid;
  const bool setid = (mode & (S_ISUID | S_ISGID)) != 0;
  const bool writable = (mode & (S_IWGRP | S_IWOTH)) != 0;
  const unsigned x_bit = id.euid == 0 || st.st_uid == id.euid ? (id.euid == 0 ? 0111u : 0100u)
                         : id.in_groups(st.st_gid)            ? 010u
                                                              : 01u;
  const bool executable = (mode & x_bit) != 0;
  const bool ok = owner_ok && !setid && !writable && executable;
  if (ok && !book_.verbose()) return;
  const std::string found = "mode " + posix::mode_text(st.st_mode) + ", owner " + names.user_text(st.st_uid);
  if (ok) {
    book_.add(name, true, (link.empty() ? "" : "-> " + resolved + ", ") + found, "", "");
    return;
  }
  std::vector<std::string> problems;
  std::vector<std::string> commands;
  if (setid) {
    problems.push_back("has the setuid or setgid bit");
    commands.push_back("chmod ug-s " + resolved);
  }
  if (!owner_ok) {
    problems.push_back("is not owned by " + book_.owner_requirement());
    commands.push_back("chown " + names.user_arg(id.euid) + " " + resolved);
  }
  if (writable) {
    problems.push_back("is writable by group or others");
    commands.push_back("chmod go-w " + resolved);
  }
  if (!executable) {
    problems.push_back("is not executable by " + names.user_text(id.euid));
    commands.push_back(std::string("chmod ") + (x_bit == 01u ? "o+x " : x_bit == 010u ? "g+x " : "u+x ") + resolved);
  }
  std::string problem;
  for (std::size_t i = 0; i < problems.size(); ++i) problem += (i == 0 ? "" : " and ") + problems[i];
  std::string command;
  for (std::size_t i = 0; i < commands.size(); ++i) command += (i == 0 ? "" : " && ") + commands[i];
  std::string fix;
  const std::string clause = fix_clause(shared_file(s.path, resolved, st), s, command, fix);
  book_.fail(name, (link.empty() ? "" : "-> " + resolved + ", ") + found + ": " + problem, fix,
             what + " (" + found + ") " + problem + clause);
}

}  // namespace

Result<VerifiedExecutable> platform::check_executable(const CheckOptions& options, ExecutableReport* report) {
  ExecutableReport local;
  ExecutableReport& out = report != nullptr ? *report : local;
  out = ExecutableReport{};
  return ExecutableChecker(options, out, report != nullptr).run();
}

}  // namespace sts
