// The voxgate server configuration (YAML). Loading is strict: an unknown key or a bad value is an
// error at start-up that names the key, e.g. `pools[0].engines[1].capacity: expected an integer
// from 1 to 1024, got "lots"`. `${NAME}` in any value is the environment variable NAME (unset: an
// error), so that a Kubernetes Deployment can set a value as a whole field; `$${` is a literal `${`.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace voxgate::core {

// Engines the pool sends work to: a built-in engine the server starts and supervises
// (`engine: pocketsphinx` runs bin/voxgate-engine-pocketsphinx), one already running at
// `address`, or every address a DNS name resolves to, re-resolved every `refresh_seconds`.
struct EngineConfig {
  std::string engine;   // built-in engine name
  std::string address;  // unix:/path or host:port
  std::string dns;      // host:port, e.g. a Kubernetes headless Service
  double refresh_seconds = 10;
  int capacity = 0;     // concurrent streams per engine process; 0: sized to the machine
  int replicas = 1;     // processes to start (built-in engines only)
  std::vector<std::string> args;  // extra command-line arguments for the engine process
};

struct HealthCheckConfig {
  double interval_seconds = 5;
  double timeout_seconds = 1;
  double jitter_seconds = 0.5;  // up to this much added to each interval
  int healthy_threshold = 2;    // passing checks before a failed engine returns
  int unhealthy_threshold = 1;  // failing checks before an engine leaves rotation
};

// Passive health: an engine whose streams keep failing is ejected for a while.
struct OutlierDetectionConfig {
  int consecutive_failures = 3;
  double base_ejection_seconds = 30;  // times the number of ejections so far
  double max_ejection_seconds = 300;
  int max_ejected_percent = 50;  // of the pool's engines; at least one may always be ejected
};

// Streams waiting for a free engine slot.
struct QueueConfig {
  int max_streams = 64;
  double timeout_seconds = 5;
};

// Moving a stream to another engine when its engine fails.
struct FailoverConfig {
  double max_replay_seconds = 60;  // audio kept since a stream's last final result
  int max_failovers = 3;           // per stream
  double timeout_seconds = 30;     // waiting for another engine
};

struct PoolConfig {
  std::string name;
  std::string service = "asr";         // asr, mt or tts
  std::vector<std::string> languages;  // BCP-47 codes routed to this pool; "*": any
  HealthCheckConfig health_check;
  OutlierDetectionConfig outlier_detection;
  QueueConfig queue;
  FailoverConfig failover;
  int min_ready = 0;              // healthy engines held back as warm standbys
  double slow_start_seconds = 0;  // ramp of a newly healthy engine's share; 0: off
  double result_timeout_seconds = 15;  // an engine that owes a stream an answer this long hung
  std::vector<EngineConfig> engines;
};

// An upload's body may exceed limits.max_upload_bytes by this much: the multipart framing and
// form fields around the file.
inline constexpr size_t kMultipartFramingBytes = 64 * 1024;

struct LimitsConfig {
  size_t max_upload_bytes = 25 * 1024 * 1024;  // OpenAI's limit for /v1/audio/transcriptions
  size_t max_frame_bytes = 1024 * 1024;        // one WebSocket message
  // Upload bodies held in memory at once, over all connections; the upload that would cross it
  // is refused with 503 (retry) before it is read.
  size_t max_upload_memory_bytes = 256 * 1024 * 1024;
  int max_connections = 1024;  // open client connections; more are closed as they arrive
  double max_stream_seconds = 3600;            // audio per stream or file
  double idle_timeout_seconds = 30;            // no message from a streaming client
  double request_timeout_seconds = 600;        // whole HTTP request, upload and recognition
};

// Where the router sends a stream. Without a `routes` section, every pool gets a route per
// language it lists.
struct RouteConfig {
  std::string service = "asr";
  std::string language = "*";  // "en-US" exactly, "en" for any English, "*" for anything
  std::string model;           // empty: any model
  std::string plan;            // the caller's API-key plan; empty: any caller
  struct Split {
    std::string pool;
    double weight = 1;
  };
  std::vector<Split> pools;    // `pool: X`, or a weighted `split: [{pool, weight}]` (canary)
  std::string shadow_pool;     // mirrored here and compared, never answered from
  double shadow_share = 0;     // of the route's streams
};

// A client API key: its name (in logs), its plan (routes may match on it), and the key itself as
// its SHA-256 (hex) or the name of an environment variable that holds it. Never the key in here.
struct ApiKeyConfig {
  std::string name;
  std::string plan;
  std::string sha256;
  std::string env;
};

// Logging (core/log.h): levels per module ("default" for the rest) and the Google Cloud project
// trace ids are linked to (empty: $GOOGLE_CLOUD_PROJECT, else bare trace ids).
struct LoggingConfig {
  std::map<std::string, std::string> levels;
  std::string trace_project;
};

// The alert relay (`voxgate alert-relay`, and inside `serve` when the config has an
// `alert_relay` section). Webhook URLs and the input token are secrets: the config names the
// environment variable or file that holds them, never the value.
struct AlertDestinationConfig {
  std::string name;
  std::string type;      // discord, slack or webhook
  std::string url_env;   // an environment variable holding the webhook URL
  std::string url_file;  // or a file holding it (e.g. a mounted Kubernetes Secret)
  double rate_per_minute = 0;  // 0: the type's default (discord 30, slack 60, webhook 120)
  int burst = 0;               // 0: the type's default (discord 5, slack 3, webhook 10)
  double timeout_seconds = 10;  // connect, write and read, each
  std::string username;         // discord: the name its messages show (default voxgate)
};

struct AlertRouteConfig {
  std::map<std::string, std::string> match;  // label: value, all must equal; none: every alert
  std::vector<std::string> destinations;     // none: every destination
  std::vector<std::string> group_by = {"alertname"};  // "...": every label
  double group_wait_seconds = 30;
  double group_interval_seconds = 300;
  double repeat_interval_seconds = 4 * 3600;
  bool send_resolved = true;
  bool continue_matching = false;  // `continue: true`: also try the routes after this one
};

struct AlertRelayConfig {
  bool enabled = false;  // the config has the section
  std::string listen = "127.0.0.1:9095";
  std::string database = "voxgate-alerts.db";  // the SQLite outbox
  std::string token_env;   // input_token: {env: VAR} or {file: /path}; none: inputs need no token
  std::string token_file;
  size_t max_body_bytes = 1 << 20;
  int max_alerts = 10000;       // alerts held; inputs beyond get 503
  int max_undelivered = 10000;  // notifications waiting for delivery; inputs beyond get 503
  double retention_hours = 24;  // delivered and failed notifications kept
  std::string events_min_severity = "error";  // voxgate's own log lines that become alerts
  double events_resolve_timeout_seconds = 300;
  double initial_backoff_seconds = 1;
  double max_backoff_seconds = 300;
  double give_up_after_hours = 24;
  std::vector<AlertDestinationConfig> destinations;
  std::vector<AlertRouteConfig> routes;  // none: one route to every destination
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string vosk_listen;  // a listener speaking only the vosk protocol (at any path); empty: none
  std::string admin = "127.0.0.1:9090";
  double drain_grace_seconds = 30;
  LimitsConfig limits;
  std::vector<PoolConfig> pools;
  std::vector<RouteConfig> routes;  // filled from `pools` when the config has none
  std::vector<ApiKeyConfig> api_keys;  // none: the endpoint takes requests without a key
  LoggingConfig logging;
  AlertRelayConfig alert_relay;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses YAML text; `source` names it in error messages. Throws ConfigError.
ServerConfig ParseConfig(const std::string& yaml_text, const std::string& source = "config");
// Reads and parses a file. Throws ConfigError.
ServerConfig LoadConfigFile(const std::string& path);
// Checks a file as LoadConfigFile does, and returns it as voxgate reads it: YAML with each
// `${NAME}` replaced from the environment (`voxgate check-config --print`). Throws ConfigError.
std::string ResolveConfigFile(const std::string& path);
// The embedded default: one pocketsphinx en-US engine with capacity sized to this machine, an
// apertium engine translating from English and Spanish, and two espeak-ng synthesizers.
ServerConfig DefaultConfig();
// "asr", "mt" or "tts" for a built-in engine's name; empty for an unknown one.
std::string BuiltInEngineService(const std::string& engine);
// Streams per pocketsphinx process when the config says 0: ~4 per usable core (one stream costs
// ~0.15-0.18 of a core), at least 2.
int DefaultEngineCapacity();

}  // namespace voxgate::core
