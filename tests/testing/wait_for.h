// Polls a condition that other threads make true, for tests that cannot run on simulated time
// (real sockets, processes, worker threads).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace voxgate::testing {

// True once `done` holds; false when it still does not after `timeout`.
inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace voxgate::testing
