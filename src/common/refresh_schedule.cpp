// The refresh schedule and the full-jitter backoff (refresh_schedule.h, SPEC 9).
#include "common/refresh_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sts {
namespace {

// u * span, truncated to whole milliseconds, in [0, span) for u in [0, 1). A random source that
// strays outside [0, 1) is clamped rather than trusted: a pause must stay within its bound.
std::chrono::milliseconds scaled(std::chrono::milliseconds span, double u) noexcept {
  if (span.count() <= 0 || !(u > 0.0)) return std::chrono::milliseconds(0);   // also NaN
  if (u >= 1.0) return span;
  const double ms = std::floor(u * static_cast<double>(span.count()));
  return std::min(span, std::chrono::milliseconds(static_cast<std::int64_t>(ms)));
}

}  // namespace

std::chrono::milliseconds full_jitter_backoff(int failures, std::chrono::milliseconds base,
                                              std::chrono::milliseconds cap, double u) noexcept {
  if (cap.count() <= 0 || base.count() <= 0) return std::chrono::milliseconds(0);
  // base * 2^(failures-1), doubling only while below the cap (no overflow however many failures).
  std::chrono::milliseconds bound = std::min(base, cap);
  for (int i = 1; i < failures && bound < cap; ++i) bound = std::min(cap, bound * 2);
  return scaled(bound, u);
}

RefreshSchedule::RefreshSchedule(Settings settings, TimePoint start, const Random& random) : settings_(settings) {
  next_ = start + (settings_.scatter ? scaled(settings_.interval, random()) : settings_.interval);
}

std::chrono::milliseconds RefreshSchedule::min_gap() const noexcept {
  return std::max(std::chrono::milliseconds(1), std::min(settings_.retry_base, settings_.interval));
}

RefreshSchedule::TimePoint RefreshSchedule::due(std::optional<TimePoint> renewal) const noexcept {
  if (failures_ > 0 || !renewal) return next_;
  return std::min(next_, last_run_ ? std::max(*renewal, *last_run_ + min_gap()) : *renewal);
}

void RefreshSchedule::ran(TimePoint now, bool ok, const Random& random) {
  last_run_ = now;
  if (ok) {
    failures_ = 0;
    next_ = now + settings_.interval;
    return;
  }
  if (failures_ < 1000000) ++failures_;
  next_ = now + full_jitter_backoff(failures_, settings_.retry_base, settings_.interval, random());
}

void RefreshSchedule::skipped(TimePoint now) noexcept {
  next_ = now + settings_.interval;
}

}  // namespace sts
