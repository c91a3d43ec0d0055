// What a notification looks like on the wire. A notification is stored once, as the generic
// webhook's JSON document (below); the Discord and Slack bodies are rendered from it at each
// attempt, deterministically, so a retry sends the same message.
//
// The notification document (the generic webhook's body, with header Idempotency-Key: <id>):
//   {"version": "1", "id": "<32 hex, stable across retries and restarts>", "status":
//    "firing"|"resolved", "destination", "group_key", "group_labels": {}, "common_labels": {},
//    "common_annotations": {}, "created_at": RFC 3339, "truncated_alerts": N,
//    "alerts": [{"status", "labels", "annotations", "starts_at", "ends_at", "generator_url",
//                "fingerprint", "source"}]}
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/alert.h"

namespace voxgate::alerts {

// Discord's documented limits (characters) for webhook messages with embeds.
struct DiscordLimits {
  static constexpr size_t kContent = 2000;
  static constexpr size_t kEmbeds = 10;
  static constexpr size_t kTitle = 256;
  static constexpr size_t kDescription = 4096;
  static constexpr size_t kFields = 25;
  static constexpr size_t kFieldName = 256;
  static constexpr size_t kFieldValue = 1024;
  static constexpr size_t kFooter = 2048;
  static constexpr size_t kAuthor = 256;
  static constexpr size_t kTotal = 6000;  // title, description, fields, footer and author of all embeds
  static constexpr size_t kUsername = 80;
};

// Slack's documented limits for incoming webhooks with Block Kit.
struct SlackLimits {
  static constexpr size_t kText = 4000;  // 40000 is the hard limit; Slack recommends 4000
  static constexpr size_t kBlocks = 50;
  static constexpr size_t kHeader = 150;
  static constexpr size_t kSectionText = 3000;
  static constexpr size_t kContextText = 2000;
};

// The notification document for a group's firing and (newly) resolved alerts.
struct NotificationInput {
  std::string id;
  std::string destination;
  std::string group_key;
  LabelSet group_labels;
  std::vector<Alert> firing;
  std::vector<Alert> resolved;
  int64_t now_ms = 0;
};
nlohmann::json NotificationDocument(const NotificationInput& input);

// Discord's Execute Webhook body: one embed per alert (colour by severity, labels and
// annotations as fields), everything within DiscordLimits, long text cut with "…", and
// allowed_mentions {"parse": []} so no alert text can ping @everyone or a role.
nlohmann::json DiscordPayload(const nlohmann::json& notification, const std::string& username = "voxgate");
// An embed's colour: red critical, orange error, amber warning, blue otherwise, green resolved.
int DiscordColour(const std::string& severity, bool resolved);

// Slack's incoming webhook body: text (the notification for clients without blocks) and
// blocks (a header, a section per alert, a context line), within SlackLimits, mrkdwn escaped.
nlohmann::json SlackPayload(const nlohmann::json& notification);

}  // namespace voxgate::alerts
