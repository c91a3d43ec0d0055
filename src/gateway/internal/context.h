// What every connection of the gateway shares.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>

#include "gateway/gateway.h"
#include "audio/pcm.h"
#include "gateway/internal/asio.h"
#include "gateway/internal/budget.h"
#include "gateway/protocols/mimi/mimi_protocol.h"

namespace voxgate::gateway::internal {

// What every recognizer the gateway feeds takes: 16 kHz audio (client audio is resampled).
constexpr int kModelSampleRate = 16000;

inline std::chrono::milliseconds Seconds(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }

// The largest request body taken: the largest upload and its multipart framing.
inline uint64_t MaxBodyBytes(const core::LimitsConfig& limits) { return limits.max_upload_bytes + core::kMultipartFramingBytes; }

struct Context {
  Context(GatewayOptions o, speech::SpeechServicePtr s, asio::thread_pool& b)
      : options(std::move(o)),
        service(std::move(s)),
        blocking(&b),
        // At least one whole upload, or an upload of the largest size would be refused forever
        // (ParseConfig sees to it; options need not come from a config).
        uploads(std::max<uint64_t>(options.limits.max_upload_memory_bytes, MaxBodyBytes(options.limits))),
        connections(options.limits.max_connections) {}

  const GatewayOptions options;
  const speech::SpeechServicePtr service;
  asio::thread_pool* const blocking;  // CPU work (decoding, resampling)
  Budget uploads;      // bytes of request bodies held
  Budget connections;  // open connections on the client listeners
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

// One request as it arrived, fixed once its header is read: its id, who sent it and from where,
// this endpoint's span of the client's trace (traceparent or X-Cloud-Trace-Context, else a new
// trace), and the report the tiers below fill in for its access line.
struct Incoming {
  std::string id;
  Caller caller;
  std::string remote;  // the client's IP
  core::TraceContext trace;
  speech::CallReportPtr report = std::make_shared<speech::CallReport>();
  // The client's connection while an HTTP request is served: to notice a client that hangs up,
  // and for a response written as it is made.
  beast::tcp_stream* connection = nullptr;
  // An HTTP request is answered by then: limits.request_timeout_seconds after its header came,
  // for its upload and its work together.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // The same on the wall clock (as speech requests carry it), and at most `cap` from now.
  std::chrono::system_clock::time_point WallDeadline(std::chrono::seconds cap) const {
    const auto left = std::min<std::chrono::steady_clock::duration>(deadline - std::chrono::steady_clock::now(), cap);
    return std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
  }

  // A speech request's fields that say whose it is. The report goes only to the request's main
  // call (set it by hand), so that side calls (a stream's translations) do not mix into it.
  template <typename SpeechRequest>
  void Stamp(SpeechRequest& r) const {
    r.request_id = id;
    r.plan = caller.plan;
    r.trace = trace;
  }
};
Incoming IncomingFor(const Request& req, std::string remote);

Response JsonResponse(unsigned status, std::string body, const std::string& content_type = "application/json");
// The status as an HTTP status and OpenAI-style JSON error body (+ Retry-After where it helps).
Response ErrorResponse(const absl::Status& status);

// What one client request or stream did, for its metrics and its access line.
struct AccessRecord {
  std::string route;  // a bounded label
  std::string language;
  int status = 0;       // the HTTP status sent (101 for a WebSocket)
  absl::Status result;  // how a stream or a streamed response ended; OK: as `status` says
  std::string error_code, error;  // an error response's code and message (from its body)
  bool client_gone = false;
  double seconds = 0;
  uint64_t response_bytes = 0;
  double audio_seconds = 0;  // recognized or synthesized
};
// The fields every access line has: httpRequest, request_id, api_key (the key's name), route,
// service, outcome, error, trace and span, and what the tiers below reported (pool, engine,
// hops, rtf).
nlohmann::json AccessLineFields(const Request& req, const Incoming& in, const AccessRecord& record);
// An HTTP request's metrics and its "request" line.
void RecordRequest(const Request& req, const Incoming& in, const AccessRecord& record);
// A WebSocket stream's metrics and its "stream" line, with the protocol's own `extra` fields.
void RecordStream(const Request& req, const Incoming& in, const AccessRecord& record, const nlohmann::json& extra);

// POST /v1/audio/speech: synthesizes and writes the response itself, streamed with chunked
// transfer encoding as the audio is made (speech_http.cc). False: the connection must close.
asio::awaitable<bool> StreamSpeech(Context& ctx, beast::tcp_stream& stream, const Request& req, const Incoming& in,
                                   AccessRecord& record);

// Waits (without blocking the I/O thread) for the service's callback, which comes on one of the
// service's threads: it leaves the result and wakes the coroutine through a channel. (Resuming
// the coroutine with a use_awaitable handler posted from that thread freed the strand executor
// under it; ASan.)
asio::awaitable<absl::StatusOr<speech::TranslationResponse>> TranslateAsync(speech::SpeechService& service,
                                                                           speech::TranslationRequest request);

// The whole synthesized audio of a request (for protocols that answer in one piece).
asio::awaitable<absl::StatusOr<audio::Pcm>> SynthesizeAll(Context& ctx, speech::SynthesisRequest request);

// The vosk- and mimi-compatible streaming protocols on an upgraded connection (ws_compat.cc).
asio::awaitable<void> RunVoskWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in);
asio::awaitable<void> RunMimiWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in,
                                       mimi::Config config);

// A close frame for `status`: its close code, and its message as the reason (printable ASCII
// only, as the 123 bytes of a reason must be UTF-8).
websocket::close_reason CloseReasonFor(const absl::Status& status);

// Runs the native streaming protocol on an upgraded connection (ws_recognize.cc).
asio::awaitable<void> RunRecognizeWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in);

}  // namespace voxgate::gateway::internal
