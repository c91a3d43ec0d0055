// voxgate-engine-apertium: the built-in machine translation engine (apertium, every installed
// language pair) as a process of its own, serving the engine gRPC protocol. GPL-2+ apertium runs
// in child processes of this one; nothing of it is linked into the gateway.
#include <CLI/CLI.hpp>

#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/process.h"
#include "engines/apertium/apertium_engine.h"
#include "gpu/gpu_flags.h"
#include "rpc/engine_main.h"

int main(int argc, char** argv) {
  namespace ap = voxgate::engines::apertium;
  namespace core = voxgate::core;
  CLI::App app{"voxgate-engine-apertium: apertium machine translation behind the voxgate engine protocol"};
  ap::ApertiumEngine::Options options;
  std::string listen = "127.0.0.1:50052";
  std::string languages;
  double drain_grace_seconds = 30;
  app.add_option("--listen", listen, "address: host:port or unix:/path")->capture_default_str();
  app.add_option("--capacity", options.capacity, "translation requests in the engine at once")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--languages", languages, "comma-separated source languages to serve (default: every installed pair)");
  app.add_option("--pipelines-per-pair", options.pipelines_per_pair, "warm apertium pipelines per pair (~200 MB each)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--modes-dir", options.modes_dir, "where apertium's language pairs are installed")->capture_default_str();
  app.add_option("--drain-grace-seconds", drain_grace_seconds, "on SIGTERM, how long open requests may finish")
      ->capture_default_str();
  voxgate::gpu::EngineGpuOptions gpu;
  voxgate::gpu::AddGpuFlags(app, gpu);
  std::string admin;
  app.add_option("--admin", admin, "host:port for /metrics, /healthz and /readyz (port 0 picks one); default: none");
  CLI11_PARSE(app, argc, argv);
  for (auto l : absl::StrSplit(languages, ',', absl::SkipEmpty())) options.source_languages.emplace_back(l);

  core::BlockStopSignals();
  core::SetLogLabels({{"tier", "engine"}, {"engine", "apertium"}});
  const auto load_start = std::chrono::steady_clock::now();
  auto engine = ap::ApertiumEngine::Create(options);
  if (!engine.ok()) {
    core::LogError("cannot start the translator", {{"error", std::string(engine.status().message())}});
    core::FlushLogs();
    return 1;
  }
  std::vector<std::string> pairs;
  const auto caps = (*engine)->Describe();
  for (const auto& m : caps->models) pairs.push_back(m.language_codes[0] + "->" + m.target_language_codes[0]);
  voxgate::rpc::EngineMainOptions serve;
  serve.listen = listen;
  serve.drain_grace_seconds = drain_grace_seconds;
  serve.drain = [e = *engine] { e->Drain(); };
  serve.await_idle = [e = *engine](std::chrono::milliseconds timeout) { return e->AwaitIdle(timeout); };
  serve.serving_fields = {{"capacity", options.capacity}, {"pairs", pairs}};
  serve.load_start = load_start;
  serve.gpu = gpu;
  serve.admin = admin;
  return voxgate::rpc::ServeEngineUntilStopped(*engine, std::move(serve));
}
