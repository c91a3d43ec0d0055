// The bytes of request bodies the endpoint holds at once, over all its connections. Without a
// bound, enough concurrent uploads (25 MiB each by default) outgrow any memory limit; with one, the
// upload that would cross it is refused with 503 and Retry-After before its body is read.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace voxgate::gateway::internal {

class UploadBudget {
 public:
  explicit UploadBudget(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  UploadBudget(const UploadBudget&) = delete;
  UploadBudget& operator=(const UploadBudget&) = delete;

  // Bytes of the budget, held until destroyed. Move-only.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : budget_(std::exchange(other.budget_, nullptr)), bytes_(other.bytes_) {}
    Lease& operator=(Lease&& other) noexcept {
      std::swap(budget_, other.budget_);
      std::swap(bytes_, other.bytes_);
      return *this;
    }
    ~Lease() {
      if (budget_ != nullptr) budget_->in_use_ -= bytes_;
    }

   private:
    friend class UploadBudget;
    Lease(UploadBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
    UploadBudget* budget_;
    uint64_t bytes_;
  };

  // A lease of `bytes`, or nullopt if fewer than that are free.
  std::optional<Lease> TryTake(uint64_t bytes) {
    uint64_t used = in_use_.load();
    do {
      if (bytes > capacity_ - used) return std::nullopt;
    } while (!in_use_.compare_exchange_weak(used, used + bytes));
    return Lease(this, bytes);
  }

  uint64_t in_use() const { return in_use_.load(); }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> in_use_{0};
};

}  // namespace voxgate::gateway::internal
