// Structured logging: one JSON object per line on stdout with the fields Google Cloud Logging
// reads (severity, message, time). Writing never blocks a request: lines go through a bounded
// queue to a writer thread, and lines that do not fit are counted and dropped.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace voxgate::core {

enum class Severity { kDebug = 100, kInfo = 200, kWarning = 400, kError = 500, kCritical = 600 };

std::string_view SeverityName(Severity severity);

// Logs `message` with extra top-level fields (e.g. {"request_id", id}).
void Log(Severity severity, std::string_view message, nlohmann::json fields = nlohmann::json::object());

inline void LogDebug(std::string_view m, nlohmann::json f = nlohmann::json::object()) { Log(Severity::kDebug, m, std::move(f)); }
inline void LogInfo(std::string_view m, nlohmann::json f = nlohmann::json::object()) { Log(Severity::kInfo, m, std::move(f)); }
inline void LogWarning(std::string_view m, nlohmann::json f = nlohmann::json::object()) { Log(Severity::kWarning, m, std::move(f)); }
inline void LogError(std::string_view m, nlohmann::json f = nlohmann::json::object()) { Log(Severity::kError, m, std::move(f)); }

// Lines below this severity are skipped (default kInfo; VOXGATE_LOG_LEVEL=debug|info|warning|error).
void SetMinSeverity(Severity severity);
// Labels added to every line as logging.googleapis.com/labels (e.g. {"tier": "gateway"}).
void SetLogLabels(nlohmann::json labels);
// Lines dropped because the queue was full, since start.
uint64_t DroppedLogLines();
// Writes out everything queued; call before exit.
void FlushLogs();

// RFC 3339 UTC time with microseconds, e.g. 2026-11-23T10:00:00.123456Z.
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t);

}  // namespace voxgate::core
