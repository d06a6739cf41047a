// File: private_file.h
//
// Files only the owner can read (SPEC 6 "Output files" and the audit log): created 0600 on
// POSIX (an owner-only DACL on Windows), whatever the umask.
// private_file_posix.cpp / private_file_windows.cpp implement it.
//
// Thread-safety: safe from any thread; appends are single write() calls with O_APPEND.
#pragma once

#include "stsecrets/error.h"

#include <string>
#include <string_view>

namespace sts::platform {

// Appends bytes to path, creating it owner-only. An existing file keeps its mode but a file
// that group or others can read is refused (Code::config_invalid with the chmod fix).
Status append_private(const std::string& path, std::string_view bytes);
// Writes bytes to a temporary file beside path (owner-only), fsyncs, and renames it over path.
Status write_private_atomic(const std::string& path, std::string_view bytes);

}  // namespace sts::platform
