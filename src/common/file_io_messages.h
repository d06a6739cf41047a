// File: file_io_messages.h
//
// The messages of platform::read_beneath (file_io.h), written once for both platforms: the
// platform files find the facts (no such file, leaves the root, a FIFO, ...) and call these.
//
//   const BeneathErrors fail(root, handle, '/');
//   if (fd < 0) return fail.missing(ENOENT);
//   // secret "db/pass": no file /etc/secrets/db/pass
//
// Every message is one line, `secret "HANDLE": ...`, naming the root and the joined path. The
// handle is escaped and capped (it may come from a protocol request), the root escaped; no
// message ever carries file bytes.
//
// Thread-safety: plain values.
#pragma once

#include "common/text.h"
#include "stsecrets/error.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace sts {

class BeneathErrors {
 public:
  // separator: what joins root and handle in messages ('/' on POSIX, '\\' on Windows).
  BeneathErrors(std::string_view root, std::string_view handle, char separator)
      : prefix_("secret \"" + quote_text(handle, kMaxBackendTextBytes) + "\": "),
        root_(escape_controls(trim_separator(root, separator))),
        path_(root_ + separator + capped(handle)) {}

  const std::string& root() const { return root_; }
  const std::string& path() const { return path_; }

  // A rule on the name itself (absolute, "..", a device name, ...); `problem` says which.
  Error bad_name(const std::string& problem) const { return fail(Code::handle_backend_error, problem); }
  Error root_unusable(const std::string& reason, int err) const {
    return fail(Code::handle_backend_error, "the secrets folder " + root_ + " is not usable: " + reason, err);
  }
  Error missing(int err) const { return fail(Code::handle_missing, "no file " + path_, err); }
  Error not_a_folder_on_the_way(int err) const {
    return fail(Code::handle_missing, "no file " + path_ + " (a part of the name is not a folder)", err);
  }
  Error is_directory(int err = 0) const {
    return fail(Code::handle_backend_error, path_ + " is a directory, not a file", err);
  }
  Error leaves_root(int err) const {
    return fail(Code::handle_backend_error, path_ + " leads outside " + root_ +
                                                " (a symbolic link that is absolute or climbs out); secrets must be "
                                                "files under " + root_,
                err);
  }
  Error too_many_links(int err) const {
    return fail(Code::handle_backend_error, path_ + " has too many symbolic links, or a link through /proc", err);
  }
  Error kept_changing(int err) const {
    return fail(Code::handle_backend_error, root_ + " kept changing while " + path_ + " was opened; try again", err);
  }
  // Windows: a symbolic link, junction or other reparse point at `at` (a path under the root).
  Error reparse_point(std::string_view at) const {
    return fail(Code::handle_backend_error, path_ + " passes through a reparse point (a symbolic link or junction) at " +
                                                escape_controls(at) + "; secrets must be plain files under " + root_);
  }
  // kind: "a FIFO", "a character device", ...
  Error not_regular(std::string_view kind) const {
    return fail(Code::handle_backend_error, path_ + " is " + std::string(kind) + ", not a regular file");
  }
  Error too_large(std::size_t max_bytes) const {
    return fail(Code::handle_backend_error, path_ + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  // "cannot open PATH: Permission denied"; verb: open, read, inspect.
  Error cannot(std::string_view verb, const std::string& reason, int err) const {
    return fail(Code::handle_backend_error, "cannot " + std::string(verb) + " " + path_ + ": " + reason, err);
  }

 private:
  // The handle inside a path: controls escaped, but a backslash stays one (a Windows separator).
  static std::string capped(std::string_view handle) {
    if (handle.size() <= kMaxBackendTextBytes) return escape_controls(handle);
    return escape_controls(handle.substr(0, kMaxBackendTextBytes)) + "...";
  }
  static std::string trim_separator(std::string_view root, char separator) {
    if (root.size() > 1 && root.back() == separator) root.remove_suffix(1);
    return std::string(root);
  }
  Error fail(Code code, const std::string& what, int err = 0) const { return make_error(code, prefix_ + what, err); }

  std::string prefix_;
  std::string root_;
  std::string path_;
};

}  // namespace sts
