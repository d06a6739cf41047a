// File: file_io.h
//
// The platform hooks for files the library reads and writes (file_io_{posix,windows}.cpp).
// Each job has its own rules:
//
//   read_file          a non-secret file (configs, documents): capped, never blocks on a FIFO
//   read_beneath       a secret file beneath a root folder (SPEC 7): race-free, never leaves root
//   write_file_atomic  an output file (SPEC 6): owner-only, temp + rename, never through a link
//   append_audit_line  the audit log (SPEC 6): strict owner/mode rules, rotation past max_size
//
// Thread-safety: safe from any thread.
#pragma once

#include "stsecrets/error.h"
#include "stsecrets/secure_buffer.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace sts::platform {

// Reads a whole regular file of at most max_bytes. A FIFO, device or folder is refused without
// blocking. Errors: Code::config_unreadable (missing, unreadable, not a regular file, too
// large), each message naming the path (escaped) and the OS reason.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes);

// Reads root/relative (at most max_bytes) into secure memory, opening it beneath root without
// ever following a symlink out of it, race-free, refusing what is not a regular file without
// blocking, and reading through that descriptor. `relative` is a handle: the caller has
// refused empty names and NUL bytes.
// Errors: Code::handle_missing (no such file), Code::handle_backend_error (leaves root, not a
// regular file, too large, unreadable). Messages name root and relative (escaped), never bytes.
Result<SecureBuffer> read_beneath(const std::string& root, std::string_view relative, std::size_t max_bytes);

// Writes bytes to a temporary file beside path (owner-only: 0600 / an owner-only DACL), flushes
// it, and renames it over path. A destination that is a symlink (or reparse point) or exists and
// is not a regular file is refused: Code::usage. I/O failures: Code::io_failed.
// POSIX: with `private_folder`, the folder as opened for the write must pass the --output-dir
// rules (output_dir_rules, written_folder.h), else Code::usage.
Status write_file_atomic(const std::string& path, std::string_view bytes, bool private_folder = false);

// Appends one record (a whole line) to the audit log. SPEC 6: created owner-only; an existing
// file must be a regular file with one link, owned by the effective user, mode 0600 exactly
// (Windows: owner-only DACL), opened without following a symlink and without blocking.
// Violations: Code::config_insecure with the fix. I/O failures: Code::io_failed. When the
// file would grow past max_size bytes it is first rotated to path + ".1" (one generation),
// under a lock shared with other processes, so concurrent appenders never interleave or lose
// a record. max_size 0 disables rotation.
Status append_audit_line(const std::string& path, std::string_view line, std::uint64_t max_size);

}  // namespace sts::platform
