// File: stsecrets/logging.h
//
// The library logs through one spdlog logger named "stsecrets". Every sink behind it is wrapped
// by a redacting sink: every known secret value of 4 bytes or more becomes "********" before
// any sink sees the line (SPEC 6). Hosts choose the level and where lines go.
//
//   sts::set_log_level(sts::LogLevel::info);
//   sts::set_log_callback([](sts::LogLevel, std::string_view line) { my_log(line); });
//
// Thread-safety: all functions are safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sts {

enum class LogLevel { trace, debug, info, warn, error, off };

// "trace", "debug", "info", "warn", "error", "off"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;
void set_log_level(LogLevel level);
// Lines go to stderr by default. A callback replaces that; it receives already-redacted text.
// An empty function restores stderr.
void set_log_callback(std::function<void(LogLevel, std::string_view)> callback);

// Control characters (and DEL) as visible escapes (\n, \r, \t, \xNN), so text from a backend or
// a config can never start what looks like a new log or error line. The log sink applies it.
std::string escape_controls(std::string_view text);

// Replaces every known secret value (>= 4 bytes) in text with "********". The same scrubber the
// log sink uses; apply it to any text that leaves the library on another path.
std::string redact(std::string_view text);

}  // namespace sts
