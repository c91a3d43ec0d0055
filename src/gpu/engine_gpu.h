// The GPU settings every engine executable shares (--gpu, --gpu-telemetry-seconds); the flags
// themselves are added by gpu/gpu_flags.h so that only the mains depend on CLI11.
#pragma once

#include <string>

namespace voxgate::gpu {

struct EngineGpuOptions {
  std::string mode = "off";        // off | auto | required (gpu::ParseGpuMode)
  double telemetry_seconds = 15;   // NVML sample interval; 0: no GPU telemetry
};

}  // namespace voxgate::gpu
