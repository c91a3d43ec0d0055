// The `alert_relay` section of the config: the example parses, and mistakes are errors that
// name the key (a webhook URL written inline is refused: it is a secret).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config.h"

namespace voxgate::core {
namespace {

using ::testing::HasSubstr;

TEST(AlertRelayConfigTest, TheExampleParses) {
  const ServerConfig c = LoadConfigFile(std::string(VOXGATE_SOURCE_DIR) + "/examples/alert-relay.yaml");
  const AlertRelayConfig& a = c.alert_relay;
  ASSERT_TRUE(a.enabled);
  EXPECT_EQ(a.listen, "127.0.0.1:9095");
  EXPECT_EQ(a.token_env, "VOXGATE_ALERT_TOKEN");
  ASSERT_EQ(a.destinations.size(), 3u);
  EXPECT_EQ(a.destinations[0].type, "discord");
  EXPECT_EQ(a.destinations[0].rate_per_minute, 30);
  EXPECT_EQ(a.destinations[1].url_file, "/run/secrets/slack-webhook");
  ASSERT_EQ(a.routes.size(), 2u);
  EXPECT_EQ(a.routes[0].match.at("severity"), "critical");
  EXPECT_TRUE(a.routes[0].continue_matching);
  EXPECT_EQ(a.routes[0].group_wait_seconds, 0);
  EXPECT_EQ(a.routes[1].group_by, (std::vector<std::string>{"alertname", "pool"}));
}

TEST(AlertRelayConfigTest, WithoutTheSectionTheRelayIsOff) {
  EXPECT_FALSE(ParseConfig("listen: 127.0.0.1:1\n").alert_relay.enabled);
}

TEST(AlertRelayConfigTest, MistakesNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"alert_relay: {destinations: [{name: d, type: discord, url: 'https://discord.com/api/webhooks/1/x'}]}",
       "alert_relay.destinations[0].url: a webhook URL is a secret"},
      {"alert_relay: {destinations: [{name: d, type: teams, url_env: X}]}", "alert_relay.destinations[0].type: expected discord, slack or webhook"},
      {"alert_relay: {destinations: [{name: d, type: slack}]}", "set exactly one of `url_env` or `url_file`"},
      {"alert_relay: {destinations: []}", "alert_relay.destinations: list at least one destination"},
      {"alert_relay: {destinations: [{name: d, type: slack, url_env: X}], routes: [{destinations: [e]}]}",
       "alert_relay.routes[0].destinations[0]: no destination named \"e\""},
      {"alert_relay: {destinations: [{name: d, type: slack, url_env: X}], routes: [{send_resolved: maybe}]}",
       "alert_relay.routes[0].send_resolved: expected true or false"},
      {"alert_relay: {destinations: [{name: d, type: slack, url_env: X}], events: {min_severity: loud}}", "alert_relay.events.min_severity"},
      {"alert_relay: {destinations: [{name: d, type: slack, url_env: X}], group_wait: 3}", "alert_relay.group_wait: unknown key"},
      {"alert_relay: {destinations: [{name: d, type: slack, url_env: X}, {name: d, type: slack, url_env: Y}]}", "two destinations named \"d\""},
  };
  for (const auto& [yaml, message] : cases) {
    try {
      ParseConfig(yaml);
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(message)) << yaml;
    }
  }
}

}  // namespace
}  // namespace voxgate::core
