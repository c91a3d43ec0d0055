// `voxgate serve`: endpoint + router + pool in one process, with the configured built-in engines
// started as supervised child processes over Unix-domain gRPC. The same code runs each tier of a
// split deployment: `endpoint` (client API over pools of routers), `router` and `pool` (the
// router and its pools served over gRPC to the tier in front).
#pragma once

#include <string>

#include "core/config.h"

namespace voxgate::server {

struct ServeOptions {
  core::ServerConfig config;
  std::string engine_bin_dir;  // where voxgate-engine-* executables are
  std::string tier = "all-in-one";  // the `tier` label of every log line
  // Serve the router (and the pools behind it) over gRPC on `config.listen`, for a tier in front
  // (`voxgate router`, `voxgate pool`), instead of the client HTTP API.
  bool serve_grpc = false;
};

// Runs until SIGTERM or SIGINT, then drains and returns the process exit code.
// SIGTERM/SIGINT must be blocked first (core::BlockStopSignals).
int Serve(const ServeOptions& options);

}  // namespace voxgate::server
