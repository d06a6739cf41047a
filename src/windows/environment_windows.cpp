// sts::current_environment() on Windows (stsecrets/config.h): GetEnvironmentStringsW, as UTF-8.
// The "=C:=C:\dir" entries (per-drive current directories) are not variables and are skipped.
#if !defined(_WIN32)
#error "environment_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "stsecrets/config.h"

#include "windows/wide_string.h"

#include <windows.h>

#include <cwchar>

namespace sts {

Environment current_environment() {
  Environment env;
  wchar_t* block = ::GetEnvironmentStringsW();
  if (block == nullptr) return env;
  for (const wchar_t* p = block; *p != L'\0'; p += std::wcslen(p) + 1) {
    const std::wstring_view entry(p);
    const std::size_t eq = entry.find(L'=', 1);
    if (entry.front() == L'=' || eq == std::wstring_view::npos) continue;
    env.emplace(win::to_utf8(entry.substr(0, eq)), win::to_utf8(entry.substr(eq + 1)));
  }
  ::FreeEnvironmentStringsW(block);
  return env;
}

}  // namespace sts
