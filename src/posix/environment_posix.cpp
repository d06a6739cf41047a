// sts::current_environment() on POSIX (stsecrets/config.h): a snapshot of environ.
#if defined(_WIN32)
#error "environment_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "stsecrets/config.h"

extern char** environ;  // POSIX

namespace sts {

Environment current_environment() {
  Environment env;
  if (environ == nullptr) return env;
  for (char** p = environ; *p != nullptr; ++p) {
    const std::string_view entry(*p);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));  // first wins, like getenv
  }
  return env;
}

}  // namespace sts
