// voxgate-bench-instant-engine: an engine that answers every audio chunk at once (the unit tests'
// FakeSpeechService: a partial "N samples" per chunk, where N counts the stream's samples so far),
// behind the real engine gRPC protocol. With it a benchmark measures the platform alone.
#include <CLI/CLI.hpp>

#include "core/log.h"
#include "core/process.h"
#include "rpc/engine_server.h"
#include "testing/fake_speech_service.h"

int main(int argc, char** argv) {
  namespace core = voxgate::core;
  CLI::App app{"voxgate-bench-instant-engine: answers every chunk at once (benchmarks only)"};
  std::string listen = "127.0.0.1:0";
  int capacity = 64;
  app.add_option("--listen", listen, "address: host:port or unix:/path")->capture_default_str();
  app.add_option("--capacity", capacity, "concurrent streams")->check(CLI::Range(1, 4096))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  core::BlockStopSignals();
  core::SetLogLabels({{"tier", "engine"}, {"engine", "instant"}});
  auto engine = std::make_shared<voxgate::testing::FakeSpeechService>(capacity);
  auto server = voxgate::rpc::EngineServer::Start(engine, listen);
  if (!server.ok()) {
    core::LogError("cannot listen", {{"error", std::string(server.status().message())}, {"listen", listen}});
    core::FlushLogs();
    return 1;
  }
  (*server)->SetServing(true);
  core::LogInfo("engine serving", {{"listen", (*server)->address()}, {"capacity", capacity}});
  core::WaitForStopSignal();
  (*server)->Shutdown(std::chrono::seconds(1));
  core::FlushLogs();
  return 0;
}
