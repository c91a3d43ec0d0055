// Carries a recognition stream's callbacks (engine threads) to the connection's coroutines.
// Results queue up to a bound (a client that stops reading is cut off, not buffered forever);
// OnDone and OnReadyForAudio are never lost. Waits are awaitable with a deadline.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>

#include "gateway/internal/asio.h"
#include "gateway/internal/wake.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::internal {

class StreamEvents : public speech::RecognitionObserver {
 public:
  static constexpr size_t kMaxQueuedResults = 512;

  explicit StreamEvents(asio::any_io_executor executor) : results_wake_(executor), ready_wake_(executor), done_wake_(executor) {}

  void OnResult(speech::RecognitionResult result) override {
    if (speech::IsProgressOnly(result)) return;  // for the tiers' hang checks, not for clients
    {
      std::lock_guard lock(mu_);
      if (given_up_) return;
      if (results_.size() >= kMaxQueuedResults) {
        overflowed_ = given_up_ = true;
        return;
      }
      results_.push_back(std::move(result));
    }
    results_wake_.Notify();
  }

  void OnDone(absl::Status status) override {
    {
      std::lock_guard lock(mu_);
      done_ = std::move(status);
    }
    results_wake_.Notify();
    ready_wake_.Notify();
    done_wake_.Notify();
  }

  void OnReadyForAudio() override { ready_wake_.Notify(); }

  // See Wake: the waiting coroutine has ended.
  void Detach() {
    results_wake_.Detach();
    ready_wake_.Detach();
    done_wake_.Detach();
  }

  struct Next {
    std::optional<speech::RecognitionResult> result;  // set: a result
    std::optional<absl::Status> done;                 // set: the stream ended
    bool overflowed = false;                           // results were dropped: the client is too slow
    bool timed_out = false;
  };

  // The next result, or the end of the stream once every result was taken; nullopt when there
  // is nothing yet.
  std::optional<Next> TryNext() {
    std::lock_guard lock(mu_);
    Next n;
    if (overflowed_) {  // said once; what was queued is of no use any more
      overflowed_ = false;
      results_.clear();
      n.overflowed = true;
      return n;
    }
    if (!results_.empty()) {
      n.result = std::move(results_.front());
      results_.pop_front();
      return n;
    }
    if (done_) {
      n.done = *done_;
      return n;
    }
    return std::nullopt;
  }

  // The next result, or the end of the stream once every result was taken.
  asio::awaitable<Next> NextResult(std::chrono::steady_clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    while (true) {
      if (auto n = TryNext()) co_return std::move(*n);
      auto which = co_await (results_wake_.Wait() || timer.async_wait(kAwait));
      if (which.index() == 1) {
        Next n;
        n.timed_out = true;
        co_return n;
      }
    }
  }

  // Waits until the stream's buffer has room again (after a refused Write) or the stream ended.
  // False on timeout.
  asio::awaitable<bool> WaitReadyForAudio(std::chrono::steady_clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto which = co_await (ready_wake_.Wait() || timer.async_wait(kAwait));
    co_return which.index() == 0;
  }

  // The same, but also true when a result came: a caller that passes results on as they come
  // (stream=true) is then not held behind the audio's flow control.
  asio::awaitable<bool> WaitReadyForAudioOrResult(std::chrono::steady_clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto which = co_await (ready_wake_.Wait() || results_wake_.Wait() || timer.async_wait(kAwait));
    co_return which.index() != 2;
  }

  // Returns once the stream has ended (at once if it has), without taking any result.
  asio::awaitable<void> WaitDone() {
    while (!done()) co_await done_wake_.Wait();
  }

  bool done() {
    std::lock_guard lock(mu_);
    return done_.has_value();
  }

 private:
  std::mutex mu_;
  std::deque<speech::RecognitionResult> results_;
  std::optional<absl::Status> done_;
  bool overflowed_ = false;
  bool given_up_ = false;  // overflowed once: the stream is being cancelled, results are dropped
  Wake results_wake_;
  Wake ready_wake_;
  Wake done_wake_;
};

}  // namespace voxgate::gateway::internal
