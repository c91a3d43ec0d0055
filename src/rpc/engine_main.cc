#include "rpc/engine_main.h"

#include <cstring>

#include "core/log.h"
#include "core/process.h"
#include "rpc/engine_server.h"

namespace voxgate::rpc {

int ServeEngineUntilStopped(speech::SpeechServicePtr engine, EngineMainOptions options) {
  auto server = EngineServer::Start(engine, options.listen);
  if (!server.ok()) {
    core::LogError("cannot listen", {{"error", std::string(server.status().message())}, {"listen", options.listen}});
    core::FlushLogs();
    return 1;
  }
  (*server)->SetServing(true);
  nlohmann::json fields = std::move(options.serving_fields);
  fields["listen"] = (*server)->address();
  fields["load_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - options.load_start).count();
  core::LogInfo("engine serving", std::move(fields));
  const int sig = core::WaitForStopSignal();
  // Health checks answer NOT_SERVING (the pool sends nothing new but lets open work run), new
  // work is refused, open work gets the grace period; then the port closes.
  core::LogInfo("engine draining", {{"signal", strsignal(sig)}, {"grace_seconds", options.drain_grace_seconds}});
  (*server)->SetServing(false);
  options.drain();
  if (!options.await_idle(std::chrono::milliseconds(static_cast<int64_t>(options.drain_grace_seconds * 1000)))) {
    core::LogWarning("grace period over; ending open work");
  }
  (*server)->Shutdown(std::chrono::seconds(1));
  core::LogInfo("engine stopped");
  core::FlushLogs();
  return 0;
}

}  // namespace voxgate::rpc
