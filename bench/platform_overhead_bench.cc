// The platform's overhead on recognition: the same LibriVox clip recognised
//   * EngineInProcess: by PocketsphinxEngine called directly (no network, no process hop), and
//   * FullPath: through a real `voxgate serve` (WebSocket client → gateway → router → pool →
//     gRPC over a Unix socket → engine process),
// both one stream at a time, audio sent as fast as the stream accepts it. The gap between the two
// real-time factors is what voxgate adds. Run with --benchmark_enable_random_interleaving so
// both see the same machine noise (make bench does).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "audio/decode.h"
#include "cli/client.h"
#include "core/process.h"
#include "engines/pocketsphinx/pocketsphinx_engine.h"

namespace {

constexpr char kClip[] = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav";

const voxgate::audio::Pcm& Clip() {
  static const voxgate::audio::Pcm pcm = [] {
    std::ifstream in(kClip, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return *voxgate::audio::DecodeAudioFile(bytes.str(), 1 << 24);
  }();
  return pcm;
}

class DoneWaiter : public voxgate::speech::RecognitionObserver {
 public:
  void OnResult(voxgate::speech::RecognitionResult) override {}
  void OnReadyForAudio() override {
    std::lock_guard lock(mu_);
    ready_ = true;
    cv_.notify_all();
  }
  void OnDone(absl::Status) override {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void WaitReady() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [this] { return ready_ || done_; });
    ready_ = false;
  }
  void WaitDone() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(60), [this] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false, done_ = false;
};

void BM_EngineInProcess(benchmark::State& state) {
  static auto engine = *voxgate::engines::pocketsphinx::PocketsphinxEngine::Create({});
  const auto& pcm = Clip();
  for (auto _ : state) {
    auto observer = std::make_shared<DoneWaiter>();
    auto stream = *engine->StartRecognition({}, observer);
    for (size_t pos = 0; pos < pcm.samples.size();) {
      const size_t n = std::min<size_t>(1600, pcm.samples.size() - pos);
      if (absl::IsResourceExhausted(stream->Write(std::span(pcm.samples).subspan(pos, n)))) {
        observer->WaitReady();
        continue;
      }
      pos += n;
    }
    stream->Finish();
    observer->WaitDone();
  }
  state.counters["rtf"] = benchmark::Counter(pcm.DurationSeconds() * state.iterations(),
                                             benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// A `voxgate serve` child process with one capacity-1 pocketsphinx engine, on free ports.
struct Server {
  pid_t pid = -1;
  std::string url;

  Server() {
    const std::string dir = voxgate::core::ExecutableDir();
    char config[] = "/tmp/voxgate-bench-XXXXXX";
    const int fd = mkstemp(config);
    const std::string yaml =
        "pools:\n  - name: asr\n    languages: [en-US]\n    health_check: {interval_seconds: 1}\n"
        "    engines: [{engine: pocketsphinx, capacity: 1}]\n";
    if (write(fd, yaml.data(), yaml.size()) < 0) std::abort();
    close(fd);
    int out[2];
    if (pipe(out) != 0) std::abort();
    pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      const std::string bin = dir + "/voxgate";
      execl(bin.c_str(), bin.c_str(), "serve", "--config", config, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* logs = fdopen(out[0], "r");
    char line[4096];
    while (url.empty() && fgets(line, sizeof line, logs) != nullptr) {
      const std::string l(line);
      const auto at = l.find("\"listen\":\"");
      if (l.find("voxgate listening") != std::string::npos && at != std::string::npos) {
        url = "http://" + l.substr(at + 10, l.find('"', at + 10) - at - 10);
      }
    }
    // Keep draining its logs so it never blocks on a full pipe.
    std::thread([logs] {
      char buf[4096];
      while (fgets(buf, sizeof buf, logs) != nullptr) {
      }
    }).detach();
    unlink(config);
    // Wait until the engine is loaded: a tiny stream succeeds.
    voxgate::audio::Pcm beep{16000, std::vector<int16_t>(1600, 0)};
    for (int i = 0; i < 100; ++i) {
      if (voxgate::cli::StreamRecognize(url, "en-US", beep, 100, {}).ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  ~Server() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

void BM_FullPath(benchmark::State& state) {
  static Server server;
  const auto& pcm = Clip();
  for (auto _ : state) {
    auto s = voxgate::cli::StreamRecognize(server.url, "en-US", pcm, 10000, {});
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  state.counters["rtf"] = benchmark::Counter(pcm.DurationSeconds() * state.iterations(),
                                             benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_EngineInProcess)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();
BENCHMARK(BM_FullPath)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
