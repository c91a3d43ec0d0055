#include "rpc/engine_main.h"

#include <atomic>
#include <cstring>

#include "core/log.h"
#include "core/metrics.h"
#include "core/process.h"
#include "gpu/cuda_check.h"
#include "gpu/telemetry.h"
#include "rpc/engine_server.h"
#include "rpc/metrics_listener.h"

namespace voxgate::rpc {

namespace {

// What an engine's lines and reports name as its model: "en-us@5prealpha" (model@engine version),
// or the engine's name for an engine of several models (apertium's pairs).
std::string ModelVersion(speech::SpeechService& engine) {
  auto caps = engine.Describe();
  if (!caps.ok()) return "";
  const std::string model = caps->models.size() == 1 ? caps->models[0].name : caps->engine;
  return caps->version.empty() ? model : model + "@" + caps->version;
}

// Work in the engine and its capacity on /metrics: what a HorizontalPodAutoscaler scales engine
// pods on (active streams per pod). Read at scrape time; weak, so the registry never keeps a
// stopped engine alive.
void ExportLoadGauges(const speech::SpeechServicePtr& engine) {
  std::weak_ptr<speech::SpeechService> weak = engine;
  auto read = [weak](int speech::Capabilities::* field) {
    return [weak, field] {
      auto service = weak.lock();
      if (!service) return 0.0;
      auto caps = service->Describe();
      return caps.ok() ? static_cast<double>((*caps).*field) : 0.0;
    };
  };
  core::Metrics().AddCallbackGauge("voxgate_engine_active_streams",
                                   "Streams and requests in the engine now (running or waiting for a slot).",
                                   read(&speech::Capabilities::active_streams));
  core::Metrics().AddCallbackGauge("voxgate_engine_capacity", "Streams or requests the engine takes at once.",
                                   read(&speech::Capabilities::capacity));
}

}  // namespace

int ServeEngineUntilStopped(speech::SpeechServicePtr engine, EngineMainOptions options) {
  const std::string model_version = ModelVersion(*engine);
  if (!model_version.empty()) core::AddLogLabel("model_version", model_version);
  ExportLoadGauges(engine);
  auto server = EngineServer::Start(engine, options.listen, model_version);
  if (!server.ok()) {
    core::LogError("cannot listen", {{"error", std::string(server.status().message())}, {"listen", options.listen}});
    core::FlushLogs();
    return 1;
  }
  // The GPU check decides readiness: an engine that needs a GPU the driver cannot serve stays up
  // (its log and health say why) instead of crash-looping on a node pool that will never work.
  const auto gpu_mode = gpu::ParseGpuMode(options.gpu.mode).value_or(gpu::GpuMode::kOff);
  const gpu::GpuStartupCheck gpu_check = gpu::CheckGpuAtStartup(gpu_mode);
  if (gpu_mode != gpu::GpuMode::kOff) core::Log(gpu_check.severity, gpu_check.message, gpu_check.fields);
  std::unique_ptr<gpu::GpuTelemetry> gpu_telemetry;
  if (options.gpu.telemetry_seconds > 0) {
    gpu::GpuTelemetry::Options telemetry;
    telemetry.interval = std::chrono::milliseconds(static_cast<int64_t>(options.gpu.telemetry_seconds * 1000));
    gpu_telemetry = gpu::GpuTelemetry::Start(std::move(telemetry));
  }
  (*server)->SetServing(gpu_check.ready);
  std::atomic<bool> ready{gpu_check.ready};
  std::unique_ptr<MetricsListener> admin;
  if (!options.admin.empty()) {
    auto listener = MetricsListener::Start(options.admin, [&ready, &engine] { return ready.load() && engine->IsServing(); });
    if (!listener.ok()) {
      core::LogError("cannot listen", {{"error", std::string(listener.status().message())}, {"admin", options.admin}});
      core::FlushLogs();
      return 1;
    }
    admin = std::move(*listener);
  }
  nlohmann::json fields = std::move(options.serving_fields);
  if (admin) fields["admin"] = admin->address();
  fields["ready"] = gpu_check.ready;
  fields["compute"] = gpu_check.use_gpu ? "gpu" : "cpu";
  if (!gpu_check.ready) fields["not_ready_reason"] = gpu_check.message;
  fields["listen"] = (*server)->address();
  fields["load_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - options.load_start).count();
  core::LogInfo("engine serving", std::move(fields));
  const int sig = core::WaitForStopSignal();
  // Health checks answer NOT_SERVING (the pool sends nothing new but lets open work run), new
  // work is refused, open work gets the grace period; then the port closes.
  core::LogInfo("engine draining", {{"signal", strsignal(sig)}, {"grace_seconds", options.drain_grace_seconds}});
  (*server)->SetServing(false);
  ready = false;
  options.drain();
  if (!options.await_idle(std::chrono::milliseconds(static_cast<int64_t>(options.drain_grace_seconds * 1000)))) {
    core::LogWarning("grace period over; ending open work");
  }
  (*server)->Shutdown(std::chrono::seconds(1));
  if (gpu_telemetry) gpu_telemetry->Stop();
  admin.reset();
  core::LogInfo("engine stopped");
  core::FlushLogs();
  return 0;
}

}  // namespace voxgate::rpc
