// The relay's inputs, parsed into alerts: Prometheus Alertmanager's webhook (version 4), Google
// Cloud Monitoring's webhook notification (incident JSON, version 1.2) and voxgate's own JSON
// log lines (in process through a log sink, or POSTed one per line by another tier).
// Parsers take untrusted bytes: every error is an INVALID_ARGUMENT naming what is wrong, never
// an exception (they are fuzzed).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "alerts/alert.h"
#include "core/log.h"

namespace voxgate::alerts {

struct ParsedInput {
  std::vector<Alert> alerts;
  size_t ignored = 0;  // lines or alerts that were valid but not alerts (below the minimum severity)
};

// POST /v1/alerts/alertmanager: {"version": "4", "status", "alerts": [{status, labels,
// annotations, startsAt, endsAt, generatorURL, fingerprint}], "groupKey", ...}.
absl::StatusOr<ParsedInput> ParseAlertmanager(std::string_view body, int64_t now_ms);

// POST /v1/alerts/cloud-monitoring: {"version": "1.2", "incident": {incident_id, state
// open|closed, policy_name, condition_name, summary, url, started_at, ended_at, resource, ...}}.
// One incident is one alert, labelled by its incident id, so `closed` resolves its `open`.
absl::StatusOr<ParsedInput> ParseCloudMonitoring(std::string_view body, int64_t now_ms);

// voxgate's events. Lines with an "event" field the relay knows are conditions that fire and
// resolve (engine_unhealthy/engine_healthy or engine_removed, pool_no_healthy_engine/pool_healthy,
// at any severity); any other line at or above `min_severity` is a one-shot alert that expires
// after `resolve_timeout_ms` without a resolved notification.
struct EventOptions {
  core::Severity min_severity = core::Severity::kError;
  int64_t resolve_timeout_ms = 5 * 60 * 1000;
};
// nullopt: the line is not an alert (below the minimum, or the relay's own line). Accepts
// voxgate's line format and a Cloud Logging LogEntry (jsonPayload, timestamp, ...).
std::optional<Alert> AlertFromLogLine(const nlohmann::json& line, const EventOptions& options, int64_t now_ms);
// POST /v1/alerts/events: JSON log lines, one per line (or a JSON array, as `gcloud logging
// read --format=json` writes). All or nothing: one bad line fails the request, naming it.
absl::StatusOr<ParsedInput> ParseLogLines(std::string_view body, const EventOptions& options, int64_t now_ms);

}  // namespace voxgate::alerts
