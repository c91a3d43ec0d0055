// `voxgate serve`: endpoint + router + pool in one process, with the configured built-in engines
// started as supervised child processes over Unix-domain gRPC.
#pragma once

#include <string>

#include "core/config.h"

namespace voxgate::server {

struct ServeOptions {
  core::ServerConfig config;
  std::string engine_bin_dir;  // where voxgate-engine-* executables are
};

// Runs until SIGTERM or SIGINT, then drains and returns the process exit code.
// SIGTERM/SIGINT must be blocked first (core::BlockStopSignals).
int Serve(const ServeOptions& options);

}  // namespace voxgate::server
