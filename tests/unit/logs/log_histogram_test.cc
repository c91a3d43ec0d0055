#include "logs/log_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace voxgate::logs {
namespace {

// The nearest-rank quantile of the exact values, as LogHistogram defines it.
double Exact(std::vector<double> v, int percent) {
  std::sort(v.begin(), v.end());
  const size_t rank = std::max<size_t>(1, (v.size() * static_cast<size_t>(percent) + 99) / 100);
  return v[rank - 1];
}

void ExpectWithinSketchError(const std::vector<double>& values) {
  LogHistogram h;
  for (double v : values) h.Add(v);
  ASSERT_EQ(h.count(), values.size());
  for (int percent : {1, 10, 50, 90, 99}) {
    const double exact = Exact(values, percent);
    EXPECT_NEAR(h.Quantile(percent / 100.0), exact, LogHistogram::kRelativeError * exact) << "p" << percent;
  }
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
}

TEST(LogHistogram, QuantilesWithinOnePercentOfExactOnLatencyLikeData) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(0.15), 1.2);
  std::vector<double> values(20000);
  for (auto& v : values) v = latency(rng);
  ExpectWithinSketchError(values);
}

TEST(LogHistogram, QuantilesWithinOnePercentOnBimodalAndUniformData) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> fast(0.002, 0.004), slow(8, 30), uniform(0.01, 100);
  std::vector<double> bimodal, flat;
  for (int i = 0; i < 5000; ++i) {
    bimodal.push_back(i % 10 == 0 ? slow(rng) : fast(rng));
    flat.push_back(uniform(rng));
  }
  ExpectWithinSketchError(bimodal);
  ExpectWithinSketchError(flat);
}

TEST(LogHistogram, SmallCountsUseNearestRank) {
  LogHistogram h;
  for (double v : {0.1, 0.2, 0.3, 0.4}) h.Add(v);
  EXPECT_NEAR(h.Quantile(0.5), 0.2, 0.002);   // rank 2 of 4
  EXPECT_NEAR(h.Quantile(0.99), 0.4, 1e-12);  // rank 4: the exact max
  LogHistogram hundred;
  for (int i = 1; i <= 100; ++i) hundred.Add(i);
  EXPECT_NEAR(hundred.Quantile(0.99), 99, 0.99);  // rank 99, not 100
}

TEST(LogHistogram, ZerosAndTinyValuesShareTheLowBucket) {
  LogHistogram h;
  for (int i = 0; i < 3; ++i) h.Add(0);  // queue_s is 0 when a slot was free
  h.Add(0.5);
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.Quantile(0.75), 0);
  EXPECT_EQ(h.Quantile(1), 0.5);
}

TEST(LogHistogram, EmptyIsNaNAndNonFiniteIsIgnored) {
  LogHistogram h;
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  EXPECT_TRUE(std::isnan(h.max()));
  h.Add(std::nan(""));
  h.Add(INFINITY);
  EXPECT_EQ(h.count(), 0u);
}

TEST(LogHistogram, MergeEqualsAddingEverything) {
  LogHistogram a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    const double v = 0.001 * i * i;
    (i % 3 == 0 ? a : b).Add(v);
    all.Add(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q : {0.5, 0.9, 0.99}) EXPECT_EQ(a.Quantile(q), all.Quantile(q));
  EXPECT_EQ(a.max(), all.max());
}

TEST(LogHistogram, MemoryIsBoundedWhateverTheValues) {
  LogHistogram h;
  for (double v = 1e-12; v < 1e12; v *= 1.001) h.Add(v);
  EXPECT_LE(h.bucket_count(), 1400u);
  EXPECT_EQ(h.max(), h.Quantile(1));
}

}  // namespace
}  // namespace voxgate::logs
