#include "core/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
