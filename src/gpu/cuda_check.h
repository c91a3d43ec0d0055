// The start-up check of an engine that needs a GPU: the CUDA version the NVIDIA driver supports
// (cuDriverGetVersion from libcuda.so.1, loaded at run time) against the CUDA version this binary
// was built for. A driver older than the build is the classic cause of "works on one node pool,
// not on another"; the engine then fails readiness with a message that says which fix applies.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "core/log.h"

namespace voxgate::gpu {

// CUDA versions as the driver API encodes them: 1000 * major + 10 * minor (12040 = CUDA 12.4).
// What this binary was built for (CMake found a CUDA toolkit: VOXGATE_BUILT_FOR_CUDA), 0 when the
// build saw none.
int BuiltForCudaVersion();
std::string FormatCudaVersion(int version);  // 12040 -> "12.4"

// VOXGATE_CUDA_LIBRARY when set (tests), else "libcuda.so.1".
std::string DefaultCudaLibrary();
// The CUDA version the installed driver supports. NotFound: no driver library; Unavailable: the
// library loaded but cuDriverGetVersion failed.
absl::StatusOr<int> CudaDriverVersion(const std::string& libcuda_path = DefaultCudaLibrary());

// --gpu: off (never touch a GPU; our CPU engines' default), auto (use a GPU when a usable one is
// there, else CPU mode), required (not ready without a usable GPU).
enum class GpuMode { kOff, kAuto, kRequired };
absl::StatusOr<GpuMode> ParseGpuMode(std::string_view name);
std::string_view GpuModeName(GpuMode mode);

struct GpuStartupCheck {
  bool ready = true;     // false: the engine reports NOT_SERVING
  bool use_gpu = false;  // false: CPU mode
  core::Severity severity = core::Severity::kInfo;
  std::string message;  // for the log line; explicit about the fix when not ready
  nlohmann::json fields = nlohmann::json::object();  // gpu_mode, built_for_cuda, driver_cuda, ...
};

// The decision alone, given what the driver said (tests call it with every case).
GpuStartupCheck DecideGpuStartup(GpuMode mode, int built_for, const absl::StatusOr<int>& driver_cuda,
                                 const std::string& libcuda_path = "libcuda.so.1");
// Loads libcuda (except with kOff) and decides.
GpuStartupCheck CheckGpuAtStartup(GpuMode mode, int built_for = BuiltForCudaVersion(),
                                  const std::string& libcuda_path = DefaultCudaLibrary());

}  // namespace voxgate::gpu
