#include "gpu/telemetry.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "gpu/cuda_check.h"

namespace voxgate::gpu {
namespace {

core::Labels GpuLabels(const GpuReading& r) {
  return {{"gpu", std::to_string(r.index)}, {"uuid", r.uuid}, {"name", r.name}};
}

core::Labels With(core::Labels labels, std::string name, std::string value) {
  labels.emplace_back(std::move(name), std::move(value));
  return labels;
}

// Counters mirror NVML's cumulative counts: they move by the increase, and a count that went down
// (the driver reloaded, volatile counts restarted) counts from its new value.
uint64_t Increase(const std::optional<uint64_t>& before, uint64_t now) {
  if (!before) return now;
  return now >= *before ? now - *before : now;
}

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// nvmlInit can hang too (it talks to every GPU): it runs on a thread of its own, and when it has
// not returned by `timeout` the engine starts without telemetry; should it return later, that
// thread closes NVML again.
absl::StatusOr<std::unique_ptr<Nvml>> OpenWithDeadline(const std::string& path, std::chrono::milliseconds timeout) {
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool abandoned = false;
    absl::StatusOr<std::unique_ptr<Nvml>> result = absl::UnknownError("not opened");
  };
  auto pending = std::make_shared<Pending>();
  std::thread opener([pending, path] {
    auto result = Nvml::Open(path);
    std::lock_guard lock(pending->mu);
    if (pending->abandoned) return;  // `result` (and NVML with it) is closed here
    pending->result = std::move(result);
    pending->done = true;
    pending->cv.notify_all();
  });
  std::unique_lock lock(pending->mu);
  if (!pending->cv.wait_for(lock, timeout, [&] { return pending->done; })) {
    pending->abandoned = true;
    lock.unlock();
    opener.detach();
    return absl::DeadlineExceededError("NVML init (" + path + ") did not return within " +
                                       std::to_string(timeout.count()) + " ms");
  }
  lock.unlock();
  opener.join();
  return std::move(pending->result);
}

}  // namespace

LogFn DefaultLog() {
  return [](core::Severity s, std::string_view m, nlohmann::json f) { core::Log(s, m, std::move(f)); };
}

TelemetryRecorder::TelemetryRecorder(core::MetricsRegistry& registry, LogFn log)
    : registry_(registry), log_(std::move(log)) {}

void TelemetryRecorder::RecordSystem(const NvmlSystemInfo& info) {
  core::Labels labels = {{"driver_version", info.driver_version.value_or("")},
                         {"cuda_version", info.cuda_driver_version ? FormatCudaVersion(*info.cuda_driver_version) : ""}};
  registry_.GetGauge("voxgate_gpu_driver_info", "NVIDIA driver of this node: its version and the CUDA version it supports",
                     labels).Set(1);
  registry_.GetGauge("voxgate_gpu_devices", "GPUs NVML reports on this node").Set(info.gpu_count);
}

void TelemetryRecorder::Record(const std::vector<GpuReading>& readings, double sample_seconds) {
  nlohmann::json gpus = nlohmann::json::array();
  nlohmann::json rose = nlohmann::json::array();
  for (const auto& r : readings) {
    const core::Labels labels = GpuLabels(r);
    nlohmann::json g = {{"gpu", r.index}, {"uuid", r.uuid}, {"name", r.name}};
    registry_.GetGauge("voxgate_gpu_info", "One series per GPU, with its index, UUID and name", labels).Set(1);
    if (r.utilization_ratio) {
      registry_.GetGauge("voxgate_gpu_utilization_ratio",
                         "Share of the last sample period in which a kernel ran on the GPU (0..1)", labels)
          .Set(*r.utilization_ratio);
      g["utilization_ratio"] = *r.utilization_ratio;
    }
    if (r.memory_used_bytes) {
      registry_.GetGauge("voxgate_gpu_memory_used_bytes", "GPU memory in use", labels).Set(static_cast<double>(*r.memory_used_bytes));
      g["memory_used_bytes"] = *r.memory_used_bytes;
    }
    if (r.memory_total_bytes) {
      registry_.GetGauge("voxgate_gpu_memory_total_bytes", "GPU memory in all", labels).Set(static_cast<double>(*r.memory_total_bytes));
      g["memory_total_bytes"] = *r.memory_total_bytes;
    }
    if (r.temperature_celsius) {
      registry_.GetGauge("voxgate_gpu_temperature_celsius", "GPU die temperature", labels).Set(*r.temperature_celsius);
      g["temperature_celsius"] = *r.temperature_celsius;
    }
    if (r.power_watts) {
      registry_.GetGauge("voxgate_gpu_power_watts", "GPU power draw", labels).Set(*r.power_watts);
      g["power_watts"] = *r.power_watts;
    }
    Previous& prev = previous_[r.index];
    auto count = [&](const std::optional<uint64_t>& now, std::optional<uint64_t>& before, const char* field,
                     const std::string& metric, const std::string& help, const core::Labels& series) {
      if (!now) return;
      const uint64_t up = Increase(before, *now);
      registry_.GetCounter(metric, help, series).Increment(static_cast<double>(up));
      g[field] = *now;
      // The first sample of a GPU sets the baseline; only a rise after it is news.
      if (before && up > 0) {
        nlohmann::json rise = {{"gpu", r.index}, {"uuid", r.uuid}, {"counter", field}, {"increase", up}};
        if (std::string_view(field) == "xid_errors" && r.last_xid) rise["last_xid"] = *r.last_xid;
        rose.push_back(std::move(rise));
      }
      before = *now;
    };
    const std::string ecc_help = "GPU memory ECC errors since the driver loaded (volatile count)";
    count(r.ecc_corrected, prev.ecc_corrected, "ecc_corrected", "voxgate_gpu_ecc_errors_total", ecc_help,
          With(labels, "type", "corrected"));
    count(r.ecc_uncorrected, prev.ecc_uncorrected, "ecc_uncorrected", "voxgate_gpu_ecc_errors_total", ecc_help,
          With(labels, "type", "uncorrected"));
    // XID counts start at 0 when telemetry starts, so the very first event is already a rise.
    if (r.xid_errors && !prev.xid_errors) prev.xid_errors = 0;
    count(r.xid_errors, prev.xid_errors, "xid_errors", "voxgate_gpu_xid_errors_total",
          "Critical XID error events from the NVIDIA driver since this process started", labels);
    if (r.last_xid) g["last_xid"] = *r.last_xid;
    gpus.push_back(std::move(g));
  }
  registry_.GetGauge("voxgate_gpu_telemetry_sample_duration_seconds", "How long the last NVML sample took")
      .Set(sample_seconds);
  registry_.GetGauge("voxgate_gpu_telemetry_last_sample_timestamp_seconds",
                     "Unix time of the last completed NVML sample (stops moving when NVML hangs)")
      .Set(UnixSeconds());
  nlohmann::json fields = {{"gpus", std::move(gpus)}, {"sample_seconds", sample_seconds}};
  if (!rose.empty()) {
    fields["rose"] = std::move(rose);
    log_(core::Severity::kWarning, "gpu telemetry", std::move(fields));
  } else {
    log_(core::Severity::kInfo, "gpu telemetry", std::move(fields));
  }
}

struct GpuTelemetry::State {
  State(std::unique_ptr<Nvml> n, core::MetricsRegistry& registry, LogFn log, std::chrono::milliseconds every)
      : nvml(std::move(n)), recorder(registry, std::move(log)), interval(every) {}
  std::unique_ptr<Nvml> nvml;
  TelemetryRecorder recorder;
  const std::chrono::milliseconds interval;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool exited = false;
  // Set when Stop gave up waiting: from then on the sampler touches neither the registry nor the
  // log function, which may be gone by the time a hung NVML call returns.
  bool abandoned = false;
  std::atomic<uint64_t> samples{0};
  std::thread thread;
};

std::unique_ptr<GpuTelemetry> GpuTelemetry::Start(Options options) {
  std::unique_ptr<GpuTelemetry> t(new GpuTelemetry());
  t->stop_timeout_ = options.stop_timeout;
  t->log_ = options.log;
  auto nvml = OpenWithDeadline(options.library_path, options.open_timeout);
  if (!nvml.ok()) {
    t->no_gpu_reason_ = std::string(nvml.status().message());
    // A library that loads but will not answer is a sick GPU node, not a CPU node: say so louder.
    const bool hung = nvml.status().code() == absl::StatusCode::kDeadlineExceeded;
    options.log(hung ? core::Severity::kWarning : core::Severity::kInfo,
                hung ? "gpu telemetry off: NVML init hung" : "gpu telemetry off: no GPU", {{"reason", t->no_gpu_reason_}});
    return t;
  }
  const NvmlSystemInfo info = (*nvml)->System();
  if (info.gpu_count == 0) {
    // A driver without a visible GPU (a container not given one, every GPU excluded): as good as
    // none, and sampling nothing every interval would only add log lines.
    t->no_gpu_reason_ = "no GPU: NVML (" + (*nvml)->library_path() + ") sees no GPU";
    options.log(core::Severity::kInfo, "gpu telemetry off: no GPU", {{"reason", t->no_gpu_reason_}});
    return t;
  }
  nlohmann::json fields = {{"library", (*nvml)->library_path()},
                           {"gpus", info.gpu_count},
                           {"interval_seconds", std::chrono::duration<double>(options.interval).count()}};
  if (info.driver_version) fields["driver_version"] = *info.driver_version;
  if (info.cuda_driver_version) fields["driver_cuda"] = FormatCudaVersion(*info.cuda_driver_version);
  if (!(*nvml)->missing_symbols().empty()) fields["missing_functions"] = (*nvml)->missing_symbols();
  options.log(core::Severity::kInfo, "gpu telemetry on", fields);

  auto state = std::make_shared<State>(std::move(*nvml), *options.registry, options.log, options.interval);
  state->recorder.RecordSystem(info);
  t->state_ = state;
  state->thread = std::thread([state] {
    std::unique_lock lock(state->mu);
    while (!state->stopping) {
      lock.unlock();
      const auto begin = std::chrono::steady_clock::now();
      auto readings = state->nvml->ReadAll();  // may hang: outside the lock
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      lock.lock();
      if (state->abandoned) break;
      state->recorder.Record(readings, seconds);
      state->samples.fetch_add(1);
      state->cv.wait_for(lock, state->interval, [&] { return state->stopping; });
    }
    state->exited = true;
    state->cv.notify_all();
  });
  return t;
}

uint64_t GpuTelemetry::samples() const { return state_ ? state_->samples.load() : 0; }

bool GpuTelemetry::Stop() {
  if (!state_ || stopped_) return true;
  stopped_ = true;
  bool exited;
  {
    std::unique_lock lock(state_->mu);
    state_->stopping = true;
    state_->cv.notify_all();
    exited = state_->cv.wait_for(lock, stop_timeout_, [&] { return state_->exited; });
    if (!exited) state_->abandoned = true;
  }
  if (exited) {
    state_->thread.join();
    return true;
  }
  // Stuck inside NVML: leave the thread (it owns the state and NVML through its shared_ptr).
  state_->thread.detach();
  log_(core::Severity::kWarning, "gpu telemetry sampler stuck in an NVML call; left behind at stop",
       {{"stop_timeout_seconds", std::chrono::duration<double>(stop_timeout_).count()}});
  return false;
}

GpuTelemetry::~GpuTelemetry() { Stop(); }

}  // namespace voxgate::gpu
