// The alert relay's data: an alert as every input becomes it, and the notification a group of
// alerts becomes for one destination. Times are wall-clock milliseconds since the Unix epoch,
// because they are persisted across restarts (steady time is not).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace voxgate::alerts {

using LabelSet = std::map<std::string, std::string>;

// One alert, Alertmanager's model: identified by its labels (the fingerprint is a hash of
// them); firing until `ends_at_ms` has passed.
struct Alert {
  LabelSet labels;
  LabelSet annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // 0: firing until an input resolves it
  std::string generator_url;
  std::string source;  // "alertmanager", "cloud_monitoring", "voxgate"
  // An event rather than a condition (a log line): it expires at `ends_at_ms` silently, with
  // no resolved notification.
  bool one_shot = false;

  bool FiringAt(int64_t now_ms) const { return ends_at_ms == 0 || ends_at_ms > now_ms; }
};

// A stable hash of the labels (16 hex digits): the same labels are the same alert.
std::string Fingerprint(const LabelSet& labels);

// Limits that keep one input from filling the outbox or a chat message.
inline constexpr size_t kMaxAlertsPerInput = 1000;
inline constexpr size_t kMaxLabelsPerAlert = 64;
inline constexpr size_t kMaxLabelBytes = 1024;         // a label name or value
inline constexpr size_t kMaxAnnotationBytes = 16384;  // an annotation value (truncated, not refused)
// Alerts listed in one notification; the rest are counted in "truncated_alerts".
inline constexpr size_t kMaxAlertsPerNotification = 200;

// RFC 3339 ("2026-12-01T10:00:00.123Z", "...+02:00") to epoch ms; false when malformed. Go's zero
// time (0001-01-01T00:00:00Z, Alertmanager's "no end") gives 0.
bool ParseRfc3339(const std::string& text, int64_t& out_ms);
std::string FormatRfc3339(int64_t ms);

// Destination types.
enum class DestinationType { kDiscord, kSlack, kWebhook };
const char* DestinationTypeName(DestinationType type);

}  // namespace voxgate::alerts
