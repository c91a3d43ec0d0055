// One voxgate log line, reduced to the fields the analysis reads, from either form it comes in:
// voxgate's own JSON line (docs: the log schema) or a Cloud Logging LogEntry from
// `gcloud logging read --format=json` (special fields moved out of jsonPayload).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/rfc3339.h"

namespace voxgate::logs {

// Cloud Logging's LogSeverity names; kNone when the line has no severity.
enum class Severity : uint8_t {
  kNone, kDefault, kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency, kOther
};
inline constexpr int kSeverityCount = 11;
std::string_view SeverityName(Severity severity);
inline bool IsErrorSeverity(Severity s) { return s >= Severity::kError && s <= Severity::kEmergency; }

enum class Outcome : uint8_t { kNone, kOk, kClientError, kServerError, kClientGone };

struct LogEntry {
  Severity severity = Severity::kNone;
  std::optional<int64_t> time_us;  // microseconds since the Unix epoch
  std::string message;
  std::string tier;   // labels.tier
  std::string trace;  // the trace id, without "projects/P/traces/"
  // Access lines ("request", "stream", "rpc"):
  bool has_http_request = false;
  std::optional<int> status;
  std::optional<double> latency_s;
  std::string route;        // "route", else httpRequest.requestUrl
  std::string request_url;  // httpRequest.requestUrl
  std::string outcome_name;
  std::string pool, engine;              // top-level fields
  std::string label_pool, label_engine;  // labels.pool / labels.engine
  std::string error, error_code, request_id;
  std::optional<double> audio_seconds, rtf, queue_s, engine_s;
  // A known field had the wrong type (a string for a number, ...): the field is left unset.
  bool bad_field = false;

  bool IsAccess() const;
  // outcome_name when known, else derived from status (>= 500 server error, >= 400 client error).
  Outcome outcome() const;
  std::string_view RouteName() const { return route.empty() ? std::string_view(request_url) : route; }
  std::string_view EngineName() const { return engine.empty() ? std::string_view(label_engine) : engine; }
  std::string_view PoolName() const { return pool.empty() ? std::string_view(label_pool) : pool; }
  // Resets every field but keeps the strings' storage (one entry is reused for every line).
  void Clear();
  bool operator==(const LogEntry&) const = default;
};

enum class ParseResult { kOk, kNotJson, kNotObject };

// Parses one JSON object (a line or an element of an export) into *entry. Never throws: wrong
// types set entry->bad_field, anything that is not a JSON object is reported as such.
ParseResult ParseLogEntry(std::string_view json, LogEntry* entry);

// RFC 3339 to microseconds since the epoch (core/rfc3339.h).
using core::ParseRfc3339;
// Duration as Cloud Logging writes it ("0.123456s"; a bare number is read as seconds too).
std::optional<double> ParseDurationSeconds(std::string_view text);

}  // namespace voxgate::logs
