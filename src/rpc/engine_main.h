// What every engine executable does once its engine is loaded: serve the engine protocol until
// SIGTERM/SIGINT, then drain (health NOT_SERVING, new work refused, open work gets the grace
// period) and shut down.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "speech/speech_service.h"

namespace voxgate::rpc {

struct EngineMainOptions {
  std::string listen;
  double drain_grace_seconds = 30;
  std::function<void()> drain;  // refuse new work from now on
  // True once nothing is open, false when `timeout` passed first.
  std::function<bool(std::chrono::milliseconds timeout)> await_idle;
  nlohmann::json serving_fields = nlohmann::json::object();  // added to the "engine serving" line
  std::chrono::steady_clock::time_point load_start = std::chrono::steady_clock::now();
};

// Call with stop signals blocked (core::BlockStopSignals). Returns the process's exit code.
int ServeEngineUntilStopped(speech::SpeechServicePtr engine, EngineMainOptions options);

}  // namespace voxgate::rpc
