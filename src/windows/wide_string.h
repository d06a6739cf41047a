// File: wide_string.h
//
// UTF-8 <-> UTF-16 at the Win32 boundary. The library speaks UTF-8 everywhere (paths in the
// config, messages); only the calls into Win32 use wide strings.
//
//   ::CreateFileW(to_wide(path).c_str(), ...);
//   std::string msg = "cannot open " + to_utf8(final_path);
//
// Invalid input is converted with replacement characters, never an exception.
// Thread-safety: pure functions.
#pragma once

#if !defined(_WIN32)
#error "wide_string.h is for Windows; CMake should have picked src/posix"
#endif

#include <string>
#include <string_view>

namespace sts::win {

std::wstring to_wide(std::string_view utf8);
std::string to_utf8(std::wstring_view wide);
// "The system cannot find the file specified." for an error number, without the trailing
// line break; "error N" when the system has no text.
std::string system_message(unsigned long error);

}  // namespace sts::win
