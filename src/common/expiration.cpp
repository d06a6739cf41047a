// parse_expiration(): the `expiration` extension of a response entry (SPEC 3, 9; rules in
// protocol.h). RFC 3339 `date-time`, restricted to UTC:
//   YYYY-MM-DD ('T'|'t') hh:mm:ss [ '.' 1*DIGIT ] ( 'Z' | 'z' | "+00:00" )
// Read position by position; errors name the problem, never the text (it is response bytes).
#include "common/protocol.h"

#include <chrono>
#include <cstdint>
#include <limits>

namespace sts {
namespace {

using Clock = std::chrono::system_clock;

// Long enough for any sane fraction; longer is not a time stamp.
constexpr std::size_t kMaxExpirationBytes = 64;
constexpr const char* kForm = "2026-12-01T15:00:00Z";

Error bad(const std::string& problem) {
  return make_error(Code::handle_value_invalid,
                    "is not an RFC 3339 UTC time like \"" + std::string(kForm) + "\": " + problem);
}

bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

struct Fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::int64_t nanos = 0;   // the fraction, cut to nanoseconds
};

// The fixed-width part "YYYY-MM-DDThh:mm:ss", by shape only.
std::optional<Error> read_date_time(std::string_view t, Fields& f) {
  const bool shape = digits(t, 0, 4, f.year) && t.size() > 4 && t[4] == '-' && digits(t, 5, 2, f.month) &&
                     t.size() > 7 && t[7] == '-' && digits(t, 8, 2, f.day) && t.size() > 10 &&
                     (t[10] == 'T' || t[10] == 't') && digits(t, 11, 2, f.hour) && t.size() > 13 && t[13] == ':' &&
                     digits(t, 14, 2, f.minute) && t.size() > 16 && t[16] == ':' && digits(t, 17, 2, f.second);
  if (!shape) return bad("it does not have the shape YYYY-MM-DDThh:mm:ss");
  return std::nullopt;
}

// ".123..." at `at`, if any; returns where the offset starts.
std::size_t read_fraction(std::string_view t, std::size_t at, Fields& f, bool& ok) {
  ok = true;
  if (at >= t.size() || t[at] != '.') return at;
  std::size_t i = at + 1;
  std::int64_t scale = 100000000;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
    // Digits past nanoseconds are cut: never later than written.
    if (scale > 0) f.nanos += (t[i] - '0') * scale;
    scale /= 10;
    ++i;
  }
  ok = i > at + 1;
  return i;
}

std::optional<Error> read_offset(std::string_view offset) {
  if (offset == "Z" || offset == "z" || offset == "+00:00") return std::nullopt;
  if (offset == "-00:00") return bad("the offset -00:00 means an unknown local offset in RFC 3339; write Z");
  int hh = 0, mm = 0;
  if (offset.size() == 6 && (offset[0] == '+' || offset[0] == '-') && digits(offset, 1, 2, hh) && offset[3] == ':' &&
      digits(offset, 4, 2, mm)) {
    return bad("the offset is not UTC; convert the time to UTC and write Z");
  }
  if (offset.empty()) return bad("the offset is missing; write Z for UTC");
  return bad("the offset is not Z or +00:00");
}

std::optional<Error> check_ranges(Fields& f) {
  using namespace std::chrono;
  if (f.month < 1 || f.month > 12) return bad("the month is not 01-12");
  if (!year_month_day{year{f.year}, month{static_cast<unsigned>(f.month)}, day{static_cast<unsigned>(f.day)}}.ok()) {
    return bad("that day does not exist in that month");
  }
  if (f.hour > 23) return bad("the hour is not 00-23");
  if (f.minute > 59) return bad("the minute is not 00-59");
  if (f.second == 60 && f.hour == 23 && f.minute == 59) {
    // A leap second: the system clock does not count them; read as the second before.
    f.second = 59;
    f.nanos = 0;
  } else if (f.second > 59) {
    return bad("the second is not 00-59 (60 only at 23:59, a leap second)");
  }
  return std::nullopt;
}

// Seconds since the epoch for years 0000-9999 fit easily in 64 bits; the clock's own range may
// not (nanosecond ticks end in 2262), so saturate to it.
Clock::time_point to_time_point(const Fields& f) {
  using namespace std::chrono;
  const sys_days days{year_month_day{year{f.year}, month{static_cast<unsigned>(f.month)}, day{static_cast<unsigned>(f.day)}}};
  const std::int64_t secs = std::int64_t{days.time_since_epoch().count()} * 86400 + f.hour * 3600 + f.minute * 60 + f.second;
  const std::int64_t max_secs = duration_cast<seconds>(Clock::duration::max()).count() - 1;
  const std::int64_t min_secs = duration_cast<seconds>(Clock::duration::min()).count() + 1;
  if (secs > max_secs) return Clock::time_point::max();
  if (secs < min_secs) return Clock::time_point::min();
  return Clock::time_point(duration_cast<Clock::duration>(seconds(secs))) +
         floor<Clock::duration>(nanoseconds(f.nanos));
}

}  // namespace

Result<Clock::time_point> parse_expiration(std::string_view text) {
  if (text.size() > kMaxExpirationBytes) return bad("it is longer than " + std::to_string(kMaxExpirationBytes) + " bytes");
  Fields f;
  if (auto err = read_date_time(text, f)) return *err;
  bool fraction_ok = true;
  const std::size_t offset_at = read_fraction(text, 19, f, fraction_ok);
  if (!fraction_ok) return bad("a '.' must be followed by digits of a second");
  if (auto err = read_offset(text.substr(offset_at))) return *err;
  if (auto err = check_ranges(f)) return *err;
  return to_time_point(f);
}

}  // namespace sts
