// voxgate-engine-pocketsphinx: the built-in speech recognition engine (CMU pocketsphinx) as a
// process of its own, serving the engine gRPC protocol on a TCP or unix: address.
#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/process.h"
#include "engines/pocketsphinx/pocketsphinx_engine.h"
#include "gpu/gpu_flags.h"
#include "rpc/engine_main.h"

int main(int argc, char** argv) {
  namespace ps = voxgate::engines::pocketsphinx;
  namespace core = voxgate::core;
  CLI::App app{"voxgate-engine-pocketsphinx: CMU pocketsphinx behind the voxgate engine protocol"};
  ps::PocketsphinxEngine::Options options;
  std::string listen = "127.0.0.1:50051";
  std::string languages = "en-US";
  double drain_grace_seconds = 30;
  app.add_option("--listen", listen, "address: host:port or unix:/path")->capture_default_str();
  app.add_option("--capacity", options.capacity, "concurrent streams (one decoder each, ~90 MB)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--model-dir", options.model_dir, "acoustic model, dictionary and language model")->capture_default_str();
  app.add_option("--languages", languages, "comma-separated language codes this model serves")->capture_default_str();
  app.add_flag("--fast-final", options.fast_final, "final results in milliseconds instead of ~0.1-0.25 s, a little less accurate");
  app.add_option("--drain-grace-seconds", drain_grace_seconds, "on SIGTERM, how long open streams may finish")
      ->capture_default_str();
  voxgate::gpu::EngineGpuOptions gpu;
  voxgate::gpu::AddGpuFlags(app, gpu);
  std::string admin;
  app.add_option("--admin", admin, "host:port for /metrics, /healthz and /readyz (port 0 picks one); default: none");
  CLI11_PARSE(app, argc, argv);
  options.language_codes.clear();
  for (auto l : absl::StrSplit(languages, ',', absl::SkipEmpty())) options.language_codes.emplace_back(l);

  core::BlockStopSignals();
  core::SetLogLabels({{"tier", "engine"}, {"engine", "pocketsphinx"}});
  // Decoders load before the port opens: until then the pool's health checks fail, as they should.
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = ps::PocketsphinxEngine::Create(options);
  if (!engine.ok()) {
    core::LogError("cannot load the model", {{"error", std::string(engine.status().message())}});
    core::FlushLogs();
    return 1;
  }
  voxgate::rpc::EngineMainOptions serve;
  serve.listen = listen;
  serve.drain_grace_seconds = drain_grace_seconds;
  serve.drain = [e = *engine] { e->Drain(); };
  serve.await_idle = [e = *engine](std::chrono::milliseconds timeout) { return e->AwaitIdle(absl::FromChrono(timeout)); };
  serve.serving_fields = {{"capacity", options.capacity}};
  serve.load_start = load_start;
  serve.gpu = gpu;
  serve.admin = admin;
  return voxgate::rpc::ServeEngineUntilStopped(*engine, std::move(serve));
}
