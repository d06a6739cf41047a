// The system clocks and the ManualClock (stsecrets/clock.h).
#include "stsecrets/clock.h"

#include <thread>

namespace sts {
namespace {

class SystemClocks final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds duration) override { std::this_thread::sleep_for(duration); }
};

// 2026-01-01T00:00:00Z: a fixed start, so a test's wall times read the same on every run.
constexpr std::chrono::seconds kManualWallStart{1767225600};
// Far from steady_clock's epoch in both directions, so tests may subtract from it freely.
constexpr std::chrono::hours kManualSteadyStart{24 * 365};

}  // namespace

std::shared_ptr<Clock> system_clocks() {
  static const std::shared_ptr<Clock> clocks = std::make_shared<SystemClocks>();
  return clocks;
}

ManualClock::ManualClock() : ManualClock(std::chrono::system_clock::time_point(kManualWallStart)) {}

ManualClock::ManualClock(std::chrono::system_clock::time_point wall_start)
    : wall_(wall_start), steady_(kManualSteadyStart) {}

std::chrono::system_clock::time_point ManualClock::now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wall_;
}

std::chrono::steady_clock::time_point ManualClock::steady_now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_;
}

void ManualClock::sleep_for(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  sleeps_.push_back(duration);
  if (duration.count() > 0) {
    wall_ += duration;
    steady_ += duration;
  }
}

void ManualClock::advance(std::chrono::nanoseconds duration) {
  if (duration.count() <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
  steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
}

std::vector<std::chrono::milliseconds> ManualClock::sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

}  // namespace sts
