// voxgate: the server. `voxgate serve` runs the all-in-one server (endpoint + router + pool, with
// the configured engines as supervised child processes).
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/config.h"
#include "core/process.h"
#include "server/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"voxgate: a self-hostable speech-AI API server"};
  app.require_subcommand(1);
  auto* serve = app.add_subcommand("serve", "Run endpoint + router + pool in one process, with the built-in engines");
  std::string config_file, listen, admin;
  serve->add_option("--config", config_file, "YAML config file (default: one pocketsphinx en-US engine)");
  serve->add_option("--listen", listen, "client API address host:port (default 127.0.0.1:8080; port 0 picks one)");
  serve->add_option("--admin", admin, "admin address for /healthz, /readyz, /metrics (default 127.0.0.1:9090)");
  CLI11_PARSE(app, argc, argv);

  voxgate::server::ServeOptions options;
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
