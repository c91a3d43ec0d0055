// Carries a synthesis's callbacks (engine threads) to a connection's coroutine. Audio queues up
// to a bound: a client that reads slower than the synthesizer speaks is buffered that far, then
// the synthesis is stopped rather than held in memory without end.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "gateway/internal/asio.h"
#include "gateway/internal/wake.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::internal {

class SynthesisEvents : public speech::SynthesisObserver {
 public:
  static constexpr size_t kMaxQueuedSamples = 16 << 20;  // 11 min at 24 kHz, 32 MiB

  explicit SynthesisEvents(asio::any_io_executor executor) : wake_(std::move(executor)) {}

  bool OnAudio(std::span<const int16_t> samples, int sample_rate_hertz) override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return false;
      if (samples_.size() + samples.size() > kMaxQueuedSamples) {
        overflowed_ = stopped_ = true;
        return false;
      }
      samples_.insert(samples_.end(), samples.begin(), samples.end());
      sample_rate_hertz_ = sample_rate_hertz;
    }
    wake_.Notify();
    return true;
  }

  void OnDone(absl::Status status) override {
    {
      std::lock_guard lock(mu_);
      done_ = overflowed_ ? absl::ResourceExhaustedError("the client reads the audio too slowly") : std::move(status);
    }
    wake_.Notify();
  }

  // See Wake: the waiting coroutine has ended.
  void Detach() { wake_.Detach(); }

  struct Next {
    std::vector<int16_t> samples;  // everything queued since the last call (may be empty)
    int sample_rate_hertz = 0;
    std::optional<absl::Status> done;  // set: the synthesis ended (after its audio was taken)
    bool timed_out = false;
  };

  // The audio queued so far, or the end once all audio was taken.
  asio::awaitable<Next> NextAudio(std::chrono::steady_clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    while (true) {
      {
        std::lock_guard lock(mu_);
        Next n;
        if (!samples_.empty()) {
          n.samples.swap(samples_);
          n.sample_rate_hertz = sample_rate_hertz_;
          co_return n;
        }
        if (done_) {
          n.done = *done_;
          co_return n;
        }
      }
      auto which = co_await (wake_.Wait() || timer.async_wait(kAwait));
      if (which.index() == 1) {
        Next n;
        n.timed_out = true;
        co_return n;
      }
    }
  }

  // Hands each batch of audio to `consume` (an awaitable of bool: false stops) until the
  // synthesis ends, and returns how it ended: its own status, CANCELLED when `consume` stopped,
  // or DEADLINE_EXCEEDED when no audio came for `timeout`. The synthesis is stopped unless it
  // ended by itself.
  template <typename Consume>
  asio::awaitable<absl::Status> ForEachAudio(std::chrono::steady_clock::duration timeout, Consume consume) {
    while (true) {
      Next next = co_await NextAudio(timeout);
      if (next.timed_out) {
        Stop();
        co_return absl::DeadlineExceededError("speech synthesis stalled");
      }
      bool consumed = true;
      if (!next.samples.empty()) consumed = co_await consume(next);
      if (!consumed) {
        Stop();
        co_return absl::CancelledError("the receiver of the audio stopped");
      }
      if (next.done) co_return *next.done;
    }
  }

  // The caller gives up (its client is gone): the synthesis stops at its next chunk.
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }

 private:
  std::mutex mu_;
  std::vector<int16_t> samples_;
  int sample_rate_hertz_ = 0;
  std::optional<absl::Status> done_;
  bool stopped_ = false;
  bool overflowed_ = false;
  Wake wake_;
};

}  // namespace voxgate::gateway::internal
