// File: log.h
//
// The library's internal logging entry points. Everything goes through the "stsecrets" spdlog
// logger whose sinks are wrapped by the redacting sink (log.cpp), so callers may pass any text;
// the sink scrubs known values. Public control is in stsecrets/logging.h.
//
// Thread-safety: safe from any thread.
#pragma once

#include <string_view>

namespace sts::log {

void trace(std::string_view line);
void debug(std::string_view line);
void info(std::string_view line);
void warn(std::string_view line);
void error(std::string_view line);

}  // namespace sts::log
