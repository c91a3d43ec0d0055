#include "pool/wait_queue.h"

#include <algorithm>

namespace voxgate::pool {

bool WaitQueue::Push(Waiter waiter, bool always) {
  if (!always && waiters_.size() >= max_size_) return false;
  waiters_.push_back(std::move(waiter));
  return true;
}

std::shared_ptr<PooledStream> WaitQueue::Remove(const PooledStream* stream) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.stream.get() == stream; });
  if (it == waiters_.end()) return nullptr;
  auto removed = std::move(it->stream);
  waiters_.erase(it);
  return removed;
}

std::vector<Waiter> WaitQueue::PopExpired(core::TimePoint now) {
  std::vector<Waiter> expired;
  auto keep = std::stable_partition(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.deadline > now; });
  std::move(keep, waiters_.end(), std::back_inserter(expired));
  waiters_.erase(keep, waiters_.end());
  return expired;
}

std::optional<core::TimePoint> WaitQueue::NextDeadline() const {
  std::optional<core::TimePoint> next;
  for (const Waiter& w : waiters_) {
    if (!next || w.deadline < *next) next = w.deadline;
  }
  return next;
}

}  // namespace voxgate::pool
