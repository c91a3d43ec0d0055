#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace voxgate::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].languages, std::vector<std::string>{"en-US"});
  EXPECT_EQ(c.pools[0].engines[0].engine, "pocketsphinx");
  EXPECT_EQ(c.pools[1].service, "mt");
  EXPECT_EQ(c.pools[1].engines[0].engine, "apertium");
  EXPECT_EQ(c.pools[2].service, "tts");
  EXPECT_EQ(c.pools[2].engines[0].engine, "espeak");
  EXPECT_EQ(c.pools[2].engines[0].replicas, 2);
  ASSERT_EQ(c.routes.size(), 4u);  // asr en-US; mt from en and from es; tts any language
  EXPECT_EQ(c.routes[3].language, "*");
  EXPECT_EQ(DefaultConfig().routes.size(), 4u);  // what `voxgate serve` without --config runs
  EXPECT_EQ(DefaultConfig().routes[0].pools[0].pool, c.pools[0].name);
  EXPECT_EQ(c.routes[1].service, "mt");
}

TEST(Config, EnginesMustDoWhatTheirPoolServes) {
  EXPECT_NO_THROW(ParseConfig("pools: [{name: t, service: mt, languages: [en], engines: [{engine: apertium}]}]"));
  EXPECT_THAT(ErrorOf("pools: [{name: t, service: mt, languages: [en], engines: [{engine: pocketsphinx}]}]"),
              HasSubstr("pools[0].engines[0].engine: pocketsphinx serves asr; this pool's service is mt"));
  EXPECT_THAT(ErrorOf("pools: [{name: t, service: tts, languages: [en], engines: [{engine: apertium}]}]"),
              HasSubstr("apertium serves mt; this pool's service is tts"));
  EXPECT_THAT(ErrorOf("pools: [{name: t, service: stt, languages: [en], engines: [{engine: apertium}]}]"),
              HasSubstr("unknown service \"stt\" (known: asr, mt, tts)"));
}

TEST(Config, ReadsEveryField) {
  const ServerConfig c = ParseConfig(R"(
listen: 0.0.0.0:8000
admin: 127.0.0.1:0
drain_grace_seconds: 5
limits: {max_upload_bytes: 2048, max_frame_bytes: 4096, max_stream_seconds: 60, idle_timeout_seconds: 2,
         max_upload_memory_bytes: 1000000, max_connections: 50}
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
  EXPECT_EQ(c.limits.max_upload_memory_bytes, 1000000u);
  EXPECT_EQ(c.limits.max_connections, 50);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].health_check.interval_seconds, 0.5);
  ASSERT_EQ(c.pools[0].engines.size(), 2u);
  EXPECT_EQ(c.pools[0].engines[0].capacity, 3);
  EXPECT_EQ(c.pools[0].engines[0].replicas, 2);
  EXPECT_EQ(c.pools[0].engines[0].args, std::vector<std::string>{"--fast-final"});
  EXPECT_EQ(c.pools[0].engines[1].address, "unix:/tmp/e.sock");
}

TEST(Config, ReadsPoolBehaviour) {
  const ServerConfig c = ParseConfig(R"(
pools:
  - name: en
    languages: [en-US]
    health_check: {jitter_seconds: 0, healthy_threshold: 3, unhealthy_threshold: 2}
    outlier_detection: {consecutive_failures: 5, base_ejection_seconds: 10, max_ejection_seconds: 60, max_ejected_percent: 20}
    queue: {max_streams: 0, timeout_seconds: 2}
    failover: {max_replay_seconds: 20, max_failovers: 1, timeout_seconds: 9}
    progress: {result_timeout_seconds: 4}
    min_ready: 1
    slow_start_seconds: 30
    engines: [{engine: pocketsphinx}, {dns: "engines.voxgate.svc.cluster.local:7003", refresh_seconds: 5}]
)");
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.health_check.healthy_threshold, 3);
  EXPECT_EQ(p.health_check.unhealthy_threshold, 2);
  EXPECT_EQ(p.outlier_detection.consecutive_failures, 5);
  EXPECT_EQ(p.outlier_detection.max_ejected_percent, 20);
  EXPECT_EQ(p.queue.max_streams, 0);
  EXPECT_EQ(p.queue.timeout_seconds, 2);
  EXPECT_EQ(p.failover.max_replay_seconds, 20);
  EXPECT_EQ(p.failover.max_failovers, 1);
  EXPECT_EQ(p.failover.timeout_seconds, 9);
  EXPECT_EQ(p.result_timeout_seconds, 4);
  EXPECT_EQ(p.min_ready, 1);
  EXPECT_EQ(p.slow_start_seconds, 30);
  EXPECT_EQ(p.engines[1].dns, "engines.voxgate.svc.cluster.local:7003");
  EXPECT_EQ(p.engines[1].refresh_seconds, 5);
  for (const char* bad : {"engines", "engines:", ":7003", "engines:0", "engines:70000", "engines:80x"}) {
    EXPECT_THAT(ErrorOf(std::string("pools: [{name: a, languages: [en], engines: [{dns: \"") + bad + "\"}]}]"),
                HasSubstr("pools[0].engines[0].dns: expected host:port"))
        << bad;
  }
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], queue: {max_stream: 3}, engines: [{engine: pocketsphinx}]}]"),
              HasSubstr("pools[0].queue.max_stream: unknown key"));
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], health_check: {healthy_threshold: 0}, engines: [{engine: pocketsphinx}]}]"),
              HasSubstr("pools[0].health_check.healthy_threshold"));
}

TEST(Config, RoutesDefaultToOnePerPoolLanguage) {
  const ServerConfig c = ParseConfig("pools: [{name: en, languages: [en-US, en-GB], engines: [{engine: pocketsphinx}]}]");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[1].language, "en-GB");
  EXPECT_EQ(c.routes[1].pools[0].pool, "en");
}

TEST(Config, ReadsRoutesWithCanaryAndShadow) {
  const ServerConfig c = ParseConfig(R"(
pools:
  - {name: stable, languages: [en-US], engines: [{engine: pocketsphinx}]}
  - {name: next, languages: [en-US], engines: [{engine: pocketsphinx}]}
routes:
  - language: en
    split: [{pool: stable, weight: 95}, {pool: next, weight: 5}]
    shadow: {pool: next, share: 0.1}
  - {language: "*", pool: stable}
)");
  ASSERT_EQ(c.routes.size(), 2u);
  ASSERT_EQ(c.routes[0].pools.size(), 2u);
  EXPECT_EQ(c.routes[0].pools[1].pool, "next");
  EXPECT_EQ(c.routes[0].pools[1].weight, 5);
  EXPECT_EQ(c.routes[0].shadow_pool, "next");
  EXPECT_EQ(c.routes[0].shadow_share, 0.1);
  EXPECT_EQ(c.routes[1].pools[0].pool, "stable");
  const std::string pools = "pools: [{name: a, languages: [en], engines: [{engine: pocketsphinx}]}]\n";
  EXPECT_THAT(ErrorOf(pools + "routes: [{language: en, pool: b}]"), HasSubstr("routes[0].pool: no pool named \"b\""));
  EXPECT_THAT(ErrorOf(pools + "routes: [{language: en, split: [{pool: z, weight: 1}]}]"), HasSubstr("routes[0].split[0].pool: no pool named"));
  EXPECT_THAT(ErrorOf(pools + "routes: [{language: en}]"), HasSubstr("set exactly one of `pool` or `split`"));
  EXPECT_THAT(ErrorOf(pools + "routes: [{language: en, pool: a, shadow: {pool: a, share: 2}}]"), HasSubstr("routes[0].shadow.share"));
  EXPECT_THAT(ErrorOf(pools + "routes: [{language: en, pool: a, weight: 3}]"), HasSubstr("routes[0].weight: unknown key"));
}

TEST(Config, ReadsApiKeysAndPlanRoutes) {
  const ServerConfig c = ParseConfig(R"(
pools:
  - {name: free, languages: [en-US], engines: [{engine: pocketsphinx}]}
  - {name: fast, languages: [en-US], engines: [{engine: pocketsphinx}]}
routes:
  - {language: en, pool: free}
  - {language: en, plan: premium, pool: fast}
api_keys:
  - {name: team-a, plan: premium, sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}
  - {name: team-b, env: VOXGATE_KEY_TEAM_B}
)");
  ASSERT_EQ(c.api_keys.size(), 2u);
  EXPECT_EQ(c.api_keys[0].plan, "premium");
  EXPECT_EQ(c.api_keys[1].env, "VOXGATE_KEY_TEAM_B");
  EXPECT_EQ(c.routes[1].plan, "premium");
  EXPECT_THAT(ErrorOf("api_keys: [{name: a, key: hunter2}]"), HasSubstr("api_keys[0].key: unknown key"));
  EXPECT_THAT(ErrorOf("api_keys: [{name: a}]"), HasSubstr("never the key itself"));
  EXPECT_THAT(ErrorOf("api_keys: [{name: a, sha256: abc}]"), HasSubstr("api_keys[0].sha256: expected 64 hex digits"));
  EXPECT_THAT(ErrorOf("api_keys: [{plan: x, env: K}]"), HasSubstr("api_keys[0].name: required"));
  EXPECT_THAT(ErrorOf("api_keys: [{name: a, env: K}, {name: a, env: L}]"), HasSubstr("two API keys named \"a\""));
}

// The documented example holds every key with its default: it must load, and match the defaults.
TEST(Config, TheDocumentedExampleLoads) {
  const ServerConfig c = LoadConfigFile(VOXGATE_SOURCE_DIR "/examples/config/default.yaml");
  const ServerConfig defaults = ParseConfig("");
  EXPECT_EQ(c.pools[0].queue.max_streams, defaults.pools[0].queue.max_streams);
  EXPECT_EQ(c.pools[0].failover.timeout_seconds, defaults.pools[0].failover.timeout_seconds);
  EXPECT_EQ(c.pools[0].health_check.healthy_threshold, defaults.pools[0].health_check.healthy_threshold);
  EXPECT_EQ(c.limits.idle_timeout_seconds, defaults.limits.idle_timeout_seconds);
  EXPECT_EQ(c.pools[0].result_timeout_seconds, defaults.pools[0].result_timeout_seconds);
  EXPECT_EQ(c.pools[0].min_ready, defaults.pools[0].min_ready);
  EXPECT_EQ(c.pools[0].slow_start_seconds, defaults.pools[0].slow_start_seconds);
  ASSERT_EQ(c.pools.size(), defaults.pools.size());
  for (size_t i = 0; i < c.pools.size(); ++i) {
    EXPECT_EQ(c.pools[i].service, defaults.pools[i].service);
    EXPECT_EQ(c.pools[i].languages, defaults.pools[i].languages);
    EXPECT_EQ(c.pools[i].engines[0].engine, defaults.pools[i].engines[0].engine);
    EXPECT_EQ(c.pools[i].engines[0].replicas, defaults.pools[i].engines[0].replicas);
  }
}

TEST(Config, EveryExampleLoads) {
  for (const char* name : {"two-engines.yaml", "canary-shadow.yaml", "split/pool.yaml", "split/router.yaml", "split/endpoint.yaml"}) {
    EXPECT_NO_THROW(LoadConfigFile(std::string(VOXGATE_SOURCE_DIR "/examples/config/") + name)) << name;
  }
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
  EXPECT_THAT(ErrorOf("limits: {max_connections: 0}"), HasSubstr("limits.max_connections"));
  // Room for at least one whole upload, or no upload of the largest size could ever be taken.
  EXPECT_THAT(ErrorOf("limits: {max_upload_bytes: 1000000, max_upload_memory_bytes: 1000000}"),
              HasSubstr("limits.max_upload_memory_bytes: must be at least max_upload_bytes + 65536"));
  // Unset, it holds at least one whole upload however large uploads may be.
  EXPECT_EQ(ParseConfig("listen: 127.0.0.1:0").limits.max_upload_memory_bytes, 256u << 20);
  EXPECT_EQ(ParseConfig("limits: {max_upload_bytes: 1073741824}").limits.max_upload_memory_bytes,
            (size_t{1} << 30) + kMultipartFramingBytes);
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

// Environment variables set for one test, unset at its end however it ends.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [name, value] : vars_) setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() { Clear(); }
  void Clear() {
    for (const auto& [name, value] : vars_) unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::string> vars_;
};

TEST(Config, ValuesComeFromTheEnvironment) {
  ScopedEnvironment env({{"VOXGATE_TEST_ROUTER", "voxgate-router-preview:7001"}, {"VOXGATE_TEST_CAPACITY", "3"}});
  const ServerConfig c = ParseConfig(R"(
listen: "${VOXGATE_TEST_ROUTER}"
pools:
  - name: "routers-$${literal}"
    languages: [en-US]
    engines:
      - {dns: "${VOXGATE_TEST_ROUTER}", capacity: "${VOXGATE_TEST_CAPACITY}"}
      - {address: "unix:/run/${VOXGATE_TEST_CAPACITY}$x.sock"}
)");
  EXPECT_EQ(c.listen, "voxgate-router-preview:7001");
  EXPECT_EQ(c.pools[0].name, "routers-${literal}");
  EXPECT_EQ(c.pools[0].engines[0].dns, "voxgate-router-preview:7001");
  EXPECT_EQ(c.pools[0].engines[0].capacity, 3);
  EXPECT_EQ(c.pools[0].engines[1].address, "unix:/run/3$x.sock");  // a lone $ is itself
  // An alias is its anchor: expanded once ("$${" stays a literal).
  EXPECT_EQ(ParseConfig("listen: &a \"x$${VOXGATE_TEST_CAPACITY}\"\nadmin: *a").admin, "x${VOXGATE_TEST_CAPACITY}");
}

TEST(Config, AnUnsetOrMalformedVariableNamesTheKey) {
  unsetenv("VOXGATE_TEST_UNSET");
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en], engines: [{dns: \"${VOXGATE_TEST_UNSET}\"}]}]"),
              HasSubstr("test.yaml: pools[0].engines[0].dns: environment variable VOXGATE_TEST_UNSET is not set"));
  EXPECT_THAT(ErrorOf("listen: \"${1X}\""), HasSubstr("listen: \"${1X}\" does not name an environment variable"));
  EXPECT_THAT(ErrorOf("listen: \"${OPEN\""), HasSubstr("listen: \"${\" without its \"}\""));
  EXPECT_THAT(ErrorOf("listen: \"${}\""), HasSubstr("does not name an environment variable"));
  EXPECT_THAT(ErrorOf("? [a]\n: b"), HasSubstr("a key that is not a plain name"));
  // A bad value from the environment says where it came from.
  ScopedEnvironment env({{"VOXGATE_TEST_CAPACITY", "lots"}});
  EXPECT_THAT(ErrorOf("pools: [{name: a, languages: [en-US], engines: [{engine: pocketsphinx, capacity: \"${VOXGATE_TEST_CAPACITY}\"}]}]"),
              HasSubstr("pools[0].engines[0].capacity: expected an integer from 0 to 1024, got \"lots\" (from ${VOXGATE_TEST_CAPACITY})"));
}

// A file with the given text, removed at the end of the test.
class ScopedFile {
 public:
  ScopedFile(const std::string& name, const std::string& text) : path_(::testing::TempDir() + "/" + name) { std::ofstream(path_) << text; }
  ~ScopedFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ResolveErrorOf(const std::string& path) {
  try {
    ResolveConfigFile(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// `voxgate check-config --print`: the config as voxgate reads it, itself a config that reads the same.
TEST(Config, ResolvedFileIsTheConfigWithTheEnvironmentInIt) {
  ScopedEnvironment env({{"VOXGATE_TEST_ROUTER", "dns:///voxgate-router-preview:7001"}, {"VOXGATE_TEST_PORT", "7002"}});
  const ScopedFile file("resolve.yaml", R"(# a comment
listen: &where "127.0.0.1:${VOXGATE_TEST_PORT}"
admin: *where
pools:
  - name: "${VOXGATE_TEST_PORT}"
    languages: [en-US]
    engines: [{dns: "${VOXGATE_TEST_ROUTER}", capacity: 3}, {address: "unix:/run/$${x}.sock"}]
)");
  const std::string resolved = ResolveConfigFile(file.path());
  EXPECT_THAT(resolved, HasSubstr("dns: \"dns:///voxgate-router-preview:7001\""));
  EXPECT_THAT(resolved, HasSubstr("name: \"7002\""));  // quoted as written: a string, not a number
  EXPECT_THAT(resolved, HasSubstr("capacity: 3\n"));
  EXPECT_THAT(resolved, HasSubstr("admin: \"127.0.0.1:7002\""));  // an alias written out
  EXPECT_THAT(resolved, HasSubstr("address: \"unix:/run/$${x}.sock\""));  // still a literal when read again
  EXPECT_THAT(resolved, Not(HasSubstr("comment")));
  env.Clear();
  const ServerConfig again = ParseConfig(resolved);  // with nothing left to expand
  EXPECT_EQ(again.listen, "127.0.0.1:7002");
  EXPECT_EQ(again.pools[0].name, "7002");
  EXPECT_EQ(again.pools[0].engines[0].dns, "dns:///voxgate-router-preview:7001");
  EXPECT_EQ(again.pools[0].engines[1].address, "unix:/run/${x}.sock");
  EXPECT_THAT(ResolveErrorOf(file.path()), HasSubstr("resolve.yaml: listen: environment variable VOXGATE_TEST_PORT is not set"));
}

// Values that YAML would read as something else unquoted stay strings, for any reader.
TEST(Config, ResolvedValuesKeepTheirMeaning) {
  ScopedEnvironment env({{"VOXGATE_TEST_VALUE", "true"}});
  const ScopedFile file("meaning.yaml", "listen: \"${VOXGATE_TEST_VALUE}\"\nadmin: !!str 9090\nlogging: {trace_project: \"x: y # z\"}\n");
  const std::string resolved = ResolveConfigFile(file.path());
  EXPECT_THAT(resolved, HasSubstr("listen: \"true\""));
  EXPECT_THAT(resolved, HasSubstr("admin: \"9090\""));
  EXPECT_EQ(ParseConfig(resolved).logging.trace_project, "x: y # z");
  const ScopedFile empty("empty.yaml", "# nothing but a comment\n");
  EXPECT_EQ(ResolveConfigFile(empty.path()), "{}\n");  // a config, as the empty file is
}

TEST(Config, ADirectoryIsNotAConfig) {
  EXPECT_THAT(ResolveErrorOf(::testing::TempDir()), HasSubstr("a directory, not a config file"));
  EXPECT_THROW(LoadConfigFile(::testing::TempDir()), ConfigError);  // not the built-in default
}

}  // namespace
}  // namespace voxgate::core

namespace voxgate::core {
namespace {

TEST(Config, ReadsLogging) {
  const auto c = ParseConfig("logging: {levels: {default: warning, pool: debug}, trace_project: my-project}\n");
  EXPECT_EQ(c.logging.levels, (std::map<std::string, std::string>{{"default", "warning"}, {"pool", "debug"}}));
  EXPECT_EQ(c.logging.trace_project, "my-project");
  EXPECT_THAT(ErrorOf("logging: {levels: {pol: debug}}\n"), HasSubstr("logging.levels: unknown log module \"pol\""));
  EXPECT_THAT(ErrorOf("logging: {levels: {pool: loud}}\n"), HasSubstr("logging.levels: log level for pool: expected debug"));
  EXPECT_THAT(ErrorOf("logging: {levels: [debug]}\n"), HasSubstr("logging.levels: expected a mapping"));
}

}  // namespace
}  // namespace voxgate::core

#include "core/host_port.h"

namespace voxgate::core {
namespace {

TEST(HostPort, ParsesWhatConfigsWrite) {
  auto hp = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8080);
  EXPECT_EQ(ParseHostPort("localhost:0")->host, "127.0.0.1");
  EXPECT_EQ(ParseHostPort("[::1]:9090")->host, "::1");
  for (const char* bad : {"", "8080", "host:", "host:65536", "host:-1", "host:80x", "host: 80"}) {
    EXPECT_FALSE(ParseHostPort(bad)) << bad;
  }
  EXPECT_EQ(FormatHostPort("::1", 9090), "[::1]:9090");
  EXPECT_EQ(FormatHostPort("10.0.0.1", 80), "10.0.0.1:80");
}

}  // namespace
}  // namespace voxgate::core
