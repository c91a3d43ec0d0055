// What every connection of the gateway shares.
#pragma once

#include <atomic>
#include <chrono>
#include <random>
#include <string>

#include "gateway/gateway.h"
#include "audio/pcm.h"
#include "gateway/internal/asio.h"
#include "gateway/protocols/mimi/mimi_protocol.h"

namespace voxgate::gateway::internal {

// What every recognizer the gateway feeds takes: 16 kHz audio (client audio is resampled).
constexpr int kModelSampleRate = 16000;

inline std::chrono::milliseconds Seconds(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }

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

Response JsonResponse(unsigned status, std::string body, const std::string& content_type = "application/json");
// The status as an HTTP status and OpenAI-style JSON error body (+ Retry-After where it helps).
Response ErrorResponse(const absl::Status& status);

// What one client HTTP request did, for its metrics and its access log line.
struct AccessRecord {
  std::string route;  // a bounded label
  int status = 0;
  double seconds = 0;
  uint64_t response_bytes = 0;
  double audio_seconds = 0;  // recognized
  std::string error;         // what went wrong after the status was sent
};
void RecordRequest(const Request& req, const std::string& request_id, const std::string& remote, const Caller& caller,
                   const AccessRecord& record);

// POST /v1/audio/speech: synthesizes and writes the response itself, streamed with chunked
// transfer encoding as the audio is made (speech_http.cc). False: the connection must close.
asio::awaitable<bool> StreamSpeech(Context& ctx, beast::tcp_stream& stream, const Request& req, const std::string& request_id,
                                   const Caller& caller, AccessRecord& record);

// Waits (without blocking the I/O thread) for the service's callback, which comes on one of the
// service's threads: it leaves the result and wakes the coroutine through a channel. (Resuming
// the coroutine with a use_awaitable handler posted from that thread freed the strand executor
// under it; ASan.)
asio::awaitable<absl::StatusOr<speech::TranslationResponse>> TranslateAsync(speech::SpeechService& service,
                                                                           speech::TranslationRequest request);

// The whole synthesized audio of a request (for protocols that answer in one piece).
asio::awaitable<absl::StatusOr<audio::Pcm>> SynthesizeAll(Context& ctx, speech::SynthesisRequest request);

// The vosk- and mimi-compatible streaming protocols on an upgraded connection (ws_compat.cc).
asio::awaitable<void> RunVoskWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id, Caller caller);
asio::awaitable<void> RunMimiWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id, Caller caller,
                                       mimi::Config config);

// A close frame for `status`: its close code, and its message as the reason (printable ASCII
// only, as the 123 bytes of a reason must be UTF-8).
websocket::close_reason CloseReasonFor(const absl::Status& status);

// Runs the native streaming protocol on an upgraded connection (ws_recognize.cc).
asio::awaitable<void> RunRecognizeWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id,
                                            Caller caller);

}  // namespace voxgate::gateway::internal
