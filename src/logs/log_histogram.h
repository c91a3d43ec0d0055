// A fixed-size quantile sketch: log-scale buckets (DDSketch's mapping), so any quantile comes
// back within 1 % of the exact value whatever the distribution, in at most ~11 KB per sketch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace voxgate::logs {

class LogHistogram {
 public:
  // Bound on |estimate - exact| / exact for every quantile (values in [kMinValue, kMaxValue]).
  static constexpr double kRelativeError = 0.01;
  // Smaller values (and 0, negatives) share one bucket; larger ones share the top bucket. The
  // exact min and max are kept, so the extremes are exact.
  static constexpr double kMinValue = 1e-6;
  static constexpr double kMaxValue = 1e6;

  void Add(double value);  // NaN and infinities are ignored
  void Merge(const LogHistogram& other);

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  double min() const;  // NaN when empty
  double max() const;  // NaN when empty
  // The nearest-rank quantile (the value at rank ceil(q * count)), within kRelativeError; NaN when empty.
  double Quantile(double q) const;
  // Buckets in use (memory is ~8 bytes each; never more than ~1400).
  size_t bucket_count() const { return bins_.size(); }

 private:
  static int Index(double value);
  static double Representative(int index);
  void Grow(int index);

  std::vector<uint64_t> bins_;  // bins_[i] counts bucket index offset_ + i: (gamma^(k-1), gamma^k]
  int offset_ = 0;
  uint64_t low_count_ = 0;  // values <= kMinValue
  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
};

}  // namespace voxgate::logs
