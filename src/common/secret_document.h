// File: secret_document.h
//
// The platform hooks behind the built-in providers (SPEC 8): reading the one document of a
// file.json / file.yaml backend with its owner and mode rules, and the rules of a file-per-handle
// provider's root folder, for `stsecrets check`. Implemented in
// src/posix/secret_document_posix.cpp and src/windows/secret_document_windows.cpp.
//
//   ExecutableReport facts;   // optional: owner, group, mode (or ACL) and each rule, for check
//   Result<SecureBuffer> doc = platform::read_secret_document("/etc/stackstate-agent/secrets.json",
//                                                             kMaxSecretDocumentBytes, &facts);
//
// The document (POSIX):
//   - is opened once, following symlinks (Kubernetes mounts secrets through links), with
//     O_NONBLOCK | O_NOCTTY, so a FIFO or a device never blocks the caller; every rule below is
//     judged on that descriptor (fstat), so the file checked is the file read;
//   - must be a regular file;
//   - must be owned by the effective user or by root: whoever owns it can rewrite it and so
//     choose the secrets the agent sends;
//   - must give group and others no rights at all (not readable: it holds secrets; not
//     writable: see owner);
//   - is at most max_bytes, read through the descriptor straight into a SecureBuffer (locked
//     memory); no other copy is made.
// Windows: the same on one handle opened without write or delete sharing: a disk file; owner
// SYSTEM, Administrators or the current user; no NULL DACL; allow entries only for those three
// (the rule SPEC 5 sets for the executable, without the execute right); unknown entry types are
// refused.
//
// The root folder of file / docker.secrets / systemd.credentials (check only; the reads
// themselves go through platform::read_beneath): it exists and is a folder; it is owned by root
// or the effective user; group and others cannot write it unless the sticky bit is set (like
// the ancestor rule of SPEC 5: whoever can add a file there chooses a secret). Windows: the
// folder rules of SPEC 5 (acl_rules.h).
//
// Document errors: Code::config_unreadable (missing, unreadable, not a regular file, too large:
// fix the path or the file), Code::config_insecure (owner, mode or ACL: the message carries the
// chown/chmod or icacls fix). Messages name the path (quoted), never the bytes.
//
// Thread-safety: safe from any thread.
#pragma once

#include "stsecrets/check.h"
#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <cstddef>
#include <string>

namespace sts {

// The largest secrets document read (file.json, file.yaml).
constexpr std::size_t kMaxSecretDocumentBytes = 1024 * 1024;

}  // namespace sts

namespace sts::platform {

// Reads the document under the rules above. `report`, when given, receives path, owner,
// group and mode (POSIX) or owner and ACL lines (Windows), and one CheckRule per rule judged
// ("regular file", "owner", "permissions", "size"); its `error` is left to the caller.
Result<SecureBuffer> read_secret_document(const std::string& path, std::size_t max_bytes,
                                          ExecutableReport* report = nullptr);

// Adds the root folder's rules ("root folder exists", "root folder owner", "root folder
// permissions") and facts (owner, group, mode / ACL) to `report`, and sets report.error to the
// first failure (Code::config_invalid when it is missing or not a folder: the setting points at
// nothing usable; Code::config_insecure for owner and mode).
void inspect_secret_folder(const std::string& path, ExecutableReport& report);

}  // namespace sts::platform
