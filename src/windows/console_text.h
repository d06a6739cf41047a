// File: console_text.h
//
// How text for a Windows console is cut for WriteConsoleW (host_windows.cpp): in pieces small
// enough for every console host, never between the two halves of a surrogate pair (which would
// print two replacement characters instead of one character).
//
//   for (std::wstring_view rest = wide; !rest.empty(); rest.remove_prefix(n))
//     n = console_piece_length(rest), ::WriteConsoleW(h, rest.data(), n, ...);
//
// Thread-safety: pure function.
#pragma once

#if !defined(_WIN32)
#error "console_text.h is for Windows; CMake should have picked src/posix"
#endif

#include <cstddef>
#include <string_view>

namespace sts::win {

// Characters per WriteConsoleW call: older console hosts refuse writes past a 64 KiB buffer.
inline constexpr std::size_t kConsolePieceChars = 8192;

// The length of the next piece of `rest` (at least 1 when rest is not empty).
constexpr std::size_t console_piece_length(std::wstring_view rest, std::size_t max = kConsolePieceChars) noexcept {
  if (rest.size() <= max) return rest.size();
  std::size_t n = max;
  const wchar_t last = rest[n - 1];
  if (n > 1 && last >= 0xD800 && last <= 0xDBFF) --n;  // a high surrogate: keep its pair together
  return n;
}

}  // namespace sts::win
