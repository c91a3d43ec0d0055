// Adds the shared GPU flags to an engine's command line (header-only: the mains link CLI11).
#pragma once

#include <CLI/CLI.hpp>

#include "gpu/engine_gpu.h"

namespace voxgate::gpu {

inline void AddGpuFlags(CLI::App& app, EngineGpuOptions& options) {
  app.add_option("--gpu", options.mode,
                 "off: never use a GPU; auto: use one when the driver can run this build, else CPU; "
                 "required: not ready without such a GPU (checks the driver's CUDA version)")
      ->check(CLI::IsMember({"off", "auto", "required"}))
      ->capture_default_str();
  app.add_option("--gpu-telemetry-seconds", options.telemetry_seconds,
                 "interval of the NVML sample (GPU metrics and the \"gpu telemetry\" log line); 0: off")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
}

}  // namespace voxgate::gpu
