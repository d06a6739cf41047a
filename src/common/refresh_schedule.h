// File: refresh_schedule.h
//
// When the next refresh of cached secrets is due (SPEC 9 "Refresh"), as a small state machine on
// the steady clock, and the full-jitter backoff that the refresh and the startup retry share.
// It runs nothing and reads no clock: the Resolver passes the times in, so every rule is a pure
// function a test can check to the millisecond.
//
//   RefreshSchedule schedule({interval, scatter, retry_base}, clock.steady_now(), random);
//   if (clock.steady_now() >= schedule.due(renewal)) {
//     bool ok = run_refresh();
//     schedule.ran(clock.steady_now(), ok, random);
//   }
//
// The rules:
// - First refresh: at start + interval, or, with scatter, at start + u * interval (u from the
//   random source, in [0, 1)), so that agents started together do not all hit the secret store
//   at the same moment.
// - After a refresh that succeeded: the next one an interval later.
// - After a failed one (a backend's run failed; the old values were kept): after a pause drawn
//   with full jitter, u * min(interval, retry_base * 2^(n-1)) for the n-th failure in a row, so
//   the pauses grow exponentially, are spread over the whole range, and never exceed the
//   interval. The next success returns to the interval.
// - Values nearing their expiration: the Resolver passes the earliest *renewal point* of the
//   cached values (see SecretCache::earliest_renewal: four fifths of the way from a value's fetch
//   to its expiration). When it lies before the interval's due time, it is the due time, but
//   never earlier than min_gap() after the last refresh, if one ran (so a backend that keeps
//   returning an expiration close to now cannot drive refreshes in a tight loop). While failures
//   are being retried, the backoff alone decides: the next run renews every value anyway.
// - A due refresh that finds nothing cached is skipped: the next is due an interval later.
//
// Thread-safety: none; the Resolver guards its schedule with a mutex.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace sts {

// The full-jitter pause before retry number `failures` (1-based): u * min(cap, base * 2^(failures-1)),
// u in [0, 1), truncated to whole milliseconds. Never negative, never above cap.
std::chrono::milliseconds full_jitter_backoff(int failures, std::chrono::milliseconds base,
                                              std::chrono::milliseconds cap, double u) noexcept;

class RefreshSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Random = std::function<double()>;   // uniform in [0, 1)

  struct Settings {
    std::chrono::milliseconds interval{0};     // secret_refresh_interval; > 0
    bool scatter = true;                       // secret_refresh_scatter
    std::chrono::milliseconds retry_base{1000};   // the first backoff's upper bound
  };

  RefreshSchedule(Settings settings, TimePoint start, const Random& random);

  // When the next refresh is due, given the earliest renewal point of the cached values (if any).
  TimePoint due(std::optional<TimePoint> renewal) const noexcept;
  // A refresh ran at `now`; ok = no backend run failed.
  void ran(TimePoint now, bool ok, const Random& random);
  // A refresh was due at `now` but nothing was cached.
  void skipped(TimePoint now) noexcept;

  int consecutive_failures() const noexcept { return failures_; }
  // The smallest spacing that renewal points can force: min(retry_base, interval), at least 1 ms.
  std::chrono::milliseconds min_gap() const noexcept;
  const Settings& settings() const noexcept { return settings_; }

 private:
  Settings settings_;
  TimePoint next_;                      // due by the interval or by the backoff
  std::optional<TimePoint> last_run_;   // the last refresh, if any
  int failures_ = 0;      // failed refreshes in a row
};

}  // namespace sts
