// Runs a synthesis and waits (bounded) for its end, for tests of the streaming API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "speech/speech_service.h"

namespace voxgate::testing {

// Collects the audio; `stop_after` chunks, then OnAudio returns false (0: never stops).
class SynthesisRecorder : public speech::SynthesisObserver {
 public:
  explicit SynthesisRecorder(int stop_after = 0) : stop_after_(stop_after) {}
  bool OnAudio(std::span<const int16_t> samples, int rate) override {
    std::lock_guard lock(mu_);
    samples_.insert(samples_.end(), samples.begin(), samples.end());
    rate_ = rate;
    chunks_++;
    return stop_after_ == 0 || chunks_ < stop_after_;
  }
  void OnDone(absl::Status status) override {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
    done_count_++;
    cv_.notify_all();
  }
  // The outcome, or ABORTED "no answer" after `timeout` (a status no service gives).
  absl::Status Wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_count_ > 0; })) return absl::AbortedError("no answer");
    return status_;
  }
  std::vector<int16_t> samples() {
    std::lock_guard lock(mu_);
    return samples_;
  }
  int chunks() {
    std::lock_guard lock(mu_);
    return chunks_;
  }
  int rate() {
    std::lock_guard lock(mu_);
    return rate_;
  }
  int done_count() {
    std::lock_guard lock(mu_);
    return done_count_;
  }

 private:
  const int stop_after_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int16_t> samples_;
  int chunks_ = 0;
  int rate_ = 0;
  int done_count_ = 0;
  absl::Status status_;
};

inline speech::SynthesisRequest SpeechOf(std::string text, std::string voice = "") {
  speech::SynthesisRequest r;
  r.text = std::move(text);
  r.voice = std::move(voice);
  r.language_code = "en-US";
  return r;
}

}  // namespace voxgate::testing
