// File: stsecrets/clock.h
//
// The time a Resolver lives by (SPEC 9): the wall clock that `expiration`s are compared with,
// the steady clock that refresh intervals and backoff are measured on, and the pause between
// startup retries. Hosts normally leave ResolverOptions::clock unset (the system clocks); tests,
// the library's and a host's own, pass a ManualClock and move time by hand, so expiry, refresh
// and retry schedules are exact and take no real time.
//
//   auto clock = std::make_shared<sts::ManualClock>();
//   sts::ResolverOptions options;
//   options.clock = clock;
//   options.refresh_thread = false;          // the test calls refresh_if_due() itself
//   sts::Resolver resolver(config, std::move(fetcher), options);
//   clock->advance(std::chrono::seconds(30));
//   resolver.refresh_if_due();
//
// Ownership: shared (std::shared_ptr) between the host and every Resolver and cache using it.
// Thread-safety: every method of both clocks is safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace sts {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time: what an `expiration` from a backend is compared with.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time: refresh intervals, backoff, run durations.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  // Pauses the calling thread (the startup retry's backoff).
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

// std::chrono::system_clock, std::chrono::steady_clock and std::this_thread::sleep_for.
std::shared_ptr<Clock> system_clocks();

// A clock that moves only when told to. Both of its clocks move together; sleep_for() moves
// them by the duration at once (and records it) instead of pausing.
class ManualClock final : public Clock {
 public:
  // Wall time starts at 2026-01-01T00:00:00Z unless given; steady time at an arbitrary point.
  ManualClock();
  explicit ManualClock(std::chrono::system_clock::time_point wall_start);

  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  void sleep_for(std::chrono::milliseconds duration) override;

  // Moves both clocks forward by `duration` (>= 0).
  void advance(std::chrono::nanoseconds duration);
  // Every duration passed to sleep_for(), in order.
  std::vector<std::chrono::milliseconds> sleeps() const;

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point steady_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace sts
