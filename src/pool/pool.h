// The pool tier: a SpeechService over several engine instances. It checks their health,
// sends each new stream to the healthy engine with the least outstanding streams relative to its
// capacity, refuses work clearly when every slot is taken, and drains on shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rpc/remote_speech_service.h"
#include "speech/speech_service.h"

namespace voxgate::pool {

class Pool : public speech::SpeechService, public std::enable_shared_from_this<Pool> {
 public:
  struct Options {
    std::string name;
    std::chrono::milliseconds health_interval{5000};
    std::chrono::milliseconds health_timeout{1000};
    // Until an engine first answers healthy it is asked this often (engines take a while to load).
    std::chrono::milliseconds startup_probe_interval{200};
  };
  // `engines`: one RemoteSpeechService per engine instance.
  Pool(Options options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines);
  ~Pool() override;

  // Starts the health-check thread.
  void Start();
  // New streams are refused (UNAVAILABLE) from now on; open ones continue.
  void Drain();
  int active_streams() const;
  int healthy_engines() const;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  bool IsServing() override;

 private:
  struct Engine {
    std::shared_ptr<rpc::RemoteSpeechService> service;
    bool healthy = false;
    bool described = false;
    speech::Capabilities capabilities;
    int outstanding = 0;
  };
  class CountingObserver;

  void HealthLoop();
  void CheckAll();
  void Release(size_t engine_index);
  void OnEngineUnavailable(size_t engine_index);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Engine> engines_;
  bool draining_ = false;
  bool stopping_ = false;
  bool ever_healthy_ = false;
  bool recheck_ = false;  // check every engine now, not at the next interval
  std::thread health_thread_;
};

}  // namespace voxgate::pool
