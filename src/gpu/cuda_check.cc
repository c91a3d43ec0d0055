#include "gpu/cuda_check.h"

#include <dlfcn.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "gpu/internal/nvml_abi.h"

#ifndef VOXGATE_BUILT_FOR_CUDA
#define VOXGATE_BUILT_FOR_CUDA 0
#endif

namespace voxgate::gpu {
namespace {

// The first driver branch of each CUDA major release; any driver of that branch or newer runs
// every minor release of it ("CUDA minor version compatibility", NVIDIA's CUDA Compatibility guide,
// docs.nvidia.com/deploy/cuda-compatibility: 11.x >= 450, 12.x >= 525, 13.x >= 580).
std::string MinimumDriverFor(int cuda_version) {
  switch (cuda_version / 1000) {
    case 11: return "450";
    case 12: return "525";
    case 13: return "580";
    default: return "";
  }
}

std::string DriverAdvice(int built_for) {
  const std::string min = MinimumDriverFor(built_for);
  if (!min.empty()) return "a node pool with driver \u2265 " + min;
  return "a node pool whose driver supports CUDA " + FormatCudaVersion(built_for);
}

}  // namespace

int BuiltForCudaVersion() { return VOXGATE_BUILT_FOR_CUDA; }

std::string FormatCudaVersion(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string DefaultCudaLibrary() {
  const char* env = std::getenv("VOXGATE_CUDA_LIBRARY");
  return env != nullptr && *env != '\0' ? env : "libcuda.so.1";
}

absl::StatusOr<int> CudaDriverVersion(const std::string& libcuda_path) {
  void* handle = dlopen(libcuda_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return absl::NotFoundError("cannot load " + libcuda_path + ": " + (err ? err : "unknown error"));
  }
  auto fn = reinterpret_cast<internal::CuDriverGetVersionFn>(dlsym(handle, "cuDriverGetVersion"));
  int version = 0;
  const int rc = fn != nullptr ? fn(&version) : -1;
  // libcuda is not closed: it stays loaded for the engine's own CUDA use, and unloading the
  // driver library is known to be unsafe once any CUDA call was made.
  if (fn == nullptr) {
    dlclose(handle);
    return absl::UnavailableError(libcuda_path + " has no cuDriverGetVersion");
  }
  if (rc != 0 || version <= 0) {
    return absl::UnavailableError("cuDriverGetVersion failed (CUresult " + std::to_string(rc) + ")");
  }
  return version;
}

absl::StatusOr<GpuMode> ParseGpuMode(std::string_view name) {
  if (name == "off") return GpuMode::kOff;
  if (name == "auto") return GpuMode::kAuto;
  if (name == "required") return GpuMode::kRequired;
  return absl::InvalidArgumentError("--gpu must be off, auto or required, not \"" + std::string(name) + "\"");
}

std::string_view GpuModeName(GpuMode mode) {
  switch (mode) {
    case GpuMode::kOff: return "off";
    case GpuMode::kAuto: return "auto";
    case GpuMode::kRequired: return "required";
  }
  return "off";
}

GpuStartupCheck DecideGpuStartup(GpuMode mode, int built_for, const absl::StatusOr<int>& driver_cuda,
                                 const std::string& libcuda_path) {
  GpuStartupCheck c;
  c.fields["gpu_mode"] = GpuModeName(mode);
  c.fields["built_for_cuda"] = built_for > 0 ? FormatCudaVersion(built_for) : "none";
  if (mode == GpuMode::kOff) {
    c.message = "GPU not used (--gpu off)";
    return c;
  }
  const bool required = mode == GpuMode::kRequired;
  if (!driver_cuda.ok()) {
    c.fields["driver_error"] = std::string(driver_cuda.status().message());
    if (required) {
      c.ready = false;
      c.severity = core::Severity::kError;
      c.message = "no usable NVIDIA driver (" + std::string(driver_cuda.status().message()) +
                  ") but this engine needs a GPU (--gpu required); schedule it on " +
                  (built_for > 0 ? DriverAdvice(built_for) : std::string("a GPU node pool")) +
                  ", or run it with --gpu auto to fall back to the CPU";
    } else {
      c.message = "no GPU (" + libcuda_path + " not usable); running in CPU mode";
    }
    return c;
  }
  const int driver = *driver_cuda;
  c.fields["driver_cuda"] = FormatCudaVersion(driver);
  if (built_for <= 0) {
    c.use_gpu = true;
    c.message = "the NVIDIA driver supports CUDA " + FormatCudaVersion(driver) +
                "; this engine was not built for a CUDA version, so there is nothing to compare";
    return c;
  }
  const std::string driver_s = FormatCudaVersion(driver);
  const std::string built_s = FormatCudaVersion(built_for);
  if (driver / 1000 < built_for / 1000) {
    // An older major release cannot run this build at all (no minor version compatibility across
    // majors): the cause of "works on one node pool, not on another".
    const std::string mismatch = "the NVIDIA driver supports CUDA " + driver_s + " but this engine was built for CUDA " +
                                 built_s + "; use " + DriverAdvice(built_for) + " or an image built for CUDA " + driver_s;
    c.severity = required ? core::Severity::kError : core::Severity::kWarning;
    c.ready = !required;
    c.message = required ? mismatch : mismatch + "; running in CPU mode (--gpu auto)";
    return c;
  }
  c.use_gpu = true;
  if (driver < built_for) {
    // Same major release, older minor: runs under minor version compatibility, with a limited
    // feature set (no JIT of PTX newer than the driver). Ready, but worth a warning.
    c.severity = core::Severity::kWarning;
    c.message = "the NVIDIA driver supports CUDA " + driver_s + ", older than the CUDA " + built_s +
                " this engine was built for; running under CUDA minor version compatibility (PTX JIT and newer "
                "APIs unavailable); a driver that supports CUDA " + built_s + " removes the limits";
    return c;
  }
  c.message = "GPU ready: the NVIDIA driver supports CUDA " + driver_s + ", this engine was built for CUDA " + built_s;
  return c;
}

GpuStartupCheck CheckGpuAtStartup(GpuMode mode, int built_for, const std::string& libcuda_path) {
  if (mode == GpuMode::kOff) return DecideGpuStartup(mode, built_for, absl::UnavailableError("not checked"), libcuda_path);
  return DecideGpuStartup(mode, built_for, CudaDriverVersion(libcuda_path), libcuda_path);
}

}  // namespace voxgate::gpu
