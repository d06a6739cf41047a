// platform::read_secret_document and platform::inspect_secret_folder on POSIX
// (secret_document.h): one descriptor, opened without blocking, judged by fstat, read into
// locked memory.
#if defined(_WIN32)
#error "secret_document_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "common/secret_document.h"

#include "common/text.h"
#include "posix/unique_fd.h"
#include "posix/user_names.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sts::platform {
namespace {

std::string mode_text(mode_t mode) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return std::string(buf.data());
}

std::string kind_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Collects rules; the first failure becomes the error.
class Rules {
 public:
  explicit Rules(ExecutableReport* report) : report_(report) {}

  void add(const char* name, bool ok, std::string detail, std::string fix, Code code, std::string message) {
    if (report_ != nullptr) {
      report_->rules.push_back(CheckRule{name, ok, std::move(detail), ok ? std::string() : fix});
    }
    if (!ok && !error_) error_ = make_error(code, std::move(message));
  }
  const std::optional<Error>& error() const { return error_; }
  // Texts of a rule that passed are only for the report: without one, the success path builds
  // none (user and group names cost a getpwuid_r each, which reads /etc/passwd through NSS).
  bool reporting() const { return report_ != nullptr; }

 private:
  ExecutableReport* report_;
  std::optional<Error> error_;
};

void record_facts(ExecutableReport* report, const std::string& path, const struct stat& st) {
  if (report == nullptr) return;
  report->path = path;
  report->owner = posix::user_text(st.st_uid);
  report->group = posix::group_text(st.st_gid);
  report->mode = mode_text(st.st_mode);
}

bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

std::string owner_wanted() {
  const uid_t euid = ::geteuid();
  return euid == 0 ? std::string("root") : "root or " + posix::user_text(euid) + " (the effective user)";
}

// The document's rules, judged on the opened file's fstat.
void judge_document(const std::string& shown, const struct stat& st, std::size_t max_bytes, Rules& rules) {
  const bool regular = S_ISREG(st.st_mode);
  rules.add("regular file", regular, regular ? "regular file" : kind_text(st.st_mode),
            "point path at the document itself", Code::config_unreadable,
            "secrets document " + shown + " is " + kind_text(st.st_mode) +
                ", not a regular file: point path at the document itself");
  if (!regular) return;

  if (const bool owner_ok = trusted_owner(st.st_uid); !owner_ok || rules.reporting()) {
    const std::string chown_fix = "chown " + posix::user_arg(::geteuid()) + " " + shown;
    rules.add("owner", owner_ok, posix::user_text(st.st_uid), chown_fix, Code::config_insecure,
              "secrets document " + shown + " is owned by " + posix::user_text(st.st_uid) + ", not by " +
                  owner_wanted() + ", and its owner chooses the secrets: run " + chown_fix);
  }

  const bool private_mode = (st.st_mode & 077) == 0;
  const std::string chmod_fix = "chmod 600 " + shown;
  rules.add("permissions", private_mode,
            "mode " + mode_text(st.st_mode) + (private_mode ? "" : ": group or others have rights"), chmod_fix,
            Code::config_insecure,
            "group and others have rights on secrets document " + shown + " (mode " + mode_text(st.st_mode) +
                "), which holds secrets: run " + chmod_fix);

  const auto size = static_cast<std::uint64_t>(st.st_size);
  rules.add("size", size <= max_bytes, std::to_string(size) + " bytes", "keep only secrets in the document",
            Code::config_unreadable,
            "secrets document " + shown + " is larger than " + std::to_string(max_bytes) +
                " bytes: keep only secrets in it");
}

Result<SecureBuffer> read_all(int fd, const std::string& shown, std::size_t size_hint, std::size_t max_bytes) {
  // The bytes are secrets: they go straight into the locked arena, reserved once from the size
  // fstat gave (plus one byte, to notice a file that grew past the cap since).
  SecureBuffer out;
  out.reserve(std::min(size_hint, max_bytes) + 1);
  for (;;) {
    if (out.spare_size() == 0) {
      if (out.size() > max_bytes) break;
      out.reserve(std::min(out.size() * 2, max_bytes + 1));
    }
    const ssize_t n = ::read(fd, out.spare(), out.spare_size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return make_error(Code::config_unreadable, "cannot read secrets document " + shown + ": " + errno_text(err), err);
    }
    if (n == 0) break;
    out.commit(static_cast<std::size_t>(n));
  }
  if (out.size() > max_bytes) {
    return make_error(Code::config_unreadable, "secrets document " + shown + " is larger than " +
                                                   std::to_string(max_bytes) + " bytes: keep only secrets in it");
  }
  return out;
}

}  // namespace

Result<SecureBuffer> read_secret_document(const std::string& path, std::size_t max_bytes, ExecutableReport* report) {
  const std::string shown = quote_text(path, 512);
  if (report != nullptr) report->path = path;
  Rules rules(report);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      rules.add("exists", false, "does not exist", "create it: install -m 600 /dev/null " + shown + ", then fill it",
                Code::config_unreadable,
                "secrets document " + shown + " does not exist: create it owner-only (install -m 600 /dev/null " +
                    shown + ", then fill it) or fix the path");
    } else {
      rules.add("readable", false, errno_text(err), "make it readable by " + posix::user_text(::geteuid()),
                Code::config_unreadable, "cannot open secrets document " + shown + ": " + errno_text(err));
    }
    Error e = *rules.error();
    e.os_error = err;
    return e;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return make_error(Code::config_unreadable, "cannot inspect secrets document " + shown + ": " + errno_text(err), err);
  }
  record_facts(report, path, st);
  judge_document(shown, st, max_bytes, rules);
  if (rules.error()) return *rules.error();
  // Checked: now read it, blocking reads again (a regular file never waits long).
  if (const int flags = ::fcntl(fd.get(), F_GETFL); flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return read_all(fd.get(), shown, static_cast<std::size_t>(st.st_size), max_bytes);
}

void inspect_secret_folder(const std::string& path, ExecutableReport& report) {
  const std::string shown = quote_text(path, 512);
  report.path = path;
  auto add = [&report](const char* name, bool ok, std::string detail, std::string fix, Code code, std::string message) {
    report.rules.push_back(CheckRule{name, ok, std::move(detail), ok ? std::string() : fix});
    if (!ok && !report.error) report.error = make_error(code, std::move(message));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string fix = "mkdir -m 700 " + shown;
    add("root folder exists", false, errno_text(err), fix, Code::config_invalid,
        err == ENOENT ? "root folder " + shown + " does not exist: create it (" + fix + ") or fix root"
                      : "cannot inspect root folder " + shown + ": " + errno_text(err));
    return;
  }
  report.owner = posix::user_text(st.st_uid);
  report.group = posix::group_text(st.st_gid);
  report.mode = mode_text(st.st_mode);
  if (!S_ISDIR(st.st_mode)) {
    add("root folder exists", false, kind_text(st.st_mode), "point root at a folder", Code::config_invalid,
        "root folder " + shown + " is " + kind_text(st.st_mode) +
            ", not a folder: point root at the folder holding one file per handle");
    return;
  }
  add("root folder exists", true, "folder", "", Code::config_unreadable, "");
  const std::string chown_fix = "chown " + posix::user_arg(::geteuid()) + " " + shown;
  add("root folder owner", trusted_owner(st.st_uid), posix::user_text(st.st_uid), chown_fix, Code::config_insecure,
      "root folder " + shown + " is owned by " + posix::user_text(st.st_uid) + ", not by " + owner_wanted() +
          ", and its owner chooses the secrets: run " + chown_fix);
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  const bool writable = (st.st_mode & 022) != 0;
  const std::string chmod_fix = "chmod go-w " + shown;
  add("root folder permissions", !writable || sticky,
      "mode " + mode_text(st.st_mode) + (writable ? (sticky ? ": writable by others, sticky" : ": writable by group or others") : ""),
      chmod_fix, Code::config_insecure,
      "group or others can write root folder " + shown + " (mode " + mode_text(st.st_mode) +
          ") and so add a secret the agent would use: run " + chmod_fix);
}

}  // namespace sts::platform
