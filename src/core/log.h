// Structured logging: one JSON object per line on stdout with the fields Google Cloud Logging
// reads (severity, message, time, labels, trace, spanId, sourceLocation). Writing never blocks a
// request: lines go through a bounded queue to a writer thread, and lines that do not fit are
// counted (voxgate_log_lines_dropped_total) and dropped.
//
// Each line belongs to a module: the directory under src/ of the file that logs it
// (src/pool/pool.cc logs as "pool", apps/ as "main"), so levels can be set per module.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/trace.h"

namespace voxgate::core {

// Where a log call is, filled in at the call site like std::source_location (which clang 14 does
// not offer with libstdc++ 12).
struct SourceLocation {
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) {
    return {file, line, function};
  }
  const char* file_name() const { return file_; }
  int line() const { return line_; }
  const char* function_name() const { return function_; }

  const char* file_;
  int line_;
  const char* function_;
};

// kOff is a level only (nothing is logged at it).
enum class Severity { kDebug = 100, kInfo = 200, kWarning = 400, kError = 500, kCritical = 600, kOff = 1000 };

std::string_view SeverityName(Severity severity);
// "debug", "info", "warning", "error", "critical", "off" (any case); nullopt otherwise.
std::optional<Severity> ParseSeverity(std::string_view name);

// Logs `message` with extra top-level fields (e.g. {"request_id", id}).
void Log(Severity severity, std::string_view message, nlohmann::json fields = nlohmann::json::object(),
         SourceLocation where = SourceLocation::current());

inline void LogDebug(std::string_view m, nlohmann::json f = nlohmann::json::object(),
                     SourceLocation where = SourceLocation::current()) {
  Log(Severity::kDebug, m, std::move(f), where);
}
inline void LogInfo(std::string_view m, nlohmann::json f = nlohmann::json::object(),
                    SourceLocation where = SourceLocation::current()) {
  Log(Severity::kInfo, m, std::move(f), where);
}
inline void LogWarning(std::string_view m, nlohmann::json f = nlohmann::json::object(),
                       SourceLocation where = SourceLocation::current()) {
  Log(Severity::kWarning, m, std::move(f), where);
}
inline void LogError(std::string_view m, nlohmann::json f = nlohmann::json::object(),
                     SourceLocation where = SourceLocation::current()) {
  Log(Severity::kError, m, std::move(f), where);
}

// Whether a line of `severity` from `module` would be written (to skip building fields).
bool LogEnabledFor(Severity severity, std::string_view module);

// The modules levels can be set for.
const std::vector<std::string>& LogModules();
// Sets levels: "default" (every module without its own) and/or module names, to a level name.
// All or nothing: returns an error message naming the bad key or value, empty when applied.
// VOXGATE_LOG_LEVEL ("info" or "info,pool=debug,gateway=warning") is applied at start.
std::string SetLogLevels(const std::map<std::string, std::string>& levels);
// SetLogLevels' error for `levels`, without applying them.
std::string CheckLogLevels(const std::map<std::string, std::string>& levels);
// Parses "info,pool=debug" into SetLogLevels' map; error message in `error` when malformed.
std::map<std::string, std::string> ParseLogLevelSpec(std::string_view spec, std::string& error);
// {"default": "info", "modules": {"pool": "debug", ...}} (only modules with their own level).
nlohmann::json LogLevels();

// Labels added to every line as logging.googleapis.com/labels (e.g. {"tier": "endpoint"}); the
// line's module is added to them.
void SetLogLabels(nlohmann::json labels);
void AddLogLabel(const std::string& key, const std::string& value);
// The Google Cloud project, when known: trace fields then read projects/P/traces/ID, which is how
// Cloud Logging links a line to Cloud Trace. Default: $GOOGLE_CLOUD_PROJECT.
void SetLogTraceProject(std::string project);
// Adds the trace and span of `trace` to a line's fields.
void AddTraceFields(nlohmann::json& fields, const TraceContext& trace);

// Calls `sink` with each line at or above `min` (the JSON object as written), on the logging
// thread: it must not block (queue and return). A sink's own log lines are not sent to sinks.
void AddLogSink(Severity min, std::function<void(const nlohmann::json& line)> sink);

// Lines dropped because the queue was full, since start.
uint64_t DroppedLogLines();
// Writes out everything queued; call before exit.
void FlushLogs();

// RFC 3339 UTC time with microseconds, e.g. 2026-11-23T10:00:00.123456Z.
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t);

}  // namespace voxgate::core
