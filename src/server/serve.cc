#include "server/serve.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "alerts/relay_server.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/process.h"
#include "gateway/gateway.h"
#include "pool/dns_discovery.h"
#include "pool/engine_process.h"
#include "pool/pool.h"
#include "router/router.h"
#include "rpc/engine_server.h"

namespace voxgate::server {
namespace {

using std::chrono::milliseconds;

milliseconds Millis(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000)); }

// What the config's pools become.
struct Pools {
  std::vector<std::unique_ptr<pool::EngineProcess>> processes;  // built-in engines to supervise
  std::vector<std::shared_ptr<pool::Pool>> pools;
  std::map<std::string, std::shared_ptr<pool::Pool>> by_name;
  std::vector<std::unique_ptr<pool::DnsDiscovery>> discoveries;

  void Start() {
    for (auto& proc : processes) proc->Start();
    for (auto& p : pools) p->Start();
    for (auto& d : discoveries) d->Start();
  }
  void Stop() {
    for (auto& d : discoveries) d->Stop();
    for (auto& p : pools) p->Stop();
    pools.clear();
    by_name.clear();
    for (auto& proc : processes) proc->Stop();
  }
};

pool::Pool::Options PoolOptions(const core::PoolConfig& pc) {
  pool::Pool::Options o;
  o.name = pc.name;
  o.health_interval = Millis(pc.health_check.interval_seconds);
  o.health_timeout = Millis(pc.health_check.timeout_seconds);
  o.health_jitter = Millis(pc.health_check.jitter_seconds);
  o.health.healthy_threshold = pc.health_check.healthy_threshold;
  o.health.unhealthy_threshold = pc.health_check.unhealthy_threshold;
  o.health.consecutive_failures_to_eject = pc.outlier_detection.consecutive_failures;
  o.health.base_ejection = Millis(pc.outlier_detection.base_ejection_seconds);
  o.health.max_ejection = Millis(pc.outlier_detection.max_ejection_seconds);
  o.max_ejected_share = pc.outlier_detection.max_ejected_percent / 100.0;
  o.max_queued_streams = static_cast<size_t>(pc.queue.max_streams);
  o.queue_timeout = Millis(pc.queue.timeout_seconds);
  o.failover_timeout = Millis(pc.failover.timeout_seconds);
  o.stream.max_replay_seconds = pc.failover.max_replay_seconds;
  o.stream.max_failovers = pc.failover.max_failovers;
  o.stream.result_timeout_seconds = pc.result_timeout_seconds;
  o.min_ready = static_cast<size_t>(pc.min_ready);
  o.slow_start_window = Millis(pc.slow_start_seconds);
  return o;
}

// Built-in engines run as children on unix sockets in `socket_dir`; `address` engines are reached
// as they are; `dns` names get a discovery each.
Pools BuildPools(const core::ServerConfig& config, const std::string& socket_dir, const std::string& engine_bin_dir) {
  Pools out;
  for (const auto& pc : config.pools) {
    std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines;
    std::vector<const core::EngineConfig*> dns;
    int index = 0;
    for (const auto& ec : pc.engines) {
      if (!ec.dns.empty()) {
        dns.push_back(&ec);
        continue;
      }
      if (!ec.address.empty()) {
        engines.push_back(std::make_shared<rpc::RemoteSpeechService>(ec.address, rpc::RemoteSpeechService::Options{}));
        continue;
      }
      // Recognizers are sized to the machine; other engines know their own default.
      const int capacity = ec.capacity > 0 ? ec.capacity : ec.engine == "pocketsphinx" ? core::DefaultEngineCapacity() : 0;
      std::string languages;
      for (const auto& l : pc.languages) {
        if (l != "*") languages += (languages.empty() ? "" : ",") + l;  // no list: the engine serves all it can
      }
      for (int r = 0; r < ec.replicas; ++r, ++index) {
        const std::string address = "unix:" + socket_dir + "/" + pc.name + "-" + std::to_string(index) + ".sock";
        pool::EngineProcess::Options po;
        po.name = pc.name + "/" + ec.engine + "-" + std::to_string(index);
        po.argv = {engine_bin_dir + "/voxgate-engine-" + ec.engine, "--listen", address};
        if (capacity > 0) po.argv.insert(po.argv.end(), {"--capacity", std::to_string(capacity)});
        po.argv.insert(po.argv.end(), {"--languages", languages});
        po.argv.insert(po.argv.end(), ec.args.begin(), ec.args.end());
        out.processes.push_back(std::make_unique<pool::EngineProcess>(po));
        engines.push_back(std::make_shared<rpc::RemoteSpeechService>(address, rpc::RemoteSpeechService::Options{}));
      }
    }
    auto p = std::make_shared<pool::Pool>(PoolOptions(pc), std::move(engines));
    for (const core::EngineConfig* ec : dns) {
      out.discoveries.push_back(std::make_unique<pool::DnsDiscovery>(ec->dns, Millis(ec->refresh_seconds), *p));
    }
    out.pools.push_back(p);
    out.by_name[pc.name] = p;
  }
  return out;
}

std::vector<router::Route> BuildRoutes(const core::ServerConfig& config, const Pools& pools) {
  std::vector<router::Route> routes;
  for (const auto& rc : config.routes) {
    router::Route route;
    route.service = rc.service;
    route.language = rc.language;
    route.model = rc.model;
    route.plan = rc.plan;
    for (const auto& split : rc.pools) route.targets.push_back({{split.pool, pools.by_name.at(split.pool)}, split.weight});
    if (!rc.shadow_pool.empty()) route.shadow = {rc.shadow_pool, pools.by_name.at(rc.shadow_pool)};
    route.shadow_share = rc.shadow_share;
    routes.push_back(std::move(route));
  }
  return routes;
}

// The admin listener's /v1/status: each pool's engines.
std::string StatusJson(const std::vector<std::shared_ptr<pool::Pool>>& pools) {
  nlohmann::json status = {{"pools", nlohmann::json::array()}};
  for (const auto& p : pools) {
    nlohmann::json engines = nlohmann::json::array();
    for (const auto& e : p->EngineStatuses()) {
      engines.push_back({{"address", e.address}, {"state", std::string(pool::EngineStateName(e.state))},
                         {"outstanding", e.outstanding}, {"capacity", e.capacity}, {"last_check", e.last_check}});
    }
    status["pools"].push_back({{"name", p->name()}, {"queued", p->queued_streams()}, {"engines", std::move(engines)}});
  }
  return status.dump();
}

}  // namespace

int Serve(const ServeOptions& options) {
  const core::ServerConfig& config = options.config;
  core::SetLogLabels({{"tier", options.tier}});
  if (!config.logging.trace_project.empty()) {
    core::SetLogTraceProject(config.logging.trace_project);
    // The engines it starts log their traces under the same project (read before any thread
    // that could call getenv runs).
    setenv("GOOGLE_CLOUD_PROJECT", config.logging.trace_project.c_str(), 1);
  }
  core::SetLogLevels(config.logging.levels);  // checked when the config was read
  // A descriptor per client connection, plus the engines', the listeners' and the log's.
  if (const uint64_t open_files = core::RaiseOpenFileLimit();
      open_files < static_cast<uint64_t>(config.limits.max_connections) + 256) {
    core::LogWarning("the open-file limit is too low for limits.max_connections: accepting fails before that many connections",
                     {{"open_file_limit", open_files}, {"max_connections", config.limits.max_connections}});
  }
  auto api_keys = gateway::ApiKeys::FromConfig(config.api_keys);
  if (!api_keys.ok()) {
    core::LogError("cannot start", {{"error", std::string(api_keys.status().message())}});
    return 1;
  }

  // Engine sockets live in a private directory removed at exit.
  std::string socket_dir_template = std::filesystem::temp_directory_path().string() + "/voxgate-XXXXXX";
  if (mkdtemp(socket_dir_template.data()) == nullptr) {
    core::LogError("cannot create a directory for engine sockets", {{"error", std::strerror(errno)}});
    return 1;
  }
  const std::string socket_dir = socket_dir_template;

  Pools pools = BuildPools(config, socket_dir, options.engine_bin_dir);
  std::vector<router::Route> routes = BuildRoutes(config, pools);
  pools.Start();

  gateway::GatewayOptions gateway_options;
  // A tier behind another serves its stack over gRPC; its HTTP side is the admin listener alone.
  gateway_options.listen = options.serve_grpc ? "" : config.listen;
  gateway_options.admin = config.admin;
  gateway_options.vosk_listen = config.vosk_listen;
  gateway_options.limits = config.limits;
  gateway_options.api_keys = std::move(*api_keys);
  gateway_options.io_threads = std::max(2, core::UsableCpus());
  gateway_options.status_json = [&pools] { return StatusJson(pools.pools); };
  auto router = std::make_shared<router::Router>(std::move(routes));
  gateway::Gateway gateway(gateway_options, router);
  std::unique_ptr<rpc::EngineServer> grpc_server;
  // What is still open: HTTP requests and streams, or the streams on this tier's pools.
  auto open_work = [&] {
    int n = gateway.active_requests();
    for (const auto& p : pools.pools) n += options.serve_grpc ? p->active_streams() : 0;
    return n;
  };
  int exit_code = 0;
  absl::Status started = gateway.Start();
  if (started.ok() && options.serve_grpc) {
    auto server = rpc::EngineServer::Start(router, config.listen);
    if (server.ok()) {
      grpc_server = std::move(*server);
      grpc_server->SetServing(true);
    } else {
      started = server.status();
    }
  }
  // The alert relay, when configured, with voxgate's own log lines as one of its inputs.
  std::unique_ptr<alerts::RelayServer> alert_relay;
  if (started.ok() && config.alert_relay.enabled) {
    auto relay = alerts::RelayServer::Start({config.alert_relay, "", 2});
    if (relay.ok()) {
      alert_relay = std::move(*relay);
      core::AddLogSink(alert_relay->log_sink_severity(), alert_relay->LogSink());
    } else {
      started = relay.status();
    }
  }
  if (!started.ok()) {
    core::LogError("cannot start", {{"error", std::string(started.message())}});
    exit_code = 1;
  } else {
    core::Metrics().GetGauge("voxgate_build_info", "Build information.", {{"version", "0.1.0"}}).Set(1);
    const std::string listen = grpc_server ? grpc_server->address() : gateway.listen_address();
    nlohmann::json fields = {{"listen", listen}, {"admin", gateway.admin_address()}, {"protocol", grpc_server ? "grpc" : "http"}};
    if (!gateway.vosk_address().empty()) fields["vosk_listen"] = gateway.vosk_address();
    if (alert_relay) fields["alert_relay_listen"] = alert_relay->listen_address();
    core::LogInfo("voxgate listening", fields);
    const int sig = core::WaitForStopSignal();
    // Drain: not ready, no new work, open streams get the grace period to finish. A tier behind
    // another answers its health checks NOT_SERVING, so the tier in front sends new streams
    // elsewhere and lets the open ones run.
    core::LogInfo("draining", {{"signal", strsignal(sig)}, {"grace_seconds", config.drain_grace_seconds},
                               {"open", open_work()}});
    gateway.StartDrain();
    if (grpc_server) grpc_server->SetServing(false);
    for (auto& p : pools.pools) p->Drain();
    const auto deadline = std::chrono::steady_clock::now() + Millis(config.drain_grace_seconds);
    while (open_work() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    if (open_work() > 0) core::LogWarning("grace period over; closing open streams", {{"open", open_work()}});
  }
  if (grpc_server) grpc_server->Shutdown(milliseconds(1000));
  gateway.Stop();
  if (alert_relay) alert_relay->Stop();  // before the pools: engines stopping on purpose are no alert
  pools.Stop();
  std::error_code ec;
  std::filesystem::remove_all(socket_dir, ec);
  core::LogInfo("stopped", {{"exit_code", exit_code}});
  core::FlushLogs();
  return exit_code;
}

}  // namespace voxgate::server
