// File: fuzz_support.h
//
// Small helpers shared by the fuzz targets: the one-line rule every error message must keep, and
// the NAME=VALUE line format the config and handle targets use to fuzz environment variables.
#pragma once

#include "stsecrets/config.h"

#include <string>
#include <string_view>

namespace sts::fuzz {

// True when text holds a raw control character (U+0000-U+001F, U+007F): such a message could
// span lines or forge a log line.
inline bool has_control(std::string_view text) {
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// NAME=VALUE lines (one per '\n'; lines without '=' or with an empty name are skipped).
inline Environment parse_env_lines(std::string_view text) {
  Environment env;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    const auto eq = line.find('=');
    if (eq != std::string_view::npos && eq > 0) env.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    start = end + 1;
  }
  return env;
}

}  // namespace sts::fuzz
