// Time, injected: health checks, ejection and queue timeouts take a Clock so their tests run on
// simulated time instead of sleeping.
#pragma once

#include <chrono>

namespace voxgate::core {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The process's steady clock.
const Clock& SystemClock();

}  // namespace voxgate::core
