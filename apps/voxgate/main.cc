// voxgate: the server.
//   voxgate serve     endpoint + router + pool in one process, engines as supervised children
//   voxgate endpoint  the client API, in front of routers (a split deployment's first tier)
//   voxgate router    the routing table over pools, served over gRPC
//   voxgate pool      pools over engines, served over gRPC
//   voxgate alert-relay  alerts (Alertmanager, Cloud Monitoring, voxgate events) to Discord/Slack/webhooks
//   voxgate check-config  checks a config as the roles parse it; --print shows it resolved
// Each reads the same config format (--config); docs/OPERATIONS.md shows a split deployment.
#include <CLI/CLI.hpp>
#include <iostream>

#include "alerts/relay_server.h"
#include "core/config.h"
#include "core/process.h"
#include "server/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"voxgate: a self-hostable speech-AI API server"};
  app.require_subcommand(1);
  std::string config_file, listen, admin;
  struct Role {
    const char* name;
    const char* help;
    const char* listen_help;
    bool serve_grpc;
  };
  const Role roles[] = {
      {"serve", "Run endpoint + router + pool in one process, with the built-in engines",
       "client API address host:port (default 127.0.0.1:8080; port 0 picks one)", false},
      {"endpoint", "Run the client API (HTTP, WebSocket) in front of routers or pools",
       "client API address host:port (default 127.0.0.1:8080; port 0 picks one)", false},
      {"router", "Run the router and its pools, served over gRPC to an endpoint",
       "gRPC address host:port (default 127.0.0.1:8080; port 0 picks one)", true},
      {"pool", "Run pools over engines, served over gRPC to a router or endpoint",
       "gRPC address host:port (default 127.0.0.1:8080; port 0 picks one)", true},
      {"alert-relay", "Run the alert relay: Alertmanager, Cloud Monitoring and voxgate events to Discord, Slack, webhooks",
       "input address host:port (default: the config's alert_relay.listen; port 0 picks one)", false},
  };
  std::vector<std::pair<CLI::App*, const Role*>> commands;
  for (const Role& role : roles) {
    auto* cmd = app.add_subcommand(role.name, role.help);
    cmd->add_option("--config", config_file, "YAML config file (default: pocketsphinx en-US, apertium and espeak-ng engines)");
    cmd->add_option("--listen", listen, role.listen_help);
    cmd->add_option("--admin", admin, "admin address for /healthz, /readyz, /metrics, /v1/status (default 127.0.0.1:9090)");
    commands.emplace_back(cmd, &role);
  }
  auto* check = app.add_subcommand("check-config", "Check a config file as the roles parse it at start-up, and exit 2 with the error if it is wrong");
  bool print = false;
  check->add_option("--config", config_file, "YAML config file")->required();
  check->add_flag("--print", print, "write the config as voxgate reads it: YAML, each ${NAME} replaced from the environment");
  CLI11_PARSE(app, argc, argv);

  if (check->parsed()) {
    try {
      if (print) {
        std::cout << voxgate::core::ResolveConfigFile(config_file);
      } else {
        voxgate::core::LoadConfigFile(config_file);
      }
    } catch (const voxgate::core::ConfigError& e) {
      std::cerr << "voxgate: " << e.what() << "\n";
      return 2;
    }
    return 0;
  }

  if (app.got_subcommand("alert-relay")) {
    voxgate::core::ServerConfig config;
    try {
      if (config_file.empty()) throw voxgate::core::ConfigError("alert-relay needs --config FILE with an alert_relay section");
      config = voxgate::core::LoadConfigFile(config_file);
    } catch (const voxgate::core::ConfigError& e) {
      std::cerr << "voxgate: " << e.what() << "\n";
      return 2;
    }
    if (!config.alert_relay.enabled) {
      std::cerr << "voxgate: " << config_file << ": no alert_relay section (docs/OPERATIONS.md, \"Alert relay\")\n";
      return 2;
    }
    if (!listen.empty()) config.alert_relay.listen = listen;
    if (!admin.empty()) config.admin = admin;
    voxgate::core::BlockStopSignals();
    return voxgate::alerts::RunAlertRelay(config.alert_relay, config.admin);
  }
  voxgate::server::ServeOptions options;
  for (const auto& [cmd, role] : commands) {
    if (!cmd->parsed()) continue;
    options.tier = std::string(role->name) == "serve" ? "all-in-one" : role->name;
    options.serve_grpc = role->serve_grpc;
  }
  try {
    options.config = config_file.empty() ? voxgate::core::DefaultConfig() : voxgate::core::LoadConfigFile(config_file);
  } catch (const voxgate::core::ConfigError& e) {
    std::cerr << "voxgate: " << e.what() << "\n";
    return 2;
  }
  if (!listen.empty()) options.config.listen = listen;
  if (!admin.empty()) options.config.admin = admin;
  options.engine_bin_dir = voxgate::core::ExecutableDir();
  voxgate::core::BlockStopSignals();
  return voxgate::server::Serve(options);
}
