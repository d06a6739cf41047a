// User and group names (user_names.h) through the reentrant account-database calls, growing
// the buffer on ERANGE (large groups do not fit the sysconf hint).
#if defined(_WIN32)
#error "user_names_posix.cpp is for POSIX; CMake should have picked src/windows"
#endif

#include "posix/user_names.h"

#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace sts::posix {
namespace {

std::size_t initial_size(int name) {
  const long hint = ::sysconf(name);
  return hint > 0 ? static_cast<std::size_t>(hint) : 16384;
}

}  // namespace

std::optional<std::string> user_name(uid_t uid) {
  std::size_t size = initial_size(_SC_GETPW_R_SIZE_MAX);
  for (int attempt = 0; attempt < 5; ++attempt, size *= 4) {
    std::vector<char> buf(size);
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr || pw.pw_name == nullptr) return std::nullopt;
    return std::string(pw.pw_name);
  }
  return std::nullopt;
}

std::optional<std::string> group_name(gid_t gid) {
  std::size_t size = initial_size(_SC_GETGR_R_SIZE_MAX);
  for (int attempt = 0; attempt < 5; ++attempt, size *= 4) {
    std::vector<char> buf(size);
    group gr{};
    group* found = nullptr;
    const int rc = ::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE) continue;
    if (rc != 0 || found == nullptr || gr.gr_name == nullptr) return std::nullopt;
    return std::string(gr.gr_name);
  }
  return std::nullopt;
}

}  // namespace sts::posix
