// The library's logger (logging.h, log.h): one spdlog logger "stsecrets" whose only sink is a
// redacting sink. The redacting sink scrubs every payload (redaction::scrub), turns control
// characters into escapes so a payload can never forge a second log line, and then writes the
// formatted line to stderr (write_stderr) or hands the payload to the host's callback.
//
// The logger is deliberately not put into spdlog's global registry: a host that uses spdlog
// itself keeps full control of its own registry, levels and names.
//
// Locking: the sink's mutex is held while scrubbing (registry lock, then each cache lock) and
// while the callback runs. A callback must therefore not log through this library.
#include "common/log.h"

#include "common/redaction.h"
#include "stsecrets/host.h"
#include "stsecrets/logging.h"
#include "stsecrets/secure_buffer.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/pattern_formatter.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace sts {
namespace {

constexpr const char* kPattern = "[%Y-%m-%dT%H:%M:%S.%e] stsecrets %l: %v";

LogLevel to_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return LogLevel::trace;
    case spdlog::level::debug: return LogLevel::debug;
    case spdlog::level::info: return LogLevel::info;
    case spdlog::level::warn: return LogLevel::warn;
    case spdlog::level::err:
    case spdlog::level::critical: return LogLevel::error;
    default: return LogLevel::off;
  }
}

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
    case LogLevel::off: return spdlog::level::off;
  }
  return spdlog::level::off;
}


// The line ending is "\n" on every platform (spdlog's default, SPDLOG_EOL, is "\r\n" on Windows),
// and the line goes out through write_stderr (stsecrets/host.h): one write per line, and UTF-8
// that a Windows console shows as text (WriteConsoleW) instead of code-page bytes.
std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  return std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::local, "\n");
}

class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  RedactingSink() { formatter_ = make_formatter(kPattern); }  // base_sink's formatter

  void set_callback(std::function<void(LogLevel, std::string_view)> callback) {
    std::lock_guard<std::mutex> lock(mutex_);
    callback_ = std::move(callback);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    // Scrub before escaping: a value containing a newline must still match.
    redaction::scrub(text);
    std::string line = escape_controls(text);
    secure_zero(text.data(), text.size());
    if (callback_) {
      callback_(to_level(msg.level), line);
    } else {
      spdlog::details::log_msg out = msg;
      out.payload = spdlog::string_view_t(line.data(), line.size());
      spdlog::memory_buf_t formatted;
      formatter_->format(out, formatted);
      (void)write_stderr(std::string_view(formatted.data(), formatted.size()));  // nowhere left to report
    }
  }

  void flush_() override {}  // every line is written when it is logged

  // base_sink's own would build a formatter with the platform's line ending.
  void set_pattern_(const std::string& pattern) override { formatter_ = make_formatter(pattern); }

 private:
  std::function<void(LogLevel, std::string_view)> callback_;
};

struct Logging {
  std::shared_ptr<RedactingSink> sink = std::make_shared<RedactingSink>();
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("stsecrets", sink);

  Logging() {
    logger->set_level(spdlog::level::warn);
    logger->flush_on(spdlog::level::warn);
    // spdlog's default handler prints the exception text, which a throwing callback could
    // have built from the line; print a fixed message instead.
    logger->set_error_handler([](const std::string&) {
      std::fputs("stsecrets: a log line could not be written\n", stderr);
    });
  }
};

Logging& logging() {
  // Leaked on purpose: the arena and caches may log from static destructors.
  static Logging* l = new Logging();
  return *l;
}

void emit(spdlog::level::level_enum level, std::string_view line) {
  logging().logger->log(spdlog::source_loc{}, level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept {
  if (name == "trace") return LogLevel::trace;
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  if (name == "off") return LogLevel::off;
  return std::nullopt;
}

void set_log_level(LogLevel level) { logging().logger->set_level(to_spdlog(level)); }

void set_log_callback(std::function<void(LogLevel, std::string_view)> callback) {
  logging().sink->set_callback(std::move(callback));
}

namespace log {

void trace(std::string_view line) { emit(spdlog::level::trace, line); }
void debug(std::string_view line) { emit(spdlog::level::debug, line); }
void info(std::string_view line) { emit(spdlog::level::info, line); }
void warn(std::string_view line) { emit(spdlog::level::warn, line); }
void error(std::string_view line) { emit(spdlog::level::err, line); }

}  // namespace log
}  // namespace sts
