// A bounded amount shared by all connections, taken in leases: the bytes of request bodies held at
// once (without a bound, enough concurrent uploads outgrow any memory limit; with one, the upload
// that would cross it is refused with 503 and Retry-After before its body is read), and the open
// client connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace voxgate::gateway::internal {

class Budget {
 public:
  explicit Budget(uint64_t capacity) : capacity_(capacity) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  // A share of the budget, held until destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : budget_(std::exchange(other.budget_, nullptr)), amount_(other.amount_) {}
    Lease& operator=(Lease&& other) noexcept {
      std::swap(budget_, other.budget_);
      std::swap(amount_, other.amount_);
      return *this;
    }
    ~Lease() {
      if (budget_ != nullptr) budget_->in_use_ -= amount_;
    }

   private:
    friend class Budget;
    Lease(Budget* budget, uint64_t amount) : budget_(budget), amount_(amount) {}
    Budget* budget_;
    uint64_t amount_;
  };

  // A lease of `amount`, or nullopt if less than that is free.
  std::optional<Lease> TryTake(uint64_t amount) {
    uint64_t used = in_use_.load();
    do {
      if (amount > capacity_ - used) return std::nullopt;
    } while (!in_use_.compare_exchange_weak(used, used + amount));
    return Lease(this, amount);
  }

  uint64_t in_use() const { return in_use_.load(); }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> in_use_{0};
};

}  // namespace voxgate::gateway::internal
