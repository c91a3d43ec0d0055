// What every connection of the gateway shares.
#pragma once

#include <atomic>
#include <random>
#include <string>

#include "gateway/gateway.h"
#include "gateway/internal/asio.h"

namespace voxgate::gateway::internal {

struct Context {
  GatewayOptions options;
  speech::SpeechServicePtr service;
  asio::thread_pool* blocking = nullptr;  // CPU work (decoding, resampling)
  std::atomic<bool> draining{false};
  std::atomic<int> active{0};
};

// Counts a request or stream as active for its lifetime (drain waits for these).
class ActiveGuard {
 public:
  explicit ActiveGuard(Context& ctx) : ctx_(ctx) { ctx_.active++; }
  ~ActiveGuard() { ctx_.active--; }
  ActiveGuard(const ActiveGuard&) = delete;
  ActiveGuard& operator=(const ActiveGuard&) = delete;

 private:
  Context& ctx_;
};

// The client's X-Request-Id when it is sane, else a new random id.
std::string RequestIdFor(const Request& req);

// Waits (without blocking the I/O thread) for the service's callback, which comes on one of the
// service's threads: it leaves the result and wakes the coroutine through a channel. (Resuming
// the coroutine with a use_awaitable handler posted from that thread freed the strand executor
// under it; ASan.)
asio::awaitable<absl::StatusOr<speech::TranslationResponse>> TranslateAsync(speech::SpeechService& service,
                                                                           speech::TranslationRequest request);

// Runs the native streaming protocol on an upgraded connection (ws_recognize.cc).
asio::awaitable<void> RunRecognizeWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id,
                                            Caller caller);

}  // namespace voxgate::gateway::internal
