#include "logs/log_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace voxgate::logs {
namespace {

// gamma = (1 + a) / (1 - a): a bucket's midpoint 2 gamma^k / (gamma + 1) is within a of every
// value in (gamma^(k-1), gamma^k].
constexpr double kGamma = (1 + LogHistogram::kRelativeError) / (1 - LogHistogram::kRelativeError);
const double kInverseLogGamma = 1 / std::log(kGamma);

}  // namespace

int LogHistogram::Index(double value) {
  value = std::min(value, kMaxValue);
  return static_cast<int>(std::ceil(std::log(value) * kInverseLogGamma));
}

double LogHistogram::Representative(int index) { return 2 * std::pow(kGamma, index) / (kGamma + 1); }

void LogHistogram::Grow(int index) {
  if (bins_.empty()) {
    bins_.assign(1, 0);
    offset_ = index;
    return;
  }
  const int end = offset_ + static_cast<int>(bins_.size());
  if (index < offset_) {
    bins_.insert(bins_.begin(), static_cast<size_t>(offset_ - index), 0);
    offset_ = index;
  } else if (index >= end) {
    bins_.resize(bins_.size() + static_cast<size_t>(index - end + 1), 0);
  }
}

void LogHistogram::Add(double value) {
  if (!std::isfinite(value)) return;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  sum_ += value;
  if (value <= kMinValue) {
    ++low_count_;
    return;
  }
  const int index = Index(value);
  if (bins_.empty() || index < offset_ || index >= offset_ + static_cast<int>(bins_.size())) Grow(index);
  ++bins_[static_cast<size_t>(index - offset_)];
}

void LogHistogram::Merge(const LogHistogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
  low_count_ += other.low_count_;
  if (other.bins_.empty()) return;
  Grow(other.offset_);
  Grow(other.offset_ + static_cast<int>(other.bins_.size()) - 1);
  for (size_t i = 0; i < other.bins_.size(); ++i) {
    bins_[static_cast<size_t>(other.offset_ - offset_) + i] += other.bins_[i];
  }
}

double LogHistogram::min() const { return count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : min_; }
double LogHistogram::max() const { return count_ == 0 ? std::numeric_limits<double>::quiet_NaN() : max_; }

double LogHistogram::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  // The epsilon keeps 0.99 * 100 at rank 99 despite binary fractions.
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9)));
  if (rank >= count_) return max_;
  if (rank <= low_count_) return min_;
  uint64_t seen = low_count_;
  for (size_t i = 0; i < bins_.size(); ++i) {
    seen += bins_[i];
    if (seen >= rank) return std::clamp(Representative(offset_ + static_cast<int>(i)), min_, max_);
  }
  return max_;
}

}  // namespace voxgate::logs
