// GPU telemetry: per-GPU utilisation, memory, temperature, power and XID/ECC error counts as
// Prometheus metrics and in one log line per sample, read through NVML on a thread of its own.
//
// Why a thread of its own, and why Stop() has a deadline: NVML calls can hang (a GPU falling off
// the bus, a wedged driver). Engine threads never call NVML; only the sampler does, so a hung call
// stalls telemetry (voxgate_gpu_telemetry_last_sample_timestamp_seconds stops moving) but never a request. Stop() waits for the
// sampler up to `stop_timeout`; a sampler stuck inside NVML is then left behind (detached, NVML
// not shut down) so that shutdown never hangs on it. Opening NVML has its deadline too
// (`open_timeout`), so a hung nvmlInit cannot hold up an engine's start.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/metrics.h"
#include "gpu/nvml.h"

namespace voxgate::gpu {

using LogFn = std::function<void(core::Severity, std::string_view, nlohmann::json)>;
LogFn DefaultLog();  // core::Log

// Turns readings into metrics and the per-sample log line. Pure bookkeeping (no NVML, no
// threads), so its tests need no GPU.
class TelemetryRecorder {
 public:
  TelemetryRecorder(core::MetricsRegistry& registry, LogFn log);

  // Once, when NVML opened: the driver info gauge and the GPU count.
  void RecordSystem(const NvmlSystemInfo& info);
  // One sample: updates every metric whose reading is present and logs "gpu telemetry" (WARNING
  // when an XID or ECC count rose since the previous sample, INFO otherwise).
  void Record(const std::vector<GpuReading>& readings, double sample_seconds);

 private:
  struct Previous {
    std::optional<uint64_t> ecc_corrected, ecc_uncorrected, xid_errors;
  };
  core::MetricsRegistry& registry_;
  LogFn log_;
  std::map<unsigned int, Previous> previous_;  // by GPU index
};

class GpuTelemetry {
 public:
  struct Options {
    std::chrono::milliseconds interval{15000};
    std::chrono::milliseconds stop_timeout{2000};
    std::chrono::milliseconds open_timeout{10000};  // nvmlInit_v2 and the device scan
    std::string library_path = DefaultNvmlLibrary();
    core::MetricsRegistry* registry = &core::Metrics();
    LogFn log = DefaultLog();
  };

  // Opens NVML and starts sampling (the first sample right away). With no NVML (no GPU) it logs
  // "no GPU" once and does nothing more: has_gpu() is false and no gpu metric is registered.
  static std::unique_ptr<GpuTelemetry> Start(Options options);
  ~GpuTelemetry();  // Stop()

  bool has_gpu() const { return state_ != nullptr; }
  // Why there is no GPU telemetry (the Nvml::Open error), "" when there is.
  const std::string& no_gpu_reason() const { return no_gpu_reason_; }
  // Samples taken so far (tests wait on it).
  uint64_t samples() const;
  // Stops the sampler; returns false when it was stuck in NVML past stop_timeout and was left.
  bool Stop();

  struct State;

 private:
  GpuTelemetry() = default;
  std::shared_ptr<State> state_;
  std::string no_gpu_reason_;
  std::chrono::milliseconds stop_timeout_{0};
  LogFn log_;
  bool stopped_ = false;
};

}  // namespace voxgate::gpu
