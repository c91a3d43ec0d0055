// NVML (the NVIDIA Management Library, libnvidia-ml.so.1) loaded at run time, so that one binary
// runs on GPU nodes and on nodes with no GPU. Only nvmlInit_v2 is required of the library: every
// other function is optional, and a missing symbol or an NVML error (NOT_SUPPORTED on a board
// without that sensor, for example) leaves that one reading absent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::gpu {

// What one GPU reported in one sample, in base units. Absent: not available on this GPU/driver.
struct GpuReading {
  unsigned int index = 0;
  std::string uuid;  // "GPU-..." or "" when unavailable
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  std::optional<double> utilization_ratio;  // 0..1, from NVML's percent
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<double> temperature_celsius;
  std::optional<double> power_watts;  // from NVML's milliwatts
  std::optional<uint64_t> ecc_corrected;    // volatile count (since the driver loaded)
  std::optional<uint64_t> ecc_uncorrected;  // volatile count (since the driver loaded)
  std::optional<uint64_t> xid_errors;       // critical XID events seen since NVML was opened here
  std::optional<uint64_t> last_xid;         // the latest XID code, when one was seen
};

struct NvmlSystemInfo {
  std::optional<std::string> driver_version;  // e.g. "580.65.06"
  std::optional<int> cuda_driver_version;     // 1000 * major + 10 * minor, e.g. 13000
  unsigned int gpu_count = 0;
};

// VOXGATE_NVML_LIBRARY when set (tests, unusual installs), else "libnvidia-ml.so.1".
std::string DefaultNvmlLibrary();

class Nvml {
 public:
  // dlopen + nvmlInit_v2. NotFound when the library cannot be loaded (no driver on this machine),
  // FailedPrecondition when it loads but init fails (e.g. "Driver Not Loaded").
  static absl::StatusOr<std::unique_ptr<Nvml>> Open(const std::string& library_path = DefaultNvmlLibrary());
  ~Nvml();  // nvmlShutdown + dlclose
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  NvmlSystemInfo System() const;
  // Reads every GPU (the set found at Open). Takes XID events that arrived since the last call.
  // Not thread-safe: one sampler calls it.
  std::vector<GpuReading> ReadAll();

  // The NVML functions that were not found in the library (for the start-up log line).
  const std::vector<std::string>& missing_symbols() const { return missing_; }
  const std::string& library_path() const { return path_; }

 private:
  struct Api;
  struct Device;
  Nvml();
  void DrainXidEvents();
  std::string ErrorString(int code) const;

  std::unique_ptr<Api> api_;
  std::vector<Device> devices_;
  std::vector<std::string> missing_;
  std::string path_;
};

}  // namespace voxgate::gpu
