// voxgate-engine-espeak: the built-in speech synthesis engine (espeak-ng, every installed voice)
// as a process of its own, serving the engine gRPC protocol. espeak-ng is GPL-3: it is linked
// only into this executable, never into the gateway. One synthesizer per process: run several
// processes for more concurrent synthesis.
#include <CLI/CLI.hpp>

#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/process.h"
#include "engines/espeak/espeak_engine.h"
#include "gpu/gpu_flags.h"
#include "rpc/engine_main.h"

int main(int argc, char** argv) {
  namespace es = voxgate::engines::espeak;
  namespace core = voxgate::core;
  CLI::App app{"voxgate-engine-espeak: espeak-ng speech synthesis behind the voxgate engine protocol"};
  es::EspeakEngine::Options options;
  std::string listen = "127.0.0.1:50053";
  std::string languages;
  double drain_grace_seconds = 30;
  app.add_option("--listen", listen, "address: host:port or unix:/path")->capture_default_str();
  app.add_option("--capacity", options.capacity, "synthesis requests in the engine at once (speaking or waiting)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--languages", languages, "comma-separated languages to serve (default: every installed voice)");
  app.add_option("--data-path", options.data_path, "directory with espeak-ng-data (default: the library's)");
  app.add_option("--max-text-chars", options.max_text_chars, "longest text of one request, in characters")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-audio-seconds", options.max_audio_seconds, "most audio one request may make")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--drain-grace-seconds", drain_grace_seconds, "on SIGTERM, how long open requests may finish")
      ->capture_default_str();
  voxgate::gpu::EngineGpuOptions gpu;
  voxgate::gpu::AddGpuFlags(app, gpu);
  std::string admin;
  app.add_option("--admin", admin, "host:port for /metrics, /healthz and /readyz (port 0 picks one); default: none");
  CLI11_PARSE(app, argc, argv);
  for (auto l : absl::StrSplit(languages, ',', absl::SkipEmpty())) options.languages.emplace_back(l);

  core::BlockStopSignals();
  core::SetLogLabels({{"tier", "engine"}, {"engine", "espeak"}});
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = es::EspeakEngine::Create(options);
  if (!engine.ok()) {
    core::LogError("cannot start the synthesizer", {{"error", std::string(engine.status().message())}});
    core::FlushLogs();
    return 1;
  }
  const auto caps = (*engine)->Describe();
  voxgate::rpc::EngineMainOptions serve;
  serve.listen = listen;
  serve.drain_grace_seconds = drain_grace_seconds;
  serve.drain = [e = *engine] { e->Drain(); };
  serve.await_idle = [e = *engine](std::chrono::milliseconds timeout) { return e->AwaitIdle(timeout); };
  serve.serving_fields = {{"capacity", options.capacity},
                          {"version", caps->version},
                          {"voices", caps->models[0].voices.size()},
                          {"languages", caps->models[0].language_codes.size()}};
  serve.load_start = load_start;
  serve.gpu = gpu;
  serve.admin = admin;
  return voxgate::rpc::ServeEngineUntilStopped(*engine, std::move(serve));
}
