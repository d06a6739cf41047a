// File: user_names.h
//
// User and group names for messages and fixes (POSIX): "root", else "uid 54321" when the
// account database has no entry; the *_arg forms are what chown/chgrp accept (the name, else
// the number).
//
//   std::string fix = "chown " + user_arg(::geteuid()) + " " + path;
//
// secret_document_posix.cpp uses these; executable_check_posix.cpp keeps its own cached copy
// (it looks names up many times per check) and could move onto this header.
//
// Thread-safety: getpwuid_r / getgrgid_r; safe from any thread.
#pragma once

#if defined(_WIN32)
#error "user_names.h is for POSIX; CMake should have picked src/windows"
#endif

#include <optional>
#include <string>
#include <sys/types.h>

namespace sts::posix {

std::optional<std::string> user_name(uid_t uid);
std::optional<std::string> group_name(gid_t gid);

// "root" or "uid 54321".
inline std::string user_text(uid_t uid) {
  auto n = user_name(uid);
  return n ? *n : "uid " + std::to_string(uid);
}
inline std::string group_text(gid_t gid) {
  auto n = group_name(gid);
  return n ? *n : "gid " + std::to_string(gid);
}
// What chown / chgrp accept.
inline std::string user_arg(uid_t uid) {
  auto n = user_name(uid);
  return n ? *n : std::to_string(uid);
}

}  // namespace sts::posix
