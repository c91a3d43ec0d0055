// Builds voxgate log lines for the analyzer's tests, and turns them into the gcloud export of
// the same entries (docs: the log schema), so each test can run on both forms.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "logs/report_format.h"
#include "testing/cloud_log_entry.h"

namespace voxgate::logs::testing {

inline constexpr int64_t kT0 = 1796119200LL * 1000000;  // 2026-12-01T10:00:00Z

inline std::string DurationText(double seconds) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9gs", seconds);
  return buf;
}

// An access line as voxgate writes it.
struct Access {
  int64_t time_us = kT0;
  std::string route = "/v1/audio/transcriptions";
  std::string pool = "asr-en-us";
  std::string engine = "unix:/tmp/x/asr-en-us-0.sock";
  int status = 200;
  double latency_s = 0.1;
  double rtf = 0.2;            // < 0: no rtf field
  double audio_seconds = 2;    // < 0: no audio_seconds field
  double queue_s = 0.001;      // < 0: no hops.queue_s
  double engine_s = 0.08;      // < 0: no hops.engine_s
  std::string trace = "0af7651916cd43dd8448eb211c80319c";
  std::string request_id = "req-1";
  std::string error;
  std::string message = "request";

  nlohmann::json Json() const {
    const bool server_error = status >= 500, client_error = status >= 400 && status < 500;
    nlohmann::json j = {
        {"severity", server_error ? "ERROR" : client_error ? "WARNING" : "INFO"},
        {"message", message},
        {"time", FormatTime(time_us)},
        {"logging.googleapis.com/labels", {{"tier", "all-in-one"}, {"module", "gateway"}}},
        {"logging.googleapis.com/trace", "projects/voxgate-test/traces/" + trace},
        {"logging.googleapis.com/spanId", "00f067aa0ba902b7"},
        {"logging.googleapis.com/trace_sampled", true},
        {"httpRequest",
         {{"requestMethod", "POST"}, {"requestUrl", route}, {"status", status},
          {"latency", DurationText(latency_s)}, {"requestSize", "64044"}, {"responseSize", "31"},
          {"remoteIp", "10.0.0.9"}, {"userAgent", "test"}}},
        {"route", route},
        {"service", "asr"},
        {"outcome", server_error ? "server_error" : client_error ? "client_error" : "ok"},
        {"request_id", request_id},
        {"pool", pool},
        {"engine", engine},
        {"model_version", "en-us-1"},
        {"language", "en-US"}};
    if (rtf >= 0) j["rtf"] = rtf;
    if (audio_seconds >= 0) j["audio_seconds"] = audio_seconds;
    nlohmann::json hops = nlohmann::json::object();
    if (queue_s >= 0) hops["queue_s"] = queue_s;
    if (engine_s >= 0) hops["engine_s"] = engine_s;
    hops["endpoint_s"] = latency_s;
    j["hops"] = hops;
    if (server_error) {
      j["error_code"] = "unavailable";
      j["error"] = error.empty() ? "no healthy engine" : error;
      j["logging.googleapis.com/sourceLocation"] = {{"file", "src/gateway/server.cc"}, {"line", "112"}, {"function", "LogAccess"}};
    }
    if (pool.empty()) j.erase("pool");
    if (engine.empty()) j.erase("engine");
    return j;
  }
  std::string Line() const { return Json().dump(); }
};

// Any other line (an engine event, an error).
inline std::string EventLine(int64_t time_us, const std::string& severity, const std::string& message) {
  return nlohmann::json{{"severity", severity},
                        {"message", message},
                        {"time", FormatTime(time_us)},
                        {"logging.googleapis.com/labels", {{"tier", "all-in-one"}, {"module", "pool"}}},
                        {"pool", "asr-en-us"},
                        {"engine", "unix:/tmp/x/asr-en-us-1.sock"},
                        {"event", "engine_unhealthy"}}
      .dump();
}

// What Cloud Logging stores for one voxgate line: special fields moved out of jsonPayload.
inline nlohmann::json ToLogEntry(const nlohmann::json& line, int n) {
  nlohmann::json entry = {{"insertId", "id" + std::to_string(n)},
                          {"logName", "projects/voxgate-test/logs/stdout"},
                          {"receiveTimestamp", line["time"]},
                          {"resource", {{"type", "k8s_container"}, {"labels", {{"cluster_name", "c1"}}}}}};
  return voxgate::testing::ToCloudLogEntry(line, std::move(entry));
}

inline std::string JsonLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The gcloud export of the same lines: one pretty-printed array, as `--format=json` prints it.
inline std::string GcloudExport(const std::vector<std::string>& lines) {
  nlohmann::json array = nlohmann::json::array();
  int n = 0;
  for (const auto& l : lines) array.push_back(ToLogEntry(nlohmann::json::parse(l), n++));
  return array.dump(2) + "\n";
}

}  // namespace voxgate::logs::testing
