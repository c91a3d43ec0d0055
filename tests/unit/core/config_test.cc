#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::core {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml, "test.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, EmptyConfigIsTheEmbeddedDefault) {
  const ServerConfig c = ParseConfig("");
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.admin, "127.0.0.1:9090");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].languages, std::vector<std::string>{"en-US"});
  EXPECT_EQ(c.pools[0].engines[0].engine, "pocketsphinx");
}

TEST(Config, ReadsEveryField) {
  const ServerConfig c = ParseConfig(R"(
listen: 0.0.0.0:8000
admin: 127.0.0.1:0
drain_grace_seconds: 5
limits: {max_upload_bytes: 2048, max_frame_bytes: 4096, max_stream_seconds: 60, idle_timeout_seconds: 2}
pools:
  - name: en
    languages: [en-US, en-GB]
    health_check: {interval_seconds: 0.5, timeout_seconds: 0.2}
    engines:
      - {engine: pocketsphinx, capacity: 3, replicas: 2, args: [--fast-final]}
      - {address: "unix:/tmp/e.sock"}
)");
  EXPECT_EQ(c.listen, "0.0.0.0:8000");
  EXPECT_EQ(c.drain_grace_seconds, 5);
  EXPECT_EQ(c.limits.max_upload_bytes, 2048u);
  EXPECT_EQ(c.limits.idle_timeout_seconds, 2);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].health_check.interval_seconds, 0.5);
  ASSERT_EQ(c.pools[0].engines.size(), 2u);
  EXPECT_EQ(c.pools[0].engines[0].capacity, 3);
  EXPECT_EQ(c.pools[0].engines[0].replicas, 2);
  EXPECT_EQ(c.pools[0].engines[0].args, std::vector<std::string>{"--fast-final"});
  EXPECT_EQ(c.pools[0].engines[1].address, "unix:/tmp/e.sock");
}

TEST(Config, UnknownKeysAreNamed) {
  EXPECT_THAT(ErrorOf("listn: x"), HasSubstr("test.yaml: listn: unknown key"));
  EXPECT_THAT(ErrorOf("limits: {max_uplod_bytes: 3}"), HasSubstr("limits.max_uplod_bytes: unknown key"));
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], engines: [{engine: pocketsphinx, cores: 2}]}]"),
              HasSubstr("pools[0].engines[0].cores: unknown key"));
}

TEST(Config, BadValuesAreNamed) {
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], engines: [{engine: pocketsphinx, capacity: lots}]}]"),
              HasSubstr("pools[0].engines[0].capacity: expected an integer from 0 to 1024, got \"lots\""));
  EXPECT_THAT(ErrorOf("limits: {idle_timeout_seconds: -1}"), HasSubstr("limits.idle_timeout_seconds"));
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], engines: [{engine: whisper}]}]"),
              HasSubstr("unknown built-in engine \"whisper\""));
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], engines: [{engine: pocketsphinx, address: x:1}]}]"),
              HasSubstr("set exactly one of"));
  EXPECT_THAT(ErrorOf("pools: [{name: a, engines: [{engine: pocketsphinx}]}]"), HasSubstr("pools[0].languages"));
  EXPECT_THAT(ErrorOf("listen: [1, 2"), HasSubstr("not valid YAML"));
  EXPECT_THAT(ErrorOf("- just a list"), HasSubstr("expected a mapping"));
}

TEST(Config, MissingFileIsAClearError) {
  EXPECT_THROW(LoadConfigFile("/nonexistent/voxgate.yaml"), ConfigError);
}

}  // namespace
}  // namespace voxgate::core
