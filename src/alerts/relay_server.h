// The alert relay as a server: its input listener (HTTP), an optional admin listener, the
// outbox, the dispatcher's thread and the HTTPS client. `voxgate alert-relay` runs one; `voxgate
// serve` runs one inside when the config has an `alert_relay` section.
//
// Input listener:
//   POST /v1/alerts/alertmanager      Alertmanager webhook (version 4)
//   POST /v1/alerts/cloud-monitoring  Cloud Monitoring webhook notification (incident JSON 1.2)
//   POST /v1/alerts/events            voxgate JSON log lines, one per line (or a JSON array)
//   GET  /healthz
// 200 only once the input is committed to the outbox; 400 bad input, 401 bad or missing
// token, 413 too large, 503 outbox full (with Retry-After), 500 the outbox cannot be written.
// Admin listener: GET /healthz, /readyz, /metrics, /v1/status.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/log.h"

namespace voxgate::alerts {

struct RelayServerOptions {
  core::AlertRelayConfig config;
  std::string admin;  // host:port; empty: no admin listener (inside serve, the gateway's serves /metrics)
  int io_threads = 2;
};

class RelayServer {
 public:
  // Reads the secrets (webhook URLs, input token), opens the outbox, binds and starts.
  static absl::StatusOr<std::unique_ptr<RelayServer>> Start(RelayServerOptions options);
  ~RelayServer();

  // Stops taking inputs, gives deliveries on the wire up to 5 s to finish, stops.
  void Stop();
  std::string listen_address() const;
  std::string admin_address() const;

  // For core::AddLogSink in `serve`: voxgate's own log lines as events. Never blocks: lines go
  // to a bounded queue (voxgate_alert_events_dropped_total counts what did not fit) and are
  // committed on the relay's thread. Safe to call after Stop (lines are then dropped).
  std::function<void(const nlohmann::json& line)> LogSink();
  // The lowest severity LogSink needs to see (events that resolve an alert come at INFO).
  core::Severity log_sink_severity() const;

  struct Impl;

 private:
  explicit RelayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `voxgate alert-relay`: runs until SIGTERM or SIGINT (block them first); the exit code.
int RunAlertRelay(const core::AlertRelayConfig& config, const std::string& admin);

}  // namespace voxgate::alerts
