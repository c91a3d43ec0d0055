// The pool tier: a SpeechService over several engine instances. It checks their health actively
// (gRPC health, thresholds, jitter) and passively (outlier ejection), sends each new stream to
// the engine in rotation with the least outstanding streams relative to its capacity, queues
// streams (bounded, with a timeout) when every slot is taken, moves a stream to another engine
// when its engine fails (PooledStream replays its audio), and drains on shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "pool/engine_health.h"
#include "pool/pooled_stream.h"
#include "pool/wait_queue.h"
#include "rpc/remote_speech_service.h"
#include "speech/speech_service.h"

namespace voxgate::pool {

class Pool : public speech::SpeechService, public EngineSource, public std::enable_shared_from_this<Pool> {
 public:
  struct Options {
    std::string name;
    std::chrono::milliseconds health_interval{5000};
    std::chrono::milliseconds health_timeout{1000};
    std::chrono::milliseconds health_jitter{500};  // up to this much added to each interval
    // Until an engine first answers healthy it is asked this often (engines take a while to load).
    std::chrono::milliseconds startup_probe_interval{200};
    HealthPolicy health;
    double max_ejected_share = 0.5;  // of the pool's engines; at least one may always be ejected
    size_t max_queued_streams = 64;
    std::chrono::milliseconds queue_timeout{5000};
    // How long a stream whose engine failed waits for another (the engine may be restarting).
    std::chrono::milliseconds failover_timeout{30000};
    PooledStream::Options stream;
    const core::Clock* clock = &core::SystemClock();
  };
  // `engines`: one RemoteSpeechService per engine instance.
  Pool(Options options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines);
  ~Pool() override;

  // Starts the health-check and dispatch threads.
  void Start();
  // Stops them; streams still waiting for an engine end. Open streams keep a reference to the
  // pool, so the owner calls Stop before letting go of its own (the pool's last reference may
  // then go away on any thread).
  void Stop();
  // New streams are refused (UNAVAILABLE) from now on; open ones continue.
  void Drain();
  const std::string& name() const { return options_.name; }
  int active_streams() const;
  int healthy_engines() const;
  size_t queued_streams() const;

  struct EngineStatus {
    std::string address;
    EngineState state;
    int outstanding = 0;
    int capacity = 0;
    std::string last_check;  // "ok" or the error
  };
  std::vector<EngineStatus> EngineStatuses() const;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  bool IsServing() override;

  // EngineSource (for PooledStream).
  void RequestEngine(std::shared_ptr<PooledStream> stream, std::optional<size_t> avoid) override;
  bool Withdraw(const PooledStream* stream) override;
  void EngineStreamDone(size_t engine, const PooledStream* stream, const absl::Status& status) override;
  void CountFailover(double replayed_seconds) override;

 private:
  struct Engine {
    explicit Engine(const HealthPolicy& policy) : health(policy) {}
    std::shared_ptr<rpc::RemoteSpeechService> service;
    EngineHealth health;
    bool described = false;
    speech::Capabilities capabilities;
    int outstanding = 0;
    std::vector<std::pair<const PooledStream*, std::weak_ptr<PooledStream>>> streams;
    std::string last_check = "not checked yet";
  };

  void HealthLoop();
  void CheckAll();
  void DispatchLoop();
  // Gives `stream` a free engine now: OK, RESOURCE_EXHAUSTED (none free), CANCELLED (the stream
  // is gone) or the error that says the request itself is wrong.
  absl::Status TryAssign(const std::shared_ptr<PooledStream>& stream, std::optional<size_t> avoid);
  std::optional<size_t> PickLocked(std::optional<size_t> avoid, const std::vector<bool>& tried) const;
  bool AnyInRotationLocked() const;
  int EjectedCountLocked() const;
  // Runs `task` on the dispatch thread (never inside a caller's call).
  void PostLocked(std::function<void()> task);
  // The engine left rotation because it failed: its streams move elsewhere.
  void EngineLostLocked(size_t engine);
  // Passive health: a call on `engine` failed for an engine reason.
  void OnEngineFailureLocked(size_t engine, const absl::Status& status);
  std::string OverCapacityMessage(int capacity) const;

  const Options options_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable health_cv_;
  std::condition_variable dispatch_cv_;
  std::vector<Engine> engines_;
  WaitQueue queue_;
  std::vector<std::function<void()>> tasks_;
  bool assign_needed_ = false;
  bool draining_ = false;
  bool stopping_ = false;
  bool ever_healthy_ = false;
  bool recheck_ = false;  // check every engine now, not at the next interval
  std::thread health_thread_;
  std::thread dispatch_thread_;
};

}  // namespace voxgate::pool
