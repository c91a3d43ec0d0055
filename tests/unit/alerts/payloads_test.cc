// What Discord, Slack and a generic webhook receive: golden payloads for a typical notification,
// and every documented limit held with oversized input (cut with "…", never refused).
#include "alerts/payloads.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "alerts/internal/text.h"

namespace voxgate::alerts {
namespace {

using internal::TextLength;
using nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

Alert MakeAlert(LabelSet labels, LabelSet annotations, int64_t starts, int64_t ends = 0) {
  Alert a;
  a.labels = std::move(labels);
  a.annotations = std::move(annotations);
  a.starts_at_ms = starts;
  a.ends_at_ms = ends;
  a.source = "alertmanager";
  a.generator_url = "http://prometheus:9090/graph?g0.expr=up";
  return a;
}

json TypicalNotification() {
  NotificationInput in;
  in.id = "0123456789abcdef0123456789abcdef";
  in.destination = "ops";
  in.group_key = "0:{\"alertname\":\"EngineDown\"}";
  in.group_labels = {{"alertname", "EngineDown"}};
  in.firing = {MakeAlert({{"alertname", "EngineDown"}, {"pool", "asr-en"}, {"severity", "critical"}},
                         {{"summary", "engine <asr-en-0> down & out"}, {"runbook", "https://runbooks/engine-down"}}, kNow - 60000),
               MakeAlert({{"alertname", "EngineDown"}, {"pool", "mt"}, {"severity", "warning"}}, {{"summary", "engine mt-0 down"}}, kNow - 30000)};
  in.resolved = {MakeAlert({{"alertname", "EngineDown"}, {"pool", "tts"}, {"severity", "warning"}}, {{"summary", "engine tts-0 down"}},
                           kNow - 600000, kNow - 5000)};
  in.now_ms = kNow;
  return NotificationDocument(in);
}

// Compares with tests/unit/alerts/golden/NAME (VOXGATE_UPDATE_GOLDEN=1 rewrites it).
void ExpectGolden(const std::string& name, const json& payload) {
  const std::string path = std::string(VOXGATE_SOURCE_DIR) + "/tests/unit/alerts/golden/" + name;
  const std::string text = payload.dump(2) + "\n";
  if (std::getenv("VOXGATE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << " (run with VOXGATE_UPDATE_GOLDEN=1 to write it)";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(text, golden.str()) << name << " differs from the golden file";
}

TEST(PayloadsTest, GenericWebhookGolden) {
  const json n = TypicalNotification();
  EXPECT_EQ(n["status"], "firing");
  EXPECT_EQ(n["alerts"].size(), 3u);
  EXPECT_EQ(n["alerts"][2]["status"], "resolved");
  EXPECT_EQ(n["common_labels"], json({{"alertname", "EngineDown"}}));
  ExpectGolden("webhook.json", n);
}

TEST(PayloadsTest, DiscordGolden) {
  const json p = DiscordPayload(TypicalNotification(), "voxgate");
  EXPECT_EQ(p["allowed_mentions"], json({{"parse", json::array()}}));
  ASSERT_EQ(p["embeds"].size(), 3u);
  EXPECT_EQ(p["embeds"][0]["color"], DiscordColour("critical", false));
  EXPECT_EQ(p["embeds"][1]["color"], DiscordColour("warning", false));
  EXPECT_EQ(p["embeds"][2]["color"], DiscordColour("warning", true));
  EXPECT_EQ(p["embeds"][0]["title"], "[FIRING] EngineDown");
  EXPECT_EQ(p["embeds"][2]["title"], "[RESOLVED] EngineDown");
  EXPECT_THAT(p["embeds"][0]["footer"]["text"].get<std::string>(), HasSubstr("0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(p["content"], "[FIRING:2] EngineDown");
  ExpectGolden("discord.json", p);
}

TEST(PayloadsTest, SlackGolden) {
  const json p = SlackPayload(TypicalNotification());
  EXPECT_EQ(p["blocks"][0]["type"], "header");
  // mrkdwn is escaped: alert text cannot make links or mentions.
  EXPECT_THAT(p["blocks"][1]["text"]["text"].get<std::string>(), HasSubstr("engine &lt;asr-en-0&gt; down &amp; out"));
  ExpectGolden("slack.json", p);
}

// Everything too long: 40 alerts, each with 40 labels of 2000 characters and a 10000-character
// description with multi-byte characters.
json OversizedNotification(size_t alerts) {
  NotificationInput in;
  in.id = "ffffffffffffffffffffffffffffffff";
  in.destination = std::string(3000, 'd');
  in.group_key = "g";
  in.group_labels = {{"alertname", std::string(500, 'A')}};
  for (size_t i = 0; i < alerts; ++i) {
    LabelSet labels = {{"alertname", std::string(500, 'A')}, {"severity", "critical"}, {"i", std::to_string(i)}};
    for (int l = 0; l < 40; ++l) labels["label_" + std::to_string(l)] = std::string(2000, 'v');
    std::string description;
    for (int k = 0; k < 2500; ++k) description += "é😀";  // 2 and 4 bytes; 1 and 2 UTF-16 units
    in.firing.push_back(MakeAlert(labels, {{"summary", std::string(300, 's')}, {"description", description},
                                           {std::string(400, 'n'), std::string(5000, 'x')}}, kNow));
  }
  in.now_ms = kNow;
  return NotificationDocument(in);
}

bool ValidUtf8(const std::string& s) {
  try {
    (void)json(s).dump();  // throws on invalid UTF-8
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

TEST(PayloadsTest, DiscordLimitsHoldForOversizedInput) {
  for (size_t alerts : {1u, 3u, 40u}) {
    const json p = DiscordPayload(OversizedNotification(alerts), std::string(200, 'u'));
    EXPECT_LE(TextLength(p["content"].get<std::string>()), DiscordLimits::kContent);
    EXPECT_LE(TextLength(p["username"].get<std::string>()), DiscordLimits::kUsername);
    ASSERT_LE(p["embeds"].size(), DiscordLimits::kEmbeds);
    EXPECT_EQ(p["embeds"].size(), std::min<size_t>(alerts, 10));
    size_t total = 0;
    for (const auto& e : p["embeds"]) {
      const std::string title = e["title"], description = e.value("description", ""), footer = e["footer"]["text"];
      EXPECT_LE(TextLength(title), DiscordLimits::kTitle);
      EXPECT_LE(TextLength(description), DiscordLimits::kDescription);
      EXPECT_LE(TextLength(footer), DiscordLimits::kFooter);
      EXPECT_TRUE(ValidUtf8(title) && ValidUtf8(description) && ValidUtf8(footer));
      total += TextLength(title) + TextLength(description) + TextLength(footer);
      if (e.contains("author")) {
        EXPECT_LE(TextLength(e["author"]["name"].get<std::string>()), DiscordLimits::kAuthor);
        total += TextLength(e["author"]["name"].get<std::string>());
      }
      EXPECT_LE(e.value("fields", json::array()).size(), DiscordLimits::kFields);
      for (const auto& f : e.value("fields", json::array())) {
        const std::string name = f["name"], value = f["value"];
        EXPECT_LE(TextLength(name), DiscordLimits::kFieldName);
        EXPECT_LE(TextLength(value), DiscordLimits::kFieldValue);
        EXPECT_FALSE(value.empty());
        total += TextLength(name) + TextLength(value);
      }
    }
    EXPECT_LE(total, DiscordLimits::kTotal) << alerts << " alerts";
    EXPECT_THAT(p["embeds"][0]["description"].get<std::string>(), EndsWith("…"));
    if (alerts > 10) {
      EXPECT_THAT(p["embeds"][9]["title"].get<std::string>(), HasSubstr("31 more alerts"));
    }
  }
  // One alert alone keeps the per-field limits (not squeezed by the total).
  const json one = DiscordPayload(OversizedNotification(1));
  EXPECT_THAT(one["embeds"][0]["title"].get<std::string>(), EndsWith("…"));
}

TEST(PayloadsTest, SlackLimitsHoldForOversizedInput) {
  for (size_t alerts : {1u, 48u, 49u, 60u}) {
    const json p = SlackPayload(OversizedNotification(alerts));
    EXPECT_LE(TextLength(p["text"].get<std::string>()), SlackLimits::kText);
    EXPECT_THAT(p["text"].get<std::string>(), EndsWith("…"));
    ASSERT_LE(p["blocks"].size(), SlackLimits::kBlocks) << alerts;
    EXPECT_LE(TextLength(p["blocks"][0]["text"]["text"].get<std::string>()), SlackLimits::kHeader);
    size_t sections = 0;
    for (const auto& b : p["blocks"]) {
      if (b["type"] == "section") {
        sections++;
        EXPECT_LE(TextLength(b["text"]["text"].get<std::string>()), SlackLimits::kSectionText);
        EXPECT_TRUE(ValidUtf8(b["text"]["text"].get<std::string>()));
      }
      if (b["type"] == "context") {
        for (const auto& el : b["elements"]) EXPECT_LE(TextLength(el["text"].get<std::string>()), SlackLimits::kContextText);
      }
    }
    EXPECT_EQ(sections, alerts <= 48 ? alerts : 47u);
  }
}

TEST(TextTest, TruncationCountsUtf16UnitsAndKeepsCharactersWhole) {
  EXPECT_EQ(internal::Truncate("hello", 5), "hello");
  EXPECT_EQ(internal::Truncate("hello!", 5), "hell…");
  EXPECT_EQ(TextLength("😀"), 2u);
  EXPECT_EQ(internal::Truncate("😀😀😀", 4), "😀…");
  EXPECT_EQ(internal::TruncateBytes("ééé", 5), "é…");
  EXPECT_EQ(internal::TruncateBytes("ééé", 6), "ééé");
  EXPECT_EQ(internal::SlackEscape("<!channel> & <@U1>"), "&lt;!channel&gt; &amp; &lt;@U1&gt;");
}

}  // namespace
}  // namespace voxgate::alerts
