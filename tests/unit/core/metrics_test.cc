#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>

namespace voxgate::core {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, RendersCountersGaugesAndHistograms) {
  MetricsRegistry r;
  r.GetCounter("voxgate_requests_total", "Requests.", {{"route", "/v1/models"}, {"outcome", "ok"}}).Increment();
  r.GetCounter("voxgate_requests_total", "Requests.", {{"route", "/v1/models"}, {"outcome", "ok"}}).Increment(2);
  r.GetGauge("voxgate_active_streams", "Streams.").Set(4);
  r.AddCallbackGauge("voxgate_ready", "Ready.", [] { return 1.0; });
  auto& h = r.GetHistogram("voxgate_latency_seconds", "Latency.", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  const std::string text = r.RenderText();
  EXPECT_THAT(text, HasSubstr("# TYPE voxgate_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_requests_total{route=\"/v1/models\",outcome=\"ok\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_active_streams 4\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_ready 1\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_latency_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_latency_seconds_count 3\n"));
}

TEST(Metrics, EscapesLabelValues) {
  MetricsRegistry r;
  r.GetCounter("x_total", "X.", {{"l", "a\"b\\c"}}).Increment();
  EXPECT_THAT(r.RenderText(), HasSubstr("x_total{l=\"a\\\"b\\\\c\"} 1"));
}

TEST(Metrics, OneNameOneType) {
  MetricsRegistry r;
  r.GetCounter("y_total", "Y.");
  EXPECT_THROW(r.GetGauge("y_total", "Y."), std::logic_error);
}

}  // namespace
}  // namespace voxgate::core

namespace voxgate::core {
namespace {

// An owner updates metrics while holding its lock, and its callback gauge takes that lock: a
// scrape must not hold the registry's lock while the callback runs (that deadlocked).
TEST(Metrics, ScrapeAndOwnerUpdatesDoNotDeadlock) {
  MetricsRegistry registry;
  std::mutex owner;
  registry.AddCallbackGauge("owned", "A gauge read under its owner's lock.", [&owner] {
    std::lock_guard lock(owner);
    return 1.0;
  });
  std::atomic<bool> stop{false};
  auto updates = std::async(std::launch::async, [&] {
    while (!stop) {
      std::lock_guard lock(owner);
      registry.GetCounter("updates_total", "Updated under the owner's lock.").Increment();
    }
  });
  auto scrapes = std::async(std::launch::async, [&] {
    for (int i = 0; i < 2000; ++i) registry.RenderText();
  });
  const bool scraped = scrapes.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  stop = true;
  ASSERT_TRUE(scraped) << "scrapes deadlocked against the owner's updates";
  ASSERT_EQ(updates.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(registry.RenderText().find("owned 1"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::core
