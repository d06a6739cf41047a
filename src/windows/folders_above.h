// File: folders_above.h
//
// The folder rules of acl_rules.h on every folder above a path, the one home of that walk: the
// backend and the config file (executable_check_windows.cpp) and the audit log's folder
// (file_io_windows.cpp) use it.
//
//   for (auto& v : folders_above_verdicts(path, held, "the backend")) merge(std::move(v));
//   for (auto& v : folders_above_verdicts(log_dir, dir_handle, "the audit log", ObjectKind::ancestor)) ...
//
// The folders are those of the path as given and, when links or junctions lead elsewhere, those
// above its real path (GetFinalPathNameByHandleW of `held`): both can be used to swap what lies
// below. Each is checked once, nearest first; a folder whose permissions cannot be read fails,
// and so does a real path that cannot be read ("cannot read the real path of ...").
// Thread-safety: no shared state.
#pragma once

#if !defined(_WIN32)
#error "folders_above.h is for Windows; CMake should have picked src/posix"
#endif

#include "windows/acl_rules.h"

#include <windows.h>

#include <string>
#include <string_view>
#include <vector>

namespace sts::win {

// `path`: an absolute path ("C:\a\b\x.exe", "\\srv\share\x", either also with "\\?\"); the
// walk ends at the drive root or at the share, and a path of neither form (pass a full path) has
// no folders. `held`: an open handle to it, for its real path (may be invalid: then only the
// given path is walked). `guarded`: what the folders' rights would let others replace, for the
// message. `nearest`: the rule for the folder that holds `path` (ObjectKind::folder;
// ObjectKind::ancestor when `path` is itself a folder whose own rules are checked elsewhere, as
// the audit log's); the folders further up get ObjectKind::ancestor.
std::vector<AclVerdict> folders_above_verdicts(const std::string& path, HANDLE held, std::string_view guarded,
                                               ObjectKind nearest = ObjectKind::folder);

}  // namespace sts::win
