// File: written_folder.h
//
// The folder something is written into (an output file's folder, --output-dir, the audit log's
// folder), reached safely on POSIX (SPEC 6, review finding F3): walked from "/" one name at a
// time by path_rules.h's walk, a symbolic link followed only as the kernel's protected_symlinks
// rule allows (in a sticky folder: owned by the effective user, root or the folder's owner),
// whatever the sysctl says, so a link another user planted in /tmp redirects nothing. The
// caller then works relative to the descriptor, so what was checked is what is written.
//
//   auto w = platform::walk_written_folder(dir, posix::Role::output_folder,
//                                          "the folder of the output file " + path, Code::usage);
//   if (!w) return w.error();
//   if (w->state == posix::WalkState::found) { UniqueFd fd = platform::open_walked_folder(*w); ... }
//
// Implemented in file_io_posix.cpp. Thread-safety: none needed (no shared state); a relative
// path is taken relative to the working folder at the time of the call.
#pragma once

#if defined(_WIN32)
#error "written_folder.h is for POSIX"
#endif

#include "posix/path_rules.h"
#include "posix/unique_fd.h"
#include "stsecrets/check.h"
#include "stsecrets/error.h"

#include <string>
#include <sys/stat.h>
#include <vector>

namespace sts::platform {

// Walks `dir` (absolute, or relative to the working folder). found or missing; a link the rule
// refuses is `refused` (the rule's message, with `context` and the fix), a folder that cannot be
// walked (no search permission, too many links) Code::io_failed.
Result<posix::Walk> walk_written_folder(const std::string& dir, posix::Role role, const std::string& context,
                                        Code refused);

// The found end of such a walk opened O_RDONLY | O_DIRECTORY (through its O_PATH descriptor:
// no second lookup by name); invalid with errno set when it is not a folder or cannot be opened.
posix::UniqueFd open_walked_folder(const posix::Walk& walk);

// An existing --output-dir `path` with status `st` (SPEC 6, review finding F3), as data: owned
// by root or the effective user, not writable by group or others (sticky or not).
std::vector<CheckRule> output_dir_rules(const struct stat& st, const std::string& path);

}  // namespace sts::platform
