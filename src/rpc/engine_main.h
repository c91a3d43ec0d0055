// What every engine executable does once its engine is loaded: serve the engine protocol until
// SIGTERM/SIGINT, then drain (health NOT_SERVING, new work refused, open work gets the grace
// period) and shut down.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "gpu/engine_gpu.h"
#include "speech/speech_service.h"

namespace voxgate::rpc {

struct EngineMainOptions {
  std::string listen;
  std::string admin;  // host:port for /metrics, /healthz, /readyz; empty: none
  double drain_grace_seconds = 30;
  std::function<void()> drain;  // refuse new work from now on
  // True once nothing is open, false when `timeout` passed first.
  std::function<bool(std::chrono::milliseconds timeout)> await_idle;
  nlohmann::json serving_fields = nlohmann::json::object();  // added to the "engine serving" line
  std::chrono::steady_clock::time_point load_start = std::chrono::steady_clock::now();
  // --gpu: with "required", a driver that cannot run this build's CUDA version keeps health
  // NOT_SERVING (and says why in the log). GPU telemetry runs wherever NVML loads.
  gpu::EngineGpuOptions gpu;
};

// Call with stop signals blocked (core::BlockStopSignals). Returns the process's exit code.
int ServeEngineUntilStopped(speech::SpeechServicePtr engine, EngineMainOptions options);

}  // namespace voxgate::rpc
