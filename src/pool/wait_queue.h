// The pool's bounded queue of streams waiting for an engine slot, oldest first, each with a
// deadline. Pure logic on injected time; the pool holds the lock.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "pool/pooled_stream.h"

namespace voxgate::pool {

struct Waiter {
  std::shared_ptr<PooledStream> stream;
  core::TimePoint deadline;
  std::optional<size_t> avoid;  // the engine a failed-over stream left
};

class WaitQueue {
 public:
  explicit WaitQueue(size_t max_size) : max_size_(max_size) {}

  // False when the queue is full; `always` admits a stream the pool already carries (failover).
  bool Push(Waiter waiter, bool always = false);
  // The stream taken out, or null when it was not queued.
  std::shared_ptr<PooledStream> Remove(const PooledStream* stream);
  const Waiter* Front() const { return waiters_.empty() ? nullptr : &waiters_.front(); }
  // Takes out the waiters whose deadline has passed.
  std::vector<Waiter> PopExpired(core::TimePoint now);
  std::optional<core::TimePoint> NextDeadline() const;
  size_t size() const { return waiters_.size(); }

 private:
  const size_t max_size_;
  std::deque<Waiter> waiters_;
};

}  // namespace voxgate::pool
