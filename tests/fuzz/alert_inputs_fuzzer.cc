// Fuzzes the alert relay's input parsers (Alertmanager, Cloud Monitoring, voxgate log lines:
// bodies an HTTP client controls) and the chat payloads rendered from what they accept.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "alerts/inputs.h"
#include "alerts/internal/text.h"
#include "alerts/payloads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace alerts = voxgate::alerts;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kNow = 1'800'000'000'000;
  alerts::EventOptions events;
  events.min_severity = voxgate::core::Severity::kDebug;
  for (auto parsed : {alerts::ParseAlertmanager(body, kNow), alerts::ParseCloudMonitoring(body, kNow), alerts::ParseLogLines(body, events, kNow)}) {
    if (!parsed.ok()) continue;
    alerts::NotificationInput in;
    in.id = "0123456789abcdef0123456789abcdef";
    in.destination = "fuzz";
    in.now_ms = kNow;
    for (auto& a : parsed->alerts) {
      if (a.labels.empty() && a.source == "alertmanager") __builtin_trap();  // refused by the parser
      (a.FiringAt(kNow) ? in.firing : in.resolved).push_back(a);
    }
    const auto doc = alerts::NotificationDocument(in);
    const auto discord = alerts::DiscordPayload(doc);
    if (discord["embeds"].size() > alerts::DiscordLimits::kEmbeds) __builtin_trap();
    const auto slack = alerts::SlackPayload(doc);
    if (slack["blocks"].size() > alerts::SlackLimits::kBlocks) __builtin_trap();
    if (alerts::internal::TextLength(slack["text"].get<std::string>()) > alerts::SlackLimits::kText) __builtin_trap();
    (void)discord.dump();  // throws (aborts) on invalid UTF-8
    (void)slack.dump();
  }
  return 0;
}
