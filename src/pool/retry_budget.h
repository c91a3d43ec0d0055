// A retry budget (Envoy's retry_budget): retries in flight may be at most a share of the requests
// in flight, and never fewer than a small floor. When engines fail, a fixed number of retries per
// request would multiply the load on what is left exactly when it can least take it; a budget
// lets a few requests retry and fails the rest fast. Not thread-safe: the owner locks.
#pragma once

#include <algorithm>

namespace voxgate::pool {

class RetryBudget {
 public:
  // `share` of active requests (0..1) may be retrying at once; `min_retries` always may.
  explicit RetryBudget(double share = 0.2, int min_retries = 3) : share_(share), min_retries_(min_retries) {}

  // One more request retrying while `active_requests` are in flight: true when the budget allows
  // it (call Release when that request ends), false when it should fail now.
  bool TryAcquire(int active_requests) {
    if (retries_ >= std::max(min_retries_, static_cast<int>(share_ * active_requests))) return false;
    retries_++;
    return true;
  }
  void Release() { retries_--; }
  int active_retries() const { return retries_; }

 private:
  const double share_;
  const int min_retries_;
  int retries_ = 0;
};

}  // namespace voxgate::pool
