// Simulated time for tests of timeouts and backoff: it moves only when told.
#pragma once

#include <atomic>

#include "core/clock.h"

namespace voxgate::testing {

class FakeClock : public core::Clock {
 public:
  core::TimePoint Now() const override { return core::TimePoint(core::Duration(now_.load())); }
  void Advance(core::Duration d) { now_ += d.count(); }

 private:
  std::atomic<core::Duration::rep> now_{std::chrono::hours(1000).count()};
};

}  // namespace voxgate::testing
