// What Cloud Logging stores for one voxgate JSON line: the special fields moved out of the
// payload into the LogEntry (as `gcloud logging read --format=json` prints them). For the log
// analysis tests and the benchmark's log generator.
#pragma once

#include <nlohmann/json.hpp>

namespace voxgate::testing {

// Moves `line`'s special fields into `entry` (which holds insertId, logName, resource...) and
// the rest into entry.jsonPayload.
inline nlohmann::json ToCloudLogEntry(nlohmann::json line, nlohmann::json entry) {
  const auto move = [&](const char* from, const char* to) {
    if (line.contains(from)) {
      entry[to] = std::move(line[from]);
      line.erase(from);
    }
  };
  move("severity", "severity");
  move("time", "timestamp");
  move("httpRequest", "httpRequest");
  move("logging.googleapis.com/labels", "labels");
  move("logging.googleapis.com/trace", "trace");
  move("logging.googleapis.com/spanId", "spanId");
  move("logging.googleapis.com/trace_sampled", "traceSampled");
  move("logging.googleapis.com/sourceLocation", "sourceLocation");
  entry["jsonPayload"] = std::move(line);
  return entry;
}

}  // namespace voxgate::testing
