// What `voxctl logs analyze` found: plain data, formatted by report_format.h.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "logs/log_entry.h"

namespace voxgate::logs {

// Thresholds and bounds of the analysis (voxctl's flags; docs/OPERATIONS.md "Analyzing logs").
struct AnalyzerOptions {
  size_t top = 10;  // slowest requests listed
  // Error bursts: a window is hot with at least burst_min_errors error events and at least
  // burst_factor times the median error events per window of the whole log.
  int64_t burst_window_s = 60;
  double burst_factor = 5;
  uint64_t burst_min_errors = 10;
  // Anomalies, per engine and window: mean real-time factor >= rtf_factor times the reference,
  // or server-error ratio >= the reference's + error_ratio_delta with at least
  // anomaly_min_errors errors; the window and the reference need anomaly_min_samples samples.
  // References: the engine's own earlier windows (not flagged ones), and its pool's other
  // engines in the same window.
  int64_t anomaly_window_s = 300;
  uint64_t anomaly_min_samples = 20;
  uint64_t anomaly_min_errors = 5;
  double rtf_factor = 1.5;
  double error_ratio_delta = 0.05;
  // Only lines whose labels.tier is this (a split deployment logs one access line per tier).
  std::string tier;
  // Memory bounds: names per table beyond which the rest count as "(other)", time windows
  // beyond which windows are widened (x2), distinct error messages remembered.
  size_t max_names = 200;
  size_t max_windows = 50000;
  size_t max_anomaly_cells = 200000;
  size_t max_messages = 5000;
};

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct Percentiles {
  uint64_t count = 0;
  double p50 = kNoValue, p90 = kNoValue, p99 = kNoValue, max = kNoValue;  // NaN when count == 0
};

// Access lines of one route, engine or pool.
struct GroupReport {
  std::string name;
  std::string pool;  // engines: the pool that served through it
  uint64_t requests = 0, server_errors = 0, client_errors = 0, client_gone = 0;
  double error_ratio = 0;  // server_errors / requests
  double audio_seconds = 0;
  Percentiles latency, rtf, queue, engine;  // httpRequest.latency, rtf, hops.queue_s, hops.engine_s
};

struct SlowRequest {
  std::optional<int64_t> time_us;
  std::string route, engine, pool, trace, request_id;
  std::optional<int> status;
  double latency_s = 0;
};

struct Burst {
  int64_t start_us = 0, end_us = 0;
  uint64_t errors = 0;    // error events: server-error access lines and ERROR-or-worse lines
  uint64_t requests = 0;  // access lines in the same windows
  std::string top_message, top_route;
  uint64_t top_message_count = 0, top_route_count = 0;
};

struct Anomaly {
  std::string engine, pool;
  std::string metric;   // "rtf" (mean real-time factor) or "error_ratio"
  std::string against;  // "baseline" (its own earlier windows) or "peers" (its pool, same window)
  int64_t start_us = 0, end_us = 0;
  int windows = 0;
  uint64_t samples = 0;    // in the flagged windows
  double value = 0;        // over the flagged windows
  double reference = 0;    // what it was compared with
};

struct Totals {
  uint64_t bytes = 0;
  uint64_t lines = 0;  // records read: non-blank lines, or objects of an export
  uint64_t access_lines = 0;
  uint64_t skipped = 0;  // = not_json + not_object + oversized + truncated + stray
  uint64_t not_json = 0, not_object = 0, oversized = 0, truncated = 0, stray = 0;
  uint64_t bad_field_lines = 0;  // parsed, but a known field had the wrong type (that field ignored)
  uint64_t filtered_out = 0;     // another tier than --tier
  uint64_t without_time = 0;
  uint64_t server_errors = 0, client_errors = 0;
  uint64_t error_events = 0;  // server-error access lines and ERROR-or-worse lines, once each
  std::array<uint64_t, kSeverityCount> by_severity{};
  std::optional<int64_t> first_time_us, last_time_us;
};

struct Report {
  std::string input;  // the file name, or "-"
  std::string form;   // "json-lines" or "gcloud-json"
  AnalyzerOptions options;
  Totals totals;
  std::vector<GroupReport> routes, engines, pools;  // most requests first; "(other)" last
  std::vector<SlowRequest> slowest;                 // slowest first
  int64_t burst_window_s = 0;                       // after any widening
  double burst_baseline = 0;                        // median error events per window
  double burst_threshold = 0;
  std::vector<Burst> bursts;
  int64_t anomaly_window_s = 0;
  std::vector<Anomaly> anomalies;
  std::vector<std::string> notes;  // what was folded or widened to keep memory bounded
};

inline constexpr const char* kOtherName = "(other)";

}  // namespace voxgate::logs
