#include "logs/analyzer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "logs/analyze.h"
#include "unit/logs/log_lines.h"
#include "logs/report_format.h"

namespace voxgate::logs {
namespace {

using ::testing::HasSubstr;
using testing::Access;
using testing::EventLine;
using testing::GcloudExport;
using testing::JsonLines;
using testing::kT0;

constexpr int64_t kMinute = 60 * 1000000LL;

std::string Printf12(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string Engine(int i) { return "unix:/tmp/x/asr-en-us-" + std::to_string(i) + ".sock"; }

// A steady hour of traffic: three engines of one pool, 30 requests a minute each, real-time
// factor 0.2 +- 10 %, about 1 % server errors, log-normal latencies. `tweak` changes requests.
template <typename Tweak>
std::vector<std::string> SteadyHour(Tweak tweak, int minutes = 60) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> jitter(0.9, 1.1), unit(0, 1);
  std::lognormal_distribution<double> latency(std::log(0.3), 0.5);
  std::vector<std::string> lines;
  int n = 0;
  for (int minute = 0; minute < minutes; ++minute) {
    for (int i = 0; i < 30; ++i) {
      for (int e = 0; e < 3; ++e) {
        Access a;
        a.time_us = kT0 + minute * kMinute + (i * 3 + e) * 600000;
        a.engine = Engine(e);
        a.rtf = 0.2 * jitter(rng);
        a.latency_s = latency(rng);
        a.status = unit(rng) < 0.01 ? 503 : 200;
        a.request_id = "req-" + std::to_string(n++);
        a.route = i % 3 == 0 ? "/v1/recognize" : "/v1/audio/transcriptions";
        tweak(minute, e, a);
        lines.push_back(a.Line());
      }
    }
  }
  return lines;
}
std::vector<std::string> SteadyHour() {
  return SteadyHour([](int, int, Access&) {});
}

// Numbers to 12 significant digits: sums taken in another order differ in the last bits.
void Round(nlohmann::json& j) {
  if (j.is_number_float()) {
    j = std::stod(Printf12(j.get<double>()));
  } else if (j.is_structured()) {
    for (auto& v : j) Round(v);
  }
}

nlohmann::json WithoutInputDetails(nlohmann::json j) {
  j.erase("form");
  j.erase("input");
  j["totals"].erase("bytes");
  Round(j);
  return j;
}

TEST(Analyzer, GoldenTextReport) {
  std::vector<std::string> lines;
  Access a;
  a.latency_s = 0.25;
  lines.push_back(a.Line());
  a.time_us += 1500000;
  a.latency_s = 2.5;
  a.rtf = 0.4;
  a.trace = "11111111111111111111111111111111";
  a.engine = Engine(1);
  lines.push_back(a.Line());
  a.time_us += 1000000;
  a.status = 503;
  a.latency_s = 0.004;
  a.rtf = -1;
  a.audio_seconds = -1;
  a.engine_s = -1;
  a.route = "/v1/recognize";
  a.trace = "22222222222222222222222222222222";
  lines.push_back(a.Line());
  lines.push_back(EventLine(kT0 + 4 * 1000000, "WARNING", "engine unreachable; ejected"));
  lines.push_back("Segmentation fault");
  Report report = AnalyzeString(JsonLines(lines));
  report.input = "test.log";
  EXPECT_EQ(FormatReportText(report), R"(voxgate logs: test.log (json-lines, 2821 bytes)
lines 5: 3 access, 1 skipped (1 not JSON)
time  2026-12-01T10:00:00.000000Z .. 2026-12-01T10:00:04.000000Z (0m04s)
severity  INFO 2 WARNING 1 ERROR 1
requests 3: 1 server errors (33.33%), 0 client errors; 1 error events (5xx or ERROR and worse)

ROUTE                     REQUESTS  5XX  4XX  5XX%     P50     P90     P99     MAX     RTF P50  RTF P90  RTF P99  QUEUE P50  QUEUE P99  ENGINE P50  ENGINE P99  AUDIO
/v1/audio/transcriptions  2         0    0    0.00%    250ms   2.50s   2.50s   2.50s   0.200    0.400    0.400    1.00ms     1.00ms     80.0ms      80.0ms      4.00s
/v1/recognize             1         1    0    100.00%  4.00ms  4.00ms  4.00ms  4.00ms  -        -        -        1.00ms     1.00ms     -           -           -

ENGINE                        POOL       REQUESTS  5XX  4XX  5XX%    P50     P90    P99    MAX    RTF P50  RTF P90  RTF P99  QUEUE P50  QUEUE P99  ENGINE P50  ENGINE P99  AUDIO
unix:/tmp/x/asr-en-us-1.sock  asr-en-us  2         1    0    50.00%  4.00ms  2.50s  2.50s  2.50s  0.400    0.400    0.400    1.00ms     1.00ms     80.0ms      80.0ms      2.00s
unix:/tmp/x/asr-en-us-0.sock  asr-en-us  1         0    0    0.00%   250ms   250ms  250ms  250ms  0.200    0.200    0.200    1.00ms     1.00ms     80.0ms      80.0ms      2.00s

POOL       REQUESTS  5XX  4XX  5XX%    P50    P90    P99    MAX    RTF P50  RTF P90  RTF P99  QUEUE P50  QUEUE P99  ENGINE P50  ENGINE P99  AUDIO
asr-en-us  3         1    0    33.33%  249ms  2.50s  2.50s  2.50s  0.200    0.400    0.400    1.00ms     1.00ms     80.0ms      80.0ms      4.00s

SLOWEST  TIME                         ROUTE                     ENGINE                        STATUS  LATENCY  TRACE
#1       2026-12-01T10:00:01.500000Z  /v1/audio/transcriptions  unix:/tmp/x/asr-en-us-1.sock  200     2.50s    11111111111111111111111111111111
#2       2026-12-01T10:00:00.000000Z  /v1/audio/transcriptions  unix:/tmp/x/asr-en-us-0.sock  200     250ms    0af7651916cd43dd8448eb211c80319c
#3       2026-12-01T10:00:02.500000Z  /v1/recognize             unix:/tmp/x/asr-en-us-1.sock  503     4.00ms   22222222222222222222222222222222

error bursts: 60 s windows with >= 10 error events (median 1 per window): none

anomalies: 300 s windows, >= 20 samples; rtf >= 1.5x, or 5xx ratio >= +5 points with >= 5 errors: none
)");
}

TEST(Analyzer, SameDataSameReportFromJsonLinesAndGcloudExport) {
  auto lines = SteadyHour([](int minute, int e, Access& a) {
    if (e == 0 && minute >= 45) a.rtf *= 2.5;
  });
  for (int i = 0; i < 40; ++i) lines.push_back(EventLine(kT0 + 30 * kMinute + i * 1000000, "ERROR", "engine crashed"));
  const Report from_lines = AnalyzeString(JsonLines(lines));
  const Report from_export = AnalyzeString(GcloudExport(lines));
  EXPECT_EQ(from_lines.form, "json-lines");
  EXPECT_EQ(from_export.form, "gcloud-json");
  EXPECT_EQ(from_export.totals.lines, lines.size());
  EXPECT_EQ(from_export.totals.skipped, 0u);
  EXPECT_EQ(WithoutInputDetails(ReportToJson(from_lines)), WithoutInputDetails(ReportToJson(from_export)));
  // gcloud prints the newest entry first: order does not matter either.
  std::reverse(lines.begin(), lines.end());
  EXPECT_EQ(WithoutInputDetails(ReportToJson(from_lines)), WithoutInputDetails(ReportToJson(AnalyzeString(GcloudExport(lines)))));
  EXPECT_FALSE(from_lines.bursts.empty());
  EXPECT_FALSE(from_lines.anomalies.empty());
}

TEST(Analyzer, CountsPerRouteEngineAndPool) {
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) {
    Access a;
    a.engine = Engine(i % 2);
    a.status = i == 0 ? 500 : i == 1 ? 429 : 200;
    a.route = i < 7 ? "/v1/audio/transcriptions" : "/vosk";
    a.audio_seconds = 1.5;
    lines.push_back(a.Line());
  }
  const Report r = AnalyzeString(JsonLines(lines));
  EXPECT_EQ(r.totals.access_lines, 10u);
  EXPECT_EQ(r.totals.server_errors, 1u);
  EXPECT_EQ(r.totals.client_errors, 1u);
  ASSERT_EQ(r.routes.size(), 2u);
  EXPECT_EQ(r.routes[0].name, "/v1/audio/transcriptions");
  EXPECT_EQ(r.routes[0].requests, 7u);
  EXPECT_EQ(r.routes[0].server_errors, 1u);
  EXPECT_EQ(r.routes[0].client_errors, 1u);
  EXPECT_DOUBLE_EQ(r.routes[0].error_ratio, 1.0 / 7);
  EXPECT_EQ(r.routes[1].name, "/vosk");
  ASSERT_EQ(r.engines.size(), 2u);
  EXPECT_EQ(r.engines[0].requests, 5u);
  EXPECT_EQ(r.engines[0].pool, "asr-en-us");
  ASSERT_EQ(r.pools.size(), 1u);
  EXPECT_EQ(r.pools[0].requests, 10u);
  EXPECT_DOUBLE_EQ(r.pools[0].audio_seconds, 15);
}

TEST(Analyzer, PercentilesAgreeWithExactValuesWithinTheSketchError) {
  std::vector<std::string> lines;
  std::vector<double> latencies, rtfs;
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> latency(std::log(0.2), 1.0), rtf(std::log(0.3), 0.4);
  for (int i = 0; i < 3000; ++i) {
    Access a;
    a.latency_s = std::round(latency(rng) * 1e6) / 1e6;
    a.rtf = rtf(rng);
    latencies.push_back(a.latency_s);
    rtfs.push_back(a.rtf);
    lines.push_back(a.Line());
  }
  const Report r = AnalyzeString(JsonLines(lines));
  ASSERT_EQ(r.routes.size(), 1u);
  std::sort(latencies.begin(), latencies.end());
  std::sort(rtfs.begin(), rtfs.end());
  const auto exact = [](const std::vector<double>& v, size_t percent) { return v[(v.size() * percent + 99) / 100 - 1]; };
  const GroupReport& g = r.routes[0];
  EXPECT_NEAR(g.latency.p50, exact(latencies, 50), 0.01 * exact(latencies, 50));
  EXPECT_NEAR(g.latency.p90, exact(latencies, 90), 0.01 * exact(latencies, 90));
  EXPECT_NEAR(g.latency.p99, exact(latencies, 99), 0.01 * exact(latencies, 99));
  EXPECT_DOUBLE_EQ(g.latency.max, latencies.back());
  EXPECT_NEAR(g.rtf.p50, exact(rtfs, 50), 0.01 * exact(rtfs, 50));
  EXPECT_NEAR(g.rtf.p99, exact(rtfs, 99), 0.01 * exact(rtfs, 99));
  EXPECT_EQ(g.latency.count, 3000u);
}

TEST(Analyzer, SlowestRequestsWithTheirTraceIds) {
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    Access a;
    a.time_us = kT0 + i * 1000000LL;
    a.latency_s = (i * 37 % 200) / 100.0;  // 0 .. 1.99, each once
    char trace[33];
    std::snprintf(trace, sizeof trace, "%032d", i);
    a.trace = trace;
    a.request_id = "req-" + std::to_string(i);
    a.engine = Engine(i % 3);
    lines.push_back(a.Line());
  }
  AnalyzerOptions options;
  options.top = 3;
  const Report r = AnalyzeString(JsonLines(lines), options);
  ASSERT_EQ(r.slowest.size(), 3u);
  std::vector<double> got;
  for (const auto& s : r.slowest) got.push_back(s.latency_s);
  EXPECT_EQ(got, (std::vector<double>{1.99, 1.98, 1.97}));
  // 1.99 s is i * 37 % 200 == 199: i == 27.
  EXPECT_EQ(r.slowest[0].trace, "00000000000000000000000000000027");
  EXPECT_EQ(r.slowest[0].request_id, "req-27");
  EXPECT_EQ(r.slowest[0].engine, Engine(27 % 3));
  EXPECT_EQ(r.slowest[0].route, "/v1/audio/transcriptions");
  EXPECT_EQ(r.slowest[0].status, 200);
  EXPECT_EQ(*r.slowest[0].time_us, kT0 + 27 * 1000000LL);
}

TEST(Analyzer, ErrorBurstFoundMergedAndNamed) {
  auto lines = SteadyHour([](int minute, int, Access& a) {
    if (minute >= 30 && minute <= 32) {
      a.status = 503;
      a.error = "engine unavailable: connection refused";
    }
  });
  for (int i = 0; i < 20; ++i) lines.push_back(EventLine(kT0 + 31 * kMinute + i * 1000000, "CRITICAL", "pool has no healthy engine"));
  const Report r = AnalyzeString(JsonLines(lines));
  ASSERT_EQ(r.bursts.size(), 1u);
  const Burst& b = r.bursts[0];
  EXPECT_EQ(b.start_us, kT0 + 30 * kMinute);
  EXPECT_EQ(b.end_us, kT0 + 33 * kMinute);
  EXPECT_EQ(b.errors, 3u * 90 + 20);
  EXPECT_EQ(b.requests, 3u * 90);
  EXPECT_EQ(b.top_message, "engine unavailable: connection refused");
  EXPECT_EQ(b.top_route, "/v1/audio/transcriptions");
  EXPECT_LE(r.burst_baseline, 2);
  EXPECT_EQ(r.burst_window_s, 60);
}

TEST(Analyzer, NoBurstInSteadyTraffic) {
  const Report r = AnalyzeString(JsonLines(SteadyHour()));
  EXPECT_GT(r.totals.server_errors, 10u);  // errors there are, but spread out
  EXPECT_TRUE(r.bursts.empty());
  EXPECT_TRUE(r.anomalies.empty());
}

TEST(Analyzer, RealTimeFactorDriftFromItsBaselineAndPeers) {
  const auto lines = SteadyHour([](int minute, int e, Access& a) {
    if (e == 0 && minute >= 45) a.rtf *= 2.5;
  });
  const Report r = AnalyzeString(JsonLines(lines));
  ASSERT_EQ(r.anomalies.size(), 2u) << ReportToJson(r)["anomalies"].dump(2);
  for (const Anomaly& a : r.anomalies) {
    EXPECT_EQ(a.engine, Engine(0));
    EXPECT_EQ(a.pool, "asr-en-us");
    EXPECT_EQ(a.metric, "rtf");
    EXPECT_EQ(a.start_us, kT0 + 45 * kMinute);
    EXPECT_EQ(a.end_us, kT0 + 60 * kMinute);
    EXPECT_EQ(a.windows, 3);
    EXPECT_EQ(a.samples, 3u * 5 * 30);
    EXPECT_NEAR(a.value, 0.5, 0.02);
    EXPECT_NEAR(a.reference, 0.2, 0.01);
  }
  EXPECT_EQ(r.anomalies[0].against, "baseline");
  EXPECT_EQ(r.anomalies[1].against, "peers");
}

TEST(Analyzer, AnEngineSlowerThanItsPeersFromTheStart) {
  const auto lines = SteadyHour([](int, int e, Access& a) {
    if (e == 2) a.rtf *= 2;
  });
  const Report r = AnalyzeString(JsonLines(lines));
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0].engine, Engine(2));
  EXPECT_EQ(r.anomalies[0].against, "peers");
  EXPECT_EQ(r.anomalies[0].windows, 12);  // the whole hour, one anomaly
}

TEST(Analyzer, ErrorRatioDrift) {
  std::mt19937_64 rng(5);
  const auto lines = SteadyHour([&](int minute, int e, Access& a) {
    if (e == 1 && minute >= 20 && minute < 25 && rng() % 10 < 4) a.status = 500;
  });
  const Report r = AnalyzeString(JsonLines(lines));
  ASSERT_EQ(r.anomalies.size(), 2u) << ReportToJson(r)["anomalies"].dump(2);
  for (const Anomaly& a : r.anomalies) {
    EXPECT_EQ(a.engine, Engine(1));
    EXPECT_EQ(a.metric, "error_ratio");
    EXPECT_EQ(a.start_us, kT0 + 20 * kMinute);
    EXPECT_EQ(a.windows, 1);
    EXPECT_GT(a.value, 0.25);
    EXPECT_LT(a.reference, 0.03);
  }
}

TEST(Analyzer, FewSamplesAreNotAnAnomaly) {
  auto lines = SteadyHour();
  for (int i = 0; i < 10; ++i) {  // a fourth engine, ten slow failing requests: too few to judge
    Access a;
    a.time_us = kT0 + 50 * kMinute + i * 1000000;
    a.engine = Engine(3);
    a.rtf = 5;
    a.status = 500;
    lines.push_back(a.Line());
  }
  AnalyzerOptions options;
  EXPECT_TRUE(AnalyzeString(JsonLines(lines), options).anomalies.empty());
  options.anomaly_min_samples = 5;
  EXPECT_FALSE(AnalyzeString(JsonLines(lines), options).anomalies.empty());
}

TEST(Analyzer, DistinctNamesBeyondTheCapFoldIntoOther) {
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) {
    Access a;
    a.route = "/v1/route-" + std::to_string(i);
    lines.push_back(a.Line());
    lines.push_back(a.Line());
  }
  AnalyzerOptions options;
  options.max_names = 3;
  const Report r = AnalyzeString(JsonLines(lines), options);
  ASSERT_EQ(r.routes.size(), 4u);
  EXPECT_EQ(r.routes.back().name, "(other)");
  EXPECT_EQ(r.routes.back().requests, 14u);
  EXPECT_THAT(r.notes, ::testing::Contains(HasSubstr("routes: more than 3 names; 14 access lines")));
}

TEST(Analyzer, WindowsWidenInsteadOfGrowingWithoutBound) {
  AnalyzerOptions options;
  options.max_windows = 8;
  options.max_anomaly_cells = 10;
  const Report r = AnalyzeString(JsonLines(SteadyHour()), options);
  EXPECT_EQ(r.burst_window_s, 480);      // 60 -> 120 -> 240 -> 480 s: 8 windows for the hour
  EXPECT_EQ(r.anomaly_window_s, 1200);   // 3 engines x 3 windows <= 10 cells
  EXPECT_THAT(r.notes, ::testing::Contains(HasSubstr("error-burst windows widened from 60 s to 480 s")));
  EXPECT_THAT(r.notes, ::testing::Contains(HasSubstr("anomaly windows widened from 300 s to 1200 s")));
  EXPECT_EQ(r.totals.access_lines, 60u * 90);
}

TEST(Analyzer, BoundsSmallerThanOneWindowStillFinish) {
  AnalyzerOptions options;
  options.max_windows = 0;
  options.max_anomaly_cells = 1;  // three engines in every window
  const Report r = AnalyzeString(JsonLines(SteadyHour([](int, int, Access&) {}, 10)), options);
  EXPECT_EQ(r.totals.access_lines, 900u);
  EXPECT_GE(r.burst_window_s, 600);
  EXPECT_GE(r.anomaly_window_s, 600);
}

TEST(Analyzer, TierFilterCountsOneTierOfASplitDeployment) {
  std::vector<std::string> lines;
  for (const char* tier : {"endpoint", "pool", "engine"}) {
    auto j = Access().Json();
    j["logging.googleapis.com/labels"]["tier"] = tier;
    lines.push_back(j.dump());
  }
  AnalyzerOptions options;
  options.tier = "pool";
  const Report r = AnalyzeString(JsonLines(lines), options);
  EXPECT_EQ(r.totals.access_lines, 1u);
  EXPECT_EQ(r.totals.filtered_out, 2u);
}

TEST(Analyzer, MalformedInputIsCountedNeverFatal) {
  const std::vector<std::string> lines = {
      Access().Line(),
      "panic: runtime error",
      R"({"severity":"INFO","message":"reque)",
      std::string(3 << 20, '{'),
      "[1, 2, 3]",
      "17",
      R"({"message":"request","httpRequest":{"status":"oops","latency":12},"rtf":"x","time":5})",
      "{\"message\":\"\xff\xfe invalid utf-8\"}",
      std::string("{\"a\":\"\0\"}", 9),
      R"({"severity":123456,"route":{"nested":[{}]}})",
      "{}",
  };
  const Report r = AnalyzeString(JsonLines(lines));
  const Totals& t = r.totals;
  EXPECT_EQ(t.lines, 10u);  // the huge one never became a record
  EXPECT_EQ(t.oversized, 1u);
  EXPECT_EQ(t.not_json, 4u);
  EXPECT_EQ(t.not_object, 2u);
  EXPECT_EQ(t.skipped, 7u);
  EXPECT_EQ(t.bad_field_lines, 2u);
  EXPECT_EQ(t.access_lines, 2u);
  EXPECT_EQ(t.without_time, 3u);
  EXPECT_EQ(t.by_severity[static_cast<size_t>(Severity::kOther)], 1u);
  // Every format renders it.
  EXPECT_THAT(FormatReportText(r), HasSubstr("7 skipped (4 not JSON, 2 not an object, 1 over the size limit)"));
  EXPECT_NO_THROW(ReportToJson(r).dump());
  EXPECT_THAT(FormatReportCsv(r), HasSubstr("total,oversized,"));
}

TEST(Analyzer, TruncatedGcloudExportKeepsWhatWasWhole) {
  std::string text = GcloudExport({Access().Line(), Access().Line(), Access().Line()});
  text.resize(text.size() * 3 / 4);
  const Report r = AnalyzeString(text);
  EXPECT_EQ(r.totals.access_lines, 2u);
  EXPECT_EQ(r.totals.truncated, 1u);
  EXPECT_EQ(r.totals.skipped, 1u);
}

}  // namespace
}  // namespace voxgate::logs
