#include "core/clock.h"

namespace voxgate::core {

const Clock& SystemClock() {
  struct Steady : Clock {
    TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  };
  static const Steady clock;
  return clock;
}

}  // namespace voxgate::core
