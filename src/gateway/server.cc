// The gateway's listeners and HTTP routes. WebSocket streams are handed to ws_recognize.cc.
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "audio/encoder.h"
#include "audio/pcm.h"
#include "core/log.h"
#include "core/metrics.h"
#include "gateway/errors.h"
#include "gateway/gateway.h"
#include "gateway/internal/chunked_response.h"
#include "gateway/internal/context.h"
#include "gateway/internal/stream_events.h"
#include "gateway/internal/wake.h"
#include "gateway/multipart.h"
#include "gateway/protocols/mimi/mimi_protocol.h"
#include "gateway/protocols/openai/speech_request.h"
#include "gateway/protocols/openai/transcription_format.h"
#include "gateway/protocols/translate/translate_api.h"
#include "gateway/upload_audio.h"
#include "gateway/websocket_handshake.h"
#include "net/tcp_listen.h"
#include "speech/language.h"

namespace voxgate::gateway {

using namespace internal;  // NOLINT: the asio aliases

namespace internal {

std::string RequestIdFor(const Request& req) {
  const auto it = req.find("x-request-id");
  if (it != req.end()) {
    const std::string_view id = it->value();
    const bool sane = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (sane) return std::string(id);
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

asio::awaitable<absl::StatusOr<speech::TranslationResponse>> TranslateAsync(speech::SpeechService& service,
                                                                           speech::TranslationRequest request) {
  struct Pending {
    explicit Pending(const asio::any_io_executor& executor) : wake(executor) {}
    void Detach() { wake.Detach(); }
    std::mutex mu;
    std::optional<absl::StatusOr<speech::TranslationResponse>> result;
    Wake wake;
  };
  EventsOwner<Pending> pending(co_await asio::this_coro::executor);
  service.Translate(std::move(request), [pending = pending.observer()](absl::StatusOr<speech::TranslationResponse> result) {
    {
      std::lock_guard lock(pending->mu);
      pending->result = std::move(result);
    }
    pending->wake.Notify();
  });
  co_await pending->wake.Wait();
  std::lock_guard lock(pending->mu);
  co_return std::move(*pending->result);
}

Response JsonResponse(unsigned status, std::string body, const std::string& content_type) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::server, "voxgate");
  res.body() = std::move(body);
  return res;
}

Response ErrorResponse(const absl::Status& status) {
  Response res = JsonResponse(HttpStatusFor(status), ErrorBody(status));
  if (int retry = RetryAfterSeconds(status); retry > 0) res.set(http::field::retry_after, std::to_string(retry));
  return res;
}

Incoming IncomingFor(const Request& req, std::string remote) {
  Incoming in;
  in.id = RequestIdFor(req);
  in.remote = std::move(remote);
  in.trace = core::ContinueTrace(req["traceparent"], req["x-cloud-trace-context"]);
  return in;
}

namespace {

// A language tag is a few bytes; what a client sends as one may be up to a body's size.
constexpr size_t kShownLanguageBytes = 64;

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::string ServiceOfRoute(std::string_view route) {
  if (route == "/v1/translate" || route == "/machine_translation") return "mt";
  if (route == "/v1/audio/speech" || route == "/speech_synthesis") return "tts";
  if (route == "/v1/audio/transcriptions" || route == "/v1/recognize" || route == "/vosk" || route == "/mimi" || route == "/ (mimi)") {
    return "asr";
  }
  return "";
}

}  // namespace

namespace {

// The audio a request or stream processed (voxgate_audio_seconds_total) and the engine's
// real-time factor on it (voxgate_real_time_factor, per service and pool).
void CountProcessed(const AccessRecord& r, const nlohmann::json& fields) {
  if (r.audio_seconds > 0) {
    core::Metrics()
        .GetCounter("voxgate_audio_seconds_total", "Seconds of audio processed: recognized, or synthesized.", {{"route", r.route}})
        .Increment(r.audio_seconds);
  }
  if (!fields.contains("rtf") || !fields.contains("pool")) return;
  core::Metrics()
      .GetHistogram("voxgate_real_time_factor", "Engine seconds per second of audio, per request or stream.",
                    core::RealTimeFactorBuckets(), {{"service", fields["service"].get<std::string>()}, {"pool", fields["pool"].get<std::string>()}})
      .Observe(fields["rtf"].get<double>());
}

}  // namespace

nlohmann::json AccessLineFields(const Request& req, const Incoming& in, const AccessRecord& r) {
  const std::string outcome = r.client_gone      ? "client_gone"
                              : !r.result.ok()   ? speech::OutcomeFor(HttpStatusFor(r.result))
                              : r.status == 101 ? "ok"
                                                 : speech::OutcomeFor(r.status);
  nlohmann::json http_request = {{"requestMethod", std::string(req.method_string())},
                                 {"requestUrl", std::string(PathOf(req.target()))},
                                 {"status", r.status},
                                 {"latency", absl::StrFormat("%.6fs", r.seconds)},
                                 {"remoteIp", in.remote},
                                 {"userAgent", std::string(req[http::field::user_agent])}};
  if (r.status != 101) {
    http_request["requestSize"] = std::to_string(req.body().size());
    http_request["responseSize"] = std::to_string(r.response_bytes);
  }
  nlohmann::json fields = {{"request_id", in.id},      {"httpRequest", std::move(http_request)},
                           {"route", r.route},         {"service", ServiceOfRoute(r.route)},
                           {"outcome", outcome},       {"audio_seconds", r.audio_seconds}};
  if (!in.caller.name.empty()) fields["api_key"] = in.caller.name;
  if (!r.language.empty()) fields["language"] = speech::ShownText(r.language, kShownLanguageBytes);
  if (!r.result.ok()) {
    fields["error_code"] = ErrorCode(r.result);
    fields["error"] = ShownMessage(r.result);
  } else if (!r.error_code.empty()) {
    fields["error_code"] = r.error_code;
    fields["error"] = r.error;
  }
  speech::AddCallReportFields(fields, in.report->values(), r.audio_seconds, r.seconds);
  core::AddTraceFields(fields, in.trace);
  return fields;
}

void RecordRequest(const Request& req, const Incoming& in, const AccessRecord& r) {
  core::Metrics()
      .GetCounter("voxgate_http_requests_total", "HTTP requests by route and status code.",
                  {{"route", r.route}, {"code", std::to_string(r.status)}})
      .Increment();
  core::Metrics()
      .GetHistogram("voxgate_http_request_duration_seconds", "HTTP request latency.", core::LatencyBuckets(), {{"route", r.route}})
      .Observe(r.seconds);
  nlohmann::json fields = AccessLineFields(req, in, r);
  CountProcessed(r, fields);
  const std::string& outcome = fields["outcome"].get_ref<const std::string&>();
  core::Log(outcome == "server_error" ? core::Severity::kError : outcome == "ok" ? core::Severity::kInfo : core::Severity::kWarning,
            "request", std::move(fields));
}

void RecordStream(const Request& req, const Incoming& in, const AccessRecord& r, const nlohmann::json& extra) {
  const std::string outcome = r.client_gone ? "client_gone" : r.result.ok() ? "ok" : ErrorCode(r.result);
  core::Metrics()
      .GetCounter("voxgate_streams_total", "Recognition streams by route and outcome.", {{"route", r.route}, {"outcome", outcome}})
      .Increment();
  nlohmann::json fields = AccessLineFields(req, in, r);
  CountProcessed(r, fields);
  fields.update(extra);
  const bool failed = fields["outcome"] == "server_error";
  core::Log(failed ? core::Severity::kWarning : core::Severity::kInfo, "stream", std::move(fields));
}

}  // namespace internal

namespace {

constexpr auto kHeaderTimeout = std::chrono::seconds(30);
constexpr size_t kMaxHeaderBytes = 16 * 1024;
// A translation is answered within 30 s, and 1 s more per 16 KiB of text: apertium takes about
// 20 s for 1 MB on two cores (measured), so the largest batch the limits allow fits with room.
std::chrono::seconds TranslateTimeout(const std::vector<std::string>& texts) {
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  return std::chrono::seconds(30 + bytes / (16 * 1024));
}
constexpr size_t kMaxTranslateBodyBytes = 2 << 20;  // 128 texts of 10 KB (the engine's limits) and the JSON around them

struct Outcome {
  Response response;
  double audio_seconds = 0;
  bool client_gone = false;
  // Set when the handler wrote the response itself as it was made: what went out, and how it
  // ended (`response` is unused then). keep_open: the connection can take another request.
  std::optional<AccessRecord> streamed = std::nullopt;
  bool keep_open = false;
  std::string language = "";  // for the access line, once the request named one
};

// The outcome of a recognition that failed; CANCELLED: the client hung up.
Outcome RecognitionFailed(const absl::Status& status, double audio_seconds) {
  return Outcome{ErrorResponse(status), audio_seconds, absl::IsCancelled(status)};
}

// A request header, or for a browser mimi client (which cannot set WebSocket headers) the query
// parameter of the same name without "x-mimi-": process, input-language, content-type, ...
std::string MimiParameter(const Request& req, std::string_view name) {
  if (auto it = req.find(name); it != req.end()) return std::string(it->value());
  std::string_view key = name;
  if (key.substr(0, 7) == "x-mimi-") key.remove_prefix(7);
  const std::string target(req.target());
  const size_t q = target.find('?');
  if (q == std::string::npos || !boost::urls::parse_query(std::string_view(target).substr(q + 1))) return "";
  for (const boost::urls::param p : boost::urls::params_view(std::string_view(target).substr(q + 1))) {
    if (p.key == key) return p.value;
  }
  return "";
}

bool IsMimiRequest(const Request& req) {
  return PathOf(req.target()) == "/" && (req.find("x-mimi-process") != req.end() || !MimiParameter(req, "x-mimi-process").empty());
}

// The credentials: Authorization, or a mimi browser client's access-token parameter.
std::string AuthorizationOf(const Request& req) {
  if (auto it = req.find(http::field::authorization); it != req.end()) return std::string(it->value());
  if (PathOf(req.target()) == "/") {
    if (std::string token = MimiParameter(req, "x-mimi-access-token"); !token.empty()) return "Bearer " + token;
  }
  return "";
}

// Runs `work` on the blocking pool: decoding and resampling are CPU work the I/O threads must not
// do.
template <typename Work>
asio::awaitable<std::invoke_result_t<Work>> OnBlockingPool(Context& ctx, Work work) {
  co_return co_await asio::co_spawn(
      *ctx.blocking, [&]() -> asio::awaitable<std::invoke_result_t<Work>> { co_return work(); }, asio::use_awaitable);
}

// Cancels a recognition stream once the client closes its connection (it timed out and gave up,
// as clients and load balancers do), so that an abandoned request frees its engine slot at once
// instead of running to its end. Bytes waiting to be read (a pipelined request) end the watch:
// the client is there. Runs on the connection's strand, as does the request.
class CancelOnHangUp {
 public:
  CancelOnHangUp(tcp::socket* socket, speech::RecognitionStream& stream) : socket_(socket), state_(std::make_shared<State>(&stream)) {
    if (socket_ == nullptr) return;
    socket_->async_wait(tcp::socket::wait_read, [socket = socket_, state = state_](boost::system::error_code ec) {
      if (ec || state->stream == nullptr) return;
      char byte;
      const ssize_t n = recv(socket->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return;
      state->hung_up = true;
      state->stream->Cancel();
    });
  }
  ~CancelOnHangUp() {
    if (socket_ == nullptr) return;
    state_->stream = nullptr;
    boost::system::error_code ignored;
    socket_->cancel(ignored);  // nothing else waits on the socket while a request is served
  }
  CancelOnHangUp(const CancelOnHangUp&) = delete;
  CancelOnHangUp& operator=(const CancelOnHangUp&) = delete;

  bool hung_up() const { return state_->hung_up; }

 private:
  struct State {
    explicit State(speech::RecognitionStream* s) : stream(s) {}
    speech::RecognitionStream* stream;  // null once the watch ended
    bool hung_up = false;
  };
  tcp::socket* const socket_;
  const std::shared_ptr<State> state_;
};

// Given each final result as it comes; an error ends the recognition with it.
using FinalSink = std::function<asio::awaitable<absl::Status>(const speech::RecognitionResult&)>;

// Runs a whole clip through a recognition stream, a block at a time (decoded on the blocking pool
// as the stream takes it), respecting the stream's flow control. Results are taken as they come:
// an hour-long clip has more of them than a stream may queue. CANCELLED: the client hung up.
// `processed_seconds`: the audio the engine has said it consumed (all of it, on success), which is
// what a recognition that ended early processed, not what was decoded ahead of it.
asio::awaitable<absl::StatusOr<std::vector<speech::RecognitionResult>>> RecognizeClip(
    Context& ctx, const speech::RecognitionConfig& config, UploadAudio& clip, const Incoming& in, double& processed_seconds,
    const FinalSink& sink = {}) {
  EventsOwner<StreamEvents> events(co_await asio::this_coro::executor);
  auto started = ctx.service->StartRecognition(config, events.observer());
  if (!started.ok()) co_return started.status();
  speech::RecognitionStreamPtr stream = std::move(*started);
  CancelOnHangUp watch(in.connection ? &in.connection->socket() : nullptr, *stream);
  const auto deadline = in.deadline;  // the upload took its part of it
  std::vector<speech::RecognitionResult> finals;
  processed_seconds = 0;
  auto note_progress = [&](const speech::RecognitionResult& r) {
    processed_seconds = std::max(processed_seconds, r.audio_consumed_seconds);
  };
  // Keeps the finals queued so far; false if results were dropped. Once the stream has ended
  // TryNext keeps saying so, and the loop below hears it.
  auto take_finals = [&] {
    while (auto next = events->TryNext()) {
      if (next->overflowed) return false;
      if (next->done) break;
      note_progress(*next->result);
      if (next->result->is_final) finals.push_back(std::move(*next->result));
    }
    return true;
  };
  size_t sunk = 0;  // finals given to the sink
  auto sink_finals = [&]() -> asio::awaitable<absl::Status> {
    while (sink && sunk < finals.size()) {
      if (absl::Status s = co_await sink(finals[sunk++]); !s.ok()) co_return s;
    }
    co_return absl::OkStatus();
  };
  const size_t chunk = static_cast<size_t>(config.sample_rate_hertz);  // 1 s
  std::vector<int16_t> block;
  size_t sent = 0;
  while (!events->done()) {
    if (sent == block.size()) {
      auto next = co_await OnBlockingPool(ctx, [&] { return clip.Next(); });
      if (!next.ok()) {
        stream->Cancel();
        co_return next.status();
      }
      if (next->empty()) break;
      block = *std::move(next);
      sent = 0;
    }
    const size_t n = std::min(chunk, block.size() - sent);
    absl::Status s = stream->Write(std::span(block).subspan(sent, n));
    if (absl::IsResourceExhausted(s)) {
      // A result ends the wait too: it is taken (and sunk) now, not once the audio may go on.
      if (!co_await events->WaitReadyForAudioOrResult(deadline - std::chrono::steady_clock::now())) {
        stream->Cancel();
        co_return absl::DeadlineExceededError("recognition did not finish within the request timeout");
      }
    } else if (!s.ok()) {
      break;  // the stream ended early; its status comes with OnDone
    } else {
      sent += n;
    }
    if (!take_finals()) {
      stream->Cancel();
      co_return absl::InternalError("too many results queued");
    }
    if (absl::Status sunk_status = co_await sink_finals(); !sunk_status.ok()) {
      stream->Cancel();
      co_return sunk_status;
    }
  }
  stream->Finish();
  while (true) {
    auto next = co_await events->NextResult(deadline - std::chrono::steady_clock::now());
    if (next.timed_out) {
      stream->Cancel();
      co_return absl::DeadlineExceededError("recognition did not finish within the request timeout");
    }
    if (next.overflowed) co_return absl::InternalError("too many results queued");
    if (next.done) {
      if (watch.hung_up()) co_return absl::CancelledError("the client closed the connection");
      if (!next.done->ok()) co_return *next.done;
      processed_seconds = clip.seconds();
      co_return finals;
    }
    note_progress(*next.result);
    if (!next.result->is_final) continue;
    finals.push_back(std::move(*next.result));
    if (absl::Status sunk_status = co_await sink_finals(); !sunk_status.ok()) {
      stream->Cancel();
      co_return sunk_status;
    }
  }
}

// stream=true: the transcript as server-sent events, a delta as each final result comes, then
// done. The status line waits for the first delta, so that a recognition that cannot start gets
// its error as a status (the SDKs retry a 503); an error after it is an error event.
asio::awaitable<Outcome> StreamTranscription(Context& ctx, const Request& req, const Incoming& in,
                                             const speech::RecognitionConfig& config, UploadAudio& clip) {
  ChunkedResponse body(*in.connection, Seconds(ctx.options.limits.idle_timeout_seconds));
  auto start = [&]() -> asio::awaitable<bool> {
    http::response<http::empty_body> head{http::status::ok, 11};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set(http::field::server, "voxgate");
    head.set("x-request-id", in.id);
    head.keep_alive(req.keep_alive());
    co_return co_await body.Start(std::move(head));
  };
  // No co_await inside ?:, && or || here: g++ 12 destroys the temporaries of such an expression
  // twice (it corrupted the heap when a client went away mid-stream).
  const absl::Status client_gone = absl::CancelledError("the client went away");
  std::string text;
  const FinalSink send_delta = [&](const speech::RecognitionResult& r) -> asio::awaitable<absl::Status> {
    if (r.transcript.empty()) co_return absl::OkStatus();
    if (!body.started()) {
      const bool started = co_await start();
      if (!started) co_return client_gone;
    }
    const std::string delta = text.empty() ? r.transcript : " " + r.transcript;
    text += delta;
    const std::string event = openai::TextDeltaEvent(delta);
    const bool sent = co_await body.Send(event);
    if (!sent) co_return client_gone;
    co_return absl::OkStatus();
  };
  double processed = 0;
  auto finals = co_await RecognizeClip(ctx, config, clip, in, processed, send_delta);
  if (!finals.ok() && !body.started()) co_return RecognitionFailed(finals.status(), processed);

  Outcome outcome;
  AccessRecord& record = outcome.streamed.emplace();
  record.status = 200;
  record.audio_seconds = processed;
  record.result = finals.status();
  bool complete = false;  // the last chunk went out
  bool started = body.started();
  if (absl::IsCancelled(record.result)) {
    record.client_gone = true;
  } else {
    if (!started) started = co_await start();
    if (started) {
      const std::string last = finals.ok() ? openai::TextDoneEvent(text, clip.seconds()) : openai::ErrorEvent(ErrorBody(record.result));
      complete = co_await body.Send(last);
      if (complete) complete = co_await body.End();
    }
  }
  record.client_gone = record.client_gone || (finals.ok() && !complete);
  record.response_bytes = body.bytes_sent();
  outcome.keep_open = complete && req.keep_alive();
  co_return outcome;
}

// POST /v1/audio/transcriptions (OpenAI-compatible multipart).
asio::awaitable<Outcome> Transcribe(Context& ctx, const Request& req, const Incoming& in) {
  auto boundary = MultipartBoundary(req[http::field::content_type]);
  if (!boundary.ok()) co_return Outcome{ErrorResponse(boundary.status())};
  auto parts = ParseMultipart(req.body(), *boundary);
  if (!parts.ok()) co_return Outcome{ErrorResponse(parts.status())};
  const MultipartPart* file = nullptr;
  const MultipartPart *model_part = nullptr, *language_part = nullptr, *format_part = nullptr, *stream_part = nullptr,
                      *temperature_part = nullptr;
  bool word_timestamps = false;
  for (const auto& p : *parts) {
    // A field given twice is refused, not settled by its last part: one of them was a mistake.
    for (auto [name, slot] : {std::pair{"file", &file}, {"model", &model_part}, {"language", &language_part},
                              {"response_format", &format_part}, {"stream", &stream_part}, {"temperature", &temperature_part}}) {
      if (p.name != name) continue;
      if (*slot != nullptr) co_return Outcome{ErrorResponse(absl::InvalidArgumentError(absl::StrCat("the `", name, "` part is given twice")))};
      *slot = &p;
    }
    if (p.name == "timestamp_granularities[]" || p.name == "timestamp_granularities") {
      if (p.data != "word" && p.data != "segment") {
        co_return Outcome{ErrorResponse(absl::InvalidArgumentError("timestamp_granularities[] takes word or segment"))};
      }
      word_timestamps = word_timestamps || p.data == "word";
    }
  }
  const auto text_of = [](const MultipartPart* part) { return part ? std::string(part->data) : std::string(); };
  const std::string model = text_of(model_part), language = text_of(language_part), format_name = text_of(format_part);
  if (file == nullptr) co_return Outcome{ErrorResponse(absl::InvalidArgumentError("missing the `file` part (the audio to transcribe)"))};
  if (file->data.empty()) co_return Outcome{ErrorResponse(absl::InvalidArgumentError("the uploaded file is empty"))};
  auto format = openai::ParseResponseFormat(format_name);
  if (!format.ok()) co_return Outcome{ErrorResponse(format.status())};
  // Sampling does not apply to these engines, but a value OpenAI would refuse is refused here too.
  double temperature = 0;
  if (temperature_part && !(absl::SimpleAtod(absl::string_view(temperature_part->data.data(), temperature_part->data.size()), &temperature) &&
                            temperature >= 0 && temperature <= 1)) {
    co_return Outcome{ErrorResponse(absl::InvalidArgumentError("temperature must be a number from 0 to 1"))};
  }
  const std::string stream_events = text_of(stream_part);
  if (!stream_events.empty() && stream_events != "true" && stream_events != "false") {
    co_return Outcome{ErrorResponse(absl::InvalidArgumentError("stream takes true or false"))};
  }
  if (stream_events == "true" && *format != openai::ResponseFormat::kJson && *format != openai::ResponseFormat::kText) {
    co_return Outcome{ErrorResponse(absl::InvalidArgumentError(
        "stream=true sends the transcript as events: response_format must be json or text (the default), not " + format_name))};
  }

  speech::RecognitionConfig config;
  in.Stamp(config);
  config.report = in.report;
  config.interim_results = false;
  config.sample_rate_hertz = kModelSampleRate;
  config.model = openai::IsOpenAiTranscriptionModel(model) ? "" : model;
  if (!language.empty()) config.language_code = language;
  if (!config.model.empty()) {
    // With no recognizer described yet (all still loading) the model is not unknown, and the
    // stream's own 503 says when to retry.
    auto caps = ctx.service->Describe();
    bool known = false;
    std::string names;
    if (caps.ok()) {
      for (const auto& m : caps->models) {
        if (m.service != "asr") continue;
        known = known || m.name == config.model;
        names += (names.empty() ? "" : ", ") + m.name;
      }
    }
    if (!known && !names.empty()) {
      co_return Outcome{ErrorResponse(absl::NotFoundError("unknown model \"" + config.model + "\" (available: " + names + "; OpenAI's whisper-1, gpt-4o-transcribe and gpt-4o-mini-transcribe mean the default)"))};
    }
  }

  const auto with_language = [&](Outcome o) {
    o.language = config.language_code;
    if (o.streamed) o.streamed->language = config.language_code;
    return o;
  };
  const double max_seconds = ctx.options.limits.max_stream_seconds;
  auto clip = co_await OnBlockingPool(ctx, [&] { return UploadAudio::FromFile(file->data, kModelSampleRate, max_seconds); });
  if (!clip.ok()) co_return with_language(Outcome{ErrorResponse(clip.status())});
  if (stream_events == "true") {
    Outcome streamed = co_await StreamTranscription(ctx, req, in, config, *clip);
    co_return with_language(std::move(streamed));
  }
  double processed = 0;
  auto finals = co_await RecognizeClip(ctx, config, *clip, in, processed);
  if (!finals.ok()) co_return with_language(RecognitionFailed(finals.status(), processed));

  openai::Transcription t{std::move(*finals), language.empty() ? config.language_code : language, clip->seconds(),
                          word_timestamps};
  auto rendered = openai::Render(t, *format);
  co_return with_language(Outcome{JsonResponse(200, std::move(rendered.body), rendered.content_type), clip->seconds()});
}

// POST /v1/translate.
asio::awaitable<Outcome> Translate(Context& ctx, const Request& req, const Incoming& in) {
  if (req.body().size() > kMaxTranslateBodyBytes) {
    co_return Outcome{ErrorResponse(absl::OutOfRangeError(absl::StrCat("a translation request is limited to ", kMaxTranslateBodyBytes, " bytes")))};
  }
  auto call = translate::ParseTranslateRequest(req.body());
  if (!call.ok()) co_return Outcome{ErrorResponse(call.status())};
  in.Stamp(call->request);
  call->request.report = in.report;
  call->request.deadline = in.WallDeadline(TranslateTimeout(call->request.texts));
  auto result = co_await TranslateAsync(*ctx.service, call->request);
  Outcome outcome{result.ok() ? JsonResponse(200, translate::RenderTranslateResponse(*call, *result)) : ErrorResponse(result.status())};
  outcome.language = call->request.source_language;  // the access line's language: what is translated from
  co_return outcome;
}

// mimi: POST / with x-mimi-process asr|nict-asr and raw PCM: one recog-finished answer.
asio::awaitable<Outcome> MimiRecognize(Context& ctx, const Request& req, const Incoming& in) {
  auto config = mimi::ParseConfig([&](std::string_view name) { return MimiParameter(req, name); });
  if (!config.ok()) co_return Outcome{ErrorResponse(config.status())};
  if (req.body().empty()) co_return Outcome{ErrorResponse(absl::InvalidArgumentError("the body must hold the audio (raw PCM)"))};
  const double max_seconds = ctx.options.limits.max_stream_seconds;
  auto clip = co_await OnBlockingPool(
      ctx, [&] { return UploadAudio::FromRawS16le(req.body(), config->sample_rate, kModelSampleRate, max_seconds); });
  if (!clip.ok()) co_return Outcome{ErrorResponse(clip.status())};
  speech::RecognitionConfig rc;
  rc.language_code = config->language;
  rc.sample_rate_hertz = kModelSampleRate;
  rc.interim_results = false;
  in.Stamp(rc);
  rc.report = in.report;
  double processed = 0;
  auto finals = co_await RecognizeClip(ctx, rc, *clip, in, processed);
  if (!finals.ok()) co_return RecognitionFailed(finals.status(), processed);
  config->progressive = false;  // one answer with everything
  mimi::Session session(*config, mimi::NewSessionId());
  for (const auto& r : *finals) session.OnResult(r);
  co_return Outcome{JsonResponse(200, session.Finished()), clip->seconds()};
}

// mimi: POST /speech_synthesis (form: text, lang, gender, rate, audio_format WAV|RAW).
asio::awaitable<Outcome> MimiSynthesize(Context& ctx, const Request& req, const Incoming& in) {
  auto form = mimi::ParseSynthesisForm(req.body());
  if (!form.ok()) co_return Outcome{ErrorResponse(form.status())};
  speech::SynthesisRequest request;
  request.text = form->text;
  request.language_code = form->language;
  request.speaking_rate = form->rate;
  request.sample_rate_hertz = mimi::kSynthesisSampleRate;
  in.Stamp(request);
  request.report = in.report;
  if (!form->gender.empty()) {  // the first voice of the language with that gender, if there is one
    auto caps = ctx.service->Describe();
    for (const auto& m : caps.ok() ? caps->models : std::vector<speech::ModelInfo>{}) {
      for (const auto& v : m.service == "tts" ? m.voices : std::vector<speech::VoiceInfo>{}) {
        if (request.voice.empty() && v.gender == form->gender && speech::SameLanguage(v.language_code, form->language)) request.voice = v.name;
      }
    }
  }
  auto pcm = co_await SynthesizeAll(ctx, std::move(request));
  if (!pcm.ok()) co_return Outcome{ErrorResponse(pcm.status())};
  if (form->raw) {
    std::string body(reinterpret_cast<const char*>(pcm->samples.data()), pcm->samples.size() * 2);
    if (form->big_endian) {
      for (size_t i = 0; i + 1 < body.size(); i += 2) std::swap(body[i], body[i + 1]);
    }
    co_return Outcome{JsonResponse(200, std::move(body), "application/octet-stream")};
  }
  auto encoder = audio::AudioEncoder::Create(audio::OutputFormat::kWav, pcm->sample_rate_hertz);
  if (!encoder.ok()) co_return Outcome{ErrorResponse(encoder.status())};
  auto wav = (*encoder)->Encode(pcm->samples);
  auto rest = (*encoder)->Finish();
  if (!wav.ok() || !rest.ok()) co_return Outcome{ErrorResponse(wav.ok() ? rest.status() : wav.status())};
  co_return Outcome{JsonResponse(200, audio::WithWavSizes(*wav + *rest), "audio/wav")};
}

// mimi: POST /machine_translation (form: text, source_lang, target_lang) → ["translation"].
asio::awaitable<Outcome> MimiTranslate(Context& ctx, const Request& req, const Incoming& in) {
  auto form = mimi::ParseTranslationForm(req.body());
  if (!form.ok()) co_return Outcome{ErrorResponse(form.status())};
  speech::TranslationRequest request;
  request.texts = {form->text};
  request.source_language = form->source;
  request.target_language = form->target;
  in.Stamp(request);
  request.report = in.report;
  request.deadline = in.WallDeadline(TranslateTimeout(request.texts));
  auto result = co_await TranslateAsync(*ctx.service, std::move(request));
  if (!result.ok()) co_return Outcome{ErrorResponse(result.status())};
  co_return Outcome{JsonResponse(200, nlohmann::json(result->texts).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))};
}

// OpenAI's model object, with what a voxgate model serves.
nlohmann::json ModelObject(const speech::ModelInfo& m) {
  nlohmann::json model = {{"id", m.name},         {"object", "model"},      {"created", 0},
                          {"owned_by", "voxgate"}, {"service", m.service}, {"languages", m.language_codes}};
  if (m.service == "mt") {
    model["target_languages"] = m.target_language_codes;
  } else {
    model["sample_rate_hertz"] = m.sample_rate_hertz;
  }
  return model;
}

Response Models(Context& ctx) {
  auto caps = ctx.service->Describe();
  if (!caps.ok()) return ErrorResponse(caps.status());
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : caps->models) data.push_back(ModelObject(m));
  return JsonResponse(200, nlohmann::json{{"object", "list"}, {"data", data}}.dump());
}

// GET /v1/models/{id}: one model of the list (the SDKs' models.retrieve). `encoded_id` is the
// path segment, percent-encoded as the SDKs send it.
Response Model(Context& ctx, std::string_view encoded_id) {
  auto pct = boost::urls::make_pct_string_view(encoded_id);
  if (!pct) return ErrorResponse(absl::InvalidArgumentError("the model id in the path is not valid percent-encoding"));
  const std::string id = pct->decode();
  auto caps = ctx.service->Describe();
  if (!caps.ok()) return ErrorResponse(caps.status());
  std::vector<std::string> served;
  for (const auto& m : caps->models) {
    if (m.name == id) return JsonResponse(200, ModelObject(m).dump());
    served.push_back(m.name);
  }
  // OpenAI's names are accepted where a model is asked for, not models of their own.
  const std::string alias = openai::IsOpenAiTranscriptionModel(id) ? "; /v1/audio/transcriptions takes it as the default model" : "";
  return ErrorResponse(absl::NotFoundError(absl::StrCat("no model \"", id, "\" is served (healthy engines serve: ",
                                                        served.empty() ? "none" : absl::StrJoin(served, ", "), ")", alias)));
}

Response Readiness(Context& ctx) {
  if (ctx.draining) return JsonResponse(503, R"({"status":"draining"})");
  if (!ctx.service->IsServing()) return JsonResponse(503, R"({"status":"not ready: engines still loading, or no route has a serving engine"})");
  return JsonResponse(200, R"({"status":"ready"})");
}

// 405 naming the methods a path takes (`allow`), with a hint of what to send.
Response WrongMethod(std::string_view allow, const std::string& hint) {
  Response res = JsonResponse(405, ErrorBody(absl::InvalidArgumentError(hint)));
  res.set(http::field::allow, allow);
  return res;
}

// The 405 for a path that takes only `want` (and HEAD with GET), with what to send (`body`, e.g.
// "with a JSON body"); nullopt when the request uses it. One verb gives the check and `Allow`.
std::optional<Response> UnlessMethod(const Request& req, http::verb want, std::string_view body = {}) {
  const bool head_of_get = want == http::verb::get && req.method() == http::verb::head;
  if (req.method() == want || head_of_get) return std::nullopt;
  const std::string name(http::to_string(want));
  return WrongMethod(want == http::verb::get ? "GET, HEAD" : name, body.empty() ? "use " + name : "use " + name + " " + std::string(body));
}

// GET: the log levels; PUT/POST {"default": "info", "pool": "debug"}: changes them (all or none).
Response LogLevels(const Request& req) {
  if (req.method() == http::verb::put || req.method() == http::verb::post) {
    const auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      return ErrorResponse(absl::InvalidArgumentError(R"(send a JSON object of module names to levels, e.g. {"pool": "debug"})"));
    }
    if (body.empty()) return ErrorResponse(absl::InvalidArgumentError(R"(the object names no module, e.g. {"pool": "debug"})"));
    std::map<std::string, std::string> levels;
    for (const auto& [module, level] : body.items()) {
      if (!level.is_string()) return ErrorResponse(absl::InvalidArgumentError("the level for " + module + " must be a string"));
      levels[module] = level.get<std::string>();
    }
    if (std::string error = core::SetLogLevels(levels); !error.empty()) return ErrorResponse(absl::InvalidArgumentError(error));
    core::LogInfo("log levels changed", {{"levels", core::LogLevels()}});
  } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return WrongMethod("GET, HEAD, PUT, POST", "use GET, or PUT with a JSON object");
  }
  return JsonResponse(200, core::LogLevels().dump());
}

// Routes one request; `route` is set to a bounded label for metrics.
asio::awaitable<Outcome> Route(Context& ctx, bool admin, const Request& req, const Incoming& in, std::string& route) {
  const std::string_view path = PathOf(req.target());
  if (admin) {
    const bool read_only = path == "/healthz" || path == "/readyz" || path == "/metrics" || (path == "/v1/status" && ctx.options.status_json);
    if (read_only) {  // their route label is their path
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::get)) co_return Outcome{std::move(*refused)};
    }
    if (path == "/healthz") co_return Outcome{JsonResponse(200, R"({"status":"ok"})")};
    if (path == "/readyz") co_return Outcome{Readiness(ctx)};
    if (path == "/metrics") co_return Outcome{JsonResponse(200, core::Metrics().RenderText(), "text/plain; version=0.0.4; charset=utf-8")};
    if (path == "/v1/status" && ctx.options.status_json) co_return Outcome{JsonResponse(200, ctx.options.status_json())};
    if (path == "/v1/log-levels") {
      route = path;
      co_return Outcome{LogLevels(req)};
    }
  } else {
    if (path == "/v1/models") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::get)) co_return Outcome{std::move(*refused)};
      co_return Outcome{Models(ctx)};
    }
    if (path.starts_with("/v1/models/")) {
      route = "/v1/models/{id}";
      if (auto refused = UnlessMethod(req, http::verb::get)) co_return Outcome{std::move(*refused)};
      co_return Outcome{Model(ctx, path.substr(std::string_view("/v1/models/").size()))};
    }
    if (path == "/v1/audio/transcriptions") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::post, "with multipart/form-data")) co_return Outcome{std::move(*refused)};
      if (ctx.draining) co_return Outcome{ErrorResponse(absl::UnavailableError("the server is shutting down; retry on another instance"))};
      co_return co_await Transcribe(ctx, req, in);
    }
    if (path == "/v1/translate") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::post, "with a JSON body")) co_return Outcome{std::move(*refused)};
      if (ctx.draining) co_return Outcome{ErrorResponse(absl::UnavailableError("the server is shutting down; retry on another instance"))};
      co_return co_await Translate(ctx, req, in);
    }
    if (path == "/v1/translate/languages") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::get)) co_return Outcome{std::move(*refused)};
      auto caps = ctx.service->Describe();
      co_return Outcome{caps.ok() ? JsonResponse(200, translate::RenderLanguagePairs(*caps)) : ErrorResponse(caps.status())};
    }
    if (path == "/v1/audio/speech") {  // a POST is streamed by StreamSpeech unless draining
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::post, "with a JSON body")) co_return Outcome{std::move(*refused)};
      co_return Outcome{ErrorResponse(absl::UnavailableError("the server is shutting down; retry on another instance"))};
    }
    if (path == "/v1/audio/voices") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::get)) co_return Outcome{std::move(*refused)};
      auto caps = ctx.service->Describe();
      co_return Outcome{caps.ok() ? JsonResponse(200, openai::RenderVoices(*caps)) : ErrorResponse(caps.status())};
    }
    if (IsMimiRequest(req)) {
      route = "/ (mimi)";
      if (auto refused = UnlessMethod(req, http::verb::post, "with the audio as the body, or a WebSocket")) co_return Outcome{std::move(*refused)};
      if (ctx.draining) co_return Outcome{ErrorResponse(absl::UnavailableError("the server is shutting down; retry on another instance"))};
      co_return co_await MimiRecognize(ctx, req, in);
    }
    if (path == "/speech_synthesis" || path == "/machine_translation") {
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::post, "with a form-encoded body")) co_return Outcome{std::move(*refused)};
      if (ctx.draining) co_return Outcome{ErrorResponse(absl::UnavailableError("the server is shutting down; retry on another instance"))};
      // Not one co_await of a conditional: g++ 12 destroys such a temporary twice.
      if (path == "/speech_synthesis") co_return co_await MimiSynthesize(ctx, req, in);
      co_return co_await MimiTranslate(ctx, req, in);
    }
    if (path == "/v1/recognize" || path == "/vosk") {  // WebSocket endpoints: an upgrade does not reach here
      route = path;
      if (auto refused = UnlessMethod(req, http::verb::get, "with a WebSocket upgrade")) co_return Outcome{std::move(*refused)};
      Response res = JsonResponse(426, ErrorBody(absl::InvalidArgumentError(std::string(path) + " is a WebSocket endpoint: send an Upgrade request")));
      res.set(http::field::upgrade, "websocket");
      co_return Outcome{std::move(res)};
    }
  }
  route = "other";
  co_return Outcome{ErrorResponse(absl::NotFoundError("no such endpoint: " + std::string(path)))};
}

// After refusing an upload, reads and drops what the client still sends (bounded in bytes and
// time) before closing: closing with unread data makes the kernel reset the connection, and the
// client would see "broken pipe" instead of the 413 it was sent.
asio::awaitable<void> DiscardBody(beast::tcp_stream& stream, beast::flat_buffer& buffer, uint64_t max_bytes) {
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(5));
  uint64_t discarded = buffer.size();
  buffer.consume(buffer.size());
  std::array<char, 64 * 1024> scratch;
  while (discarded < max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kAwait);
    if (ec) break;
    discarded += n;
  }
}

// A request Beast could not parse (a bad Content-Length or chunk size, an unknown HTTP version),
// as opposed to one whose connection ended or timed out.
bool IsMalformed(const boost::system::error_code& ec) {
  static const auto& http_errors = http::make_error_code(http::error::bad_chunk).category();
  return ec && ec.category() == http_errors && ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// Answers a request whose head could not be parsed (`partial`: what was), then the connection
// closes. False: the answer did not go out.
asio::awaitable<bool> AnswerUnparsed(beast::tcp_stream& stream, const Request& partial, int http_status, const absl::Status& why) {
  Response res = JsonResponse(http_status, ErrorBody(why));
  res.set("x-request-id", RequestIdFor(partial));
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_write(stream, res, kAwait);
  co_return !ec;
}

// Reads a request's body, allowing limits.idle_timeout_seconds between reads and the request's
// deadline in all, so that a client trickling its body holds its share of the upload memory no
// longer than that. OUT_OF_RANGE over the body limit; DEADLINE_EXCEEDED stalled or past the
// deadline (a stall is ClientIdleError: 408); INVALID_ARGUMENT malformed (the client is told those);
// another error: the connection closed.
asio::awaitable<absl::Status> ReadBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       http::request_parser<http::string_body>& parser, const core::LimitsConfig& limits,
                                       std::chrono::steady_clock::time_point deadline) {
  parser.body_limit(MaxBodyBytes(limits));
  // A watchdog cancels the read rather than the stream's own timeout, which would close the
  // socket: the client that stalled is still told why (408 or 504). It runs on the connection's
  // strand, as this coroutine does; `armed` keeps a late one from cancelling a later read.
  stream.expires_never();
  asio::steady_timer watchdog(stream.get_executor());
  while (!parser.is_done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto armed = std::make_shared<bool>(true);
    bool timed_out = false;
    const bool until_deadline = left <= Seconds(limits.idle_timeout_seconds);  // else the idle timeout
    watchdog.expires_after(std::min(Seconds(limits.idle_timeout_seconds), left));
    watchdog.async_wait([armed, &timed_out, socket = &stream.socket()](boost::system::error_code ec) {
      if (ec || !*armed) return;
      timed_out = true;
      boost::system::error_code ignored;
      socket->cancel(ignored);
    });
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kAwait);
    *armed = false;
    watchdog.cancel();
    if (ec == http::error::body_limit) {
      co_return absl::OutOfRangeError(absl::StrCat("upload exceeds the limit of ", limits.max_upload_bytes, " bytes"));
    }
    if (timed_out) {
      if (until_deadline) {
        co_return absl::DeadlineExceededError(
            absl::StrCat("the upload did not finish within limits.request_timeout_seconds (", limits.request_timeout_seconds, " s)"));
      }
      co_return speech::ClientIdleError(limits.idle_timeout_seconds, "byte of the upload (limits.idle_timeout_seconds)");
    }
    if (IsMalformed(ec)) co_return absl::InvalidArgumentError(absl::StrCat("malformed request body: ", ec.message()));
    if (ec) co_return absl::UnavailableError(ec.message());
  }
  co_return absl::OkStatus();
}

// What a listener serves: the client API, the admin endpoints, or only the vosk protocol (at any
// path, so that vosk clients need nothing but the address).
enum class Listener { kPublic, kAdmin, kVosk };

// The route label of a request refused before it was routed: where it would have gone, so that
// refusals count with the requests and streams they refused.
std::string RouteOfRefused(std::string_view path, Listener listener, bool admin, bool upgrade, bool mimi) {
  if (listener == Listener::kVosk) return "/vosk";
  if (!admin && mimi) return upgrade ? "/mimi" : "/ (mimi)";
  for (std::string_view known : {"/v1/audio/transcriptions", "/v1/audio/speech", "/v1/recognize", "/vosk", "/v1/models", "/v1/translate"}) {
    if (path == known) return std::string(known);
  }
  return "other";
}

core::Counter& RefusedConnections(std::string_view reason) {
  return core::Metrics().GetCounter("voxgate_connections_refused_total",
                                    "Client connections closed as they arrived: over limits.max_connections, or accept failed (e.g. out of file descriptors).",
                                    {{"reason", std::string(reason)}});
}

// `connection`: the client connection's place under limits.max_connections (none on the admin
// listener), held for its life.
asio::awaitable<void> Session(Context& ctx, tcp::socket socket, Listener listener,
                              [[maybe_unused]] std::optional<Budget::Lease> connection) {
  const bool admin = listener == Listener::kAdmin;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const std::string remote = net::RemoteIp(stream.socket());
  const auto& limits = ctx.options.limits;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    // The body limit is checked by hand after the header (Beast would fail the header read and
    // leave no way to answer 413); it is set before the body is read, for chunked uploads.
    parser.body_limit(boost::none);
    stream.expires_after(kHeaderTimeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kAwait);
    if (ec == http::error::header_limit) {  // answered, not reset, so that the client learns why
      const auto too_big = absl::InvalidArgumentError(absl::StrCat("the request line and headers exceed ", kMaxHeaderBytes / 1024, " KiB"));
      if (co_await AnswerUnparsed(stream, parser.get(), 431, too_big)) co_await DiscardBody(stream, buffer, 1 << 20);
      co_return;
    }
    if (IsMalformed(ec)) {  // told why, as nginx does, rather than a bare close
      co_await AnswerUnparsed(stream, parser.get(), 400, absl::InvalidArgumentError(absl::StrCat("malformed request: ", ec.message())));
      co_return;
    }
    if (ec) co_return;  // closed or timed out: nothing to answer
    const auto start = std::chrono::steady_clock::now();
    Incoming in = IncomingFor(parser.get(), remote);
    in.deadline = start + Seconds(limits.request_timeout_seconds);
    Response early;
    bool reject = false;
    bool body_abandoned = false;  // stalled or malformed: nothing more is read from this connection
    // The body's bytes of ctx.uploads, held until its response is sent: its declared length, or
    // for a chunked body the most it may grow to.
    std::optional<Budget::Lease> body_memory;
    auto take_body_memory = [&] {
      body_memory = ctx.uploads.TryTake(parser.chunked() ? MaxBodyBytes(limits) : parser.content_length().value_or(0));
      return body_memory.has_value();
    };
    const bool upgrade = websocket::is_upgrade(parser.get());
    // Everything that can be refused from the header is, before the body is read (or held); the
    // key first, so that a caller without one learns nothing else (the limits, say).
    if (!admin && !ctx.options.api_keys.empty()) {
      auto authenticated = ctx.options.api_keys.Authenticate(AuthorizationOf(parser.get()));
      if (authenticated.ok()) {
        in.caller = std::move(*authenticated);
      } else {
        early = ErrorResponse(authenticated.status());
        early.set(http::field::www_authenticate, "Bearer");
        reject = true;
      }
    }
    if (auto len = parser.content_length(); !reject && len && *len > MaxBodyBytes(limits)) {
      early = ErrorResponse(absl::OutOfRangeError(absl::StrCat("upload of ", *len, " bytes exceeds the limit of ",
                                                               limits.max_upload_bytes, " bytes")));
      reject = true;
    }
    if (!reject && !upgrade && !admin && !take_body_memory()) {
      early = ErrorResponse(absl::UnavailableError(
          "this server holds as many uploads as its memory allows (limits.max_upload_memory_bytes); retry shortly"));
      reject = true;
    }
    if (!reject && !upgrade) {
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        co_await http::async_write(stream, cont, kAwait);
      }
      absl::Status body = co_await ReadBody(stream, buffer, parser, limits, in.deadline);
      if (absl::IsOutOfRange(body)) {
        early = ErrorResponse(body);
        reject = true;
      } else if (absl::IsDeadlineExceeded(body) || absl::IsInvalidArgument(body)) {
        // 504 as any request past its deadline; 408 (the client's own silence) for a stall; 400
        // malformed. The rest of the body is not read.
        early = ErrorResponse(body);
        reject = true;
        body_abandoned = true;
      } else if (!body.ok()) {
        // Closed mid-upload: nobody to answer, still a request.
        AccessRecord record;
        record.route = RouteOfRefused(PathOf(parser.get().target()), listener, admin, upgrade, IsMimiRequest(parser.get()));
        record.status = 499;
        record.client_gone = true;
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!admin) RecordRequest(parser.get(), in, record);
        co_return;
      }
    }
    const uint64_t declared_length = parser.content_length().value_or(0);
    Request req = parser.release();
    const bool websocket_endpoint = [&] {
      const std::string_view path = PathOf(req.target());
      return listener == Listener::kVosk || path == "/vosk" || path == "/v1/recognize" || IsMimiRequest(req);
    }();
    if (!reject && !admin && upgrade && websocket_endpoint) {
      if (auto refusal = RefuseHandshake(req[http::field::sec_websocket_key], req[http::field::sec_websocket_version])) {
        early = JsonResponse(refusal->http_status, ErrorBody(absl::InvalidArgumentError(refusal->message)));
        if (refusal->http_status == 426) early.set(http::field::sec_websocket_version, "13");
        reject = true;
      }
    }
    if (!reject && !admin && upgrade) {
      const std::string_view path = PathOf(req.target());
      if (listener == Listener::kVosk || path == "/vosk") {
        stream.expires_never();
        co_await RunVoskWebSocket(std::move(stream), std::move(req), ctx, std::move(in));
        co_return;
      }
      if (IsMimiRequest(req)) {
        auto config = mimi::ParseConfig([&](std::string_view name) { return MimiParameter(req, name); });
        if (config.ok()) {
          stream.expires_never();
          co_await RunMimiWebSocket(std::move(stream), std::move(req), ctx, std::move(in), std::move(*config));
          co_return;
        }
        early = ErrorResponse(config.status());
        reject = true;
      } else if (path == "/v1/recognize") {
        stream.expires_never();
        co_await RunRecognizeWebSocket(std::move(stream), std::move(req), ctx, std::move(in));
        co_return;
      }
    }
    if (!reject && listener == Listener::kVosk) {
      early = ErrorResponse(absl::NotFoundError("this listener speaks only the vosk WebSocket protocol"));
      reject = true;
    }
    if (!reject && !admin && PathOf(req.target()) == "/v1/audio/speech" && req.method() == http::verb::post && !ctx.draining) {
      ActiveGuard active(ctx);
      AccessRecord record;
      record.route = "/v1/audio/speech";
      const bool complete = co_await StreamSpeech(ctx, stream, req, in, record);
      const bool keep_open = complete && req.keep_alive();
      record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      RecordRequest(req, in, record);
      if (!keep_open) break;
      continue;
    }
    std::string route = "other";
    Outcome outcome;
    if (reject) {
      outcome.response = std::move(early);
      route = RouteOfRefused(PathOf(req.target()), listener, admin, upgrade, IsMimiRequest(req));
    } else if (admin) {
      outcome = co_await Route(ctx, admin, req, in, route);
    } else {
      ActiveGuard active(ctx);  // only client work counts (drain waits for it)
      in.connection = &stream;
      outcome = co_await Route(ctx, admin, req, in, route);
    }
    if (outcome.streamed) {
      AccessRecord& record = *outcome.streamed;
      record.route = route;
      record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      RecordRequest(req, in, record);
      if (!outcome.keep_open) break;
      continue;
    }
    Response& res = outcome.response;
    res.set("x-request-id", in.id);
    res.keep_alive(req.keep_alive() && !reject);
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    // HEAD: the GET's header, Content-Length included, without its body (RFC 9110 §9.3.2).
    http::response_serializer<http::string_body> serializer(res);
    boost::system::error_code wec;
    if (req.method() == http::verb::head) {  // if/else, not ?: (see StreamTranscription)
      std::tie(wec, std::ignore) = co_await http::async_write_header(stream, serializer, kAwait);
    } else {
      std::tie(wec, std::ignore) = co_await http::async_write(stream, serializer, kAwait);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!admin) {
      AccessRecord record;
      record.route = route;
      record.status = static_cast<int>(res.result_int());
      record.seconds = seconds;
      record.response_bytes = res.body().size();
      record.audio_seconds = outcome.audio_seconds;
      record.client_gone = outcome.client_gone;
      record.language = outcome.language;
      if (record.status >= 400) {
        // Every error response is ErrorResponse's {"error": {"message", "code"}}.
        const auto body = nlohmann::json::parse(res.body(), nullptr, false);
        if (body.is_object() && body.contains("error") && body["error"].is_object()) {
          record.error_code = body["error"].value("code", "");
          record.error = body["error"].value("message", "");
        }
      }
      RecordRequest(req, in, record);
    }
    if (reject && !body_abandoned && !wec) co_await DiscardBody(stream, buffer, declared_length);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Listen(Context& ctx, tcp::acceptor& acceptor, Listener listener) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), kAwait);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory: keep serving the connections we have, and try again
      // shortly (at once, the loop would spin on the same error). Other errors belong to the one
      // connection that failed.
      RefusedConnections("accept_error").Increment();
      if (ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
          ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(kAwait);
      }
      continue;
    }
    std::optional<Budget::Lease> connection = listener == Listener::kAdmin ? std::nullopt : ctx.connections.TryTake(1);
    if (listener != Listener::kAdmin && !connection) {
      // Closed at once: a client that retries later or elsewhere is better served than one left
      // waiting, and the admin listener (probes, metrics) is never refused.
      RefusedConnections("limit").Increment();
      continue;  // the socket closes as it goes out of scope
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, Session(ctx, std::move(socket), listener, std::move(connection)), asio::detached);
  }
}

// The gateway's gauges, read at scrape time while it runs; 0 once it stopped (the registry
// outlives it).
struct GaugeSpec {
  const char* name;
  const char* help;
  double (*read)(const Context&);
};
constexpr GaugeSpec kGauges[] = {
    {"voxgate_active_requests", "HTTP requests and streams in progress.",
     [](const Context& c) { return static_cast<double>(c.active.load()); }},
    {"voxgate_client_connections", "Open client connections (limits.max_connections).",
     [](const Context& c) { return static_cast<double>(c.connections.in_use()); }},
    {"voxgate_upload_memory_bytes", "Bytes of upload bodies held in memory (limits.max_upload_memory_bytes).",
     [](const Context& c) { return static_cast<double>(c.uploads.in_use()); }},
};

}  // namespace

struct Gateway::Impl {
  Impl(GatewayOptions options, speech::SpeechServicePtr service)
      : ctx(std::move(options), std::move(service), blocking),
        ioc(ctx.options.io_threads),
        blocking(ctx.options.decode_threads),
        public_acceptor(ioc),
        admin_acceptor(ioc),
        vosk_acceptor(ioc) {}

  // First, so that it outlives the coroutines the io_context destroys (their guards touch it).
  Context ctx;
  asio::io_context ioc;
  asio::thread_pool blocking;
  tcp::acceptor public_acceptor, admin_acceptor, vosk_acceptor;
  std::vector<std::thread> threads;
};

Gateway::Gateway(GatewayOptions options, speech::SpeechServicePtr service)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(service))) {}

Gateway::~Gateway() { Stop(); }

absl::Status Gateway::Start() {
  const bool public_api = !impl_->ctx.options.listen.empty();
  if (public_api) {
    if (auto s = net::Listen(impl_->public_acceptor, impl_->ctx.options.listen); !s.ok()) return s;
  }
  if (auto s = net::Listen(impl_->admin_acceptor, impl_->ctx.options.admin); !s.ok()) return s;
  const bool vosk = public_api && !impl_->ctx.options.vosk_listen.empty();
  if (vosk) {
    if (auto s = net::Listen(impl_->vosk_acceptor, impl_->ctx.options.vosk_listen); !s.ok()) return s;
    asio::co_spawn(impl_->ioc, Listen(impl_->ctx, impl_->vosk_acceptor, Listener::kVosk), asio::detached);
  }
  if (public_api) asio::co_spawn(impl_->ioc, Listen(impl_->ctx, impl_->public_acceptor, Listener::kPublic), asio::detached);
  asio::co_spawn(impl_->ioc, Listen(impl_->ctx, impl_->admin_acceptor, Listener::kAdmin), asio::detached);
  for (int i = 0; i < std::max(1, impl_->ctx.options.io_threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  for (const GaugeSpec& g : kGauges) {
    core::Metrics().AddCallbackGauge(g.name, g.help, [this, read = g.read] { return read(impl_->ctx); });
  }
  return absl::OkStatus();
}

std::string Gateway::listen_address() const { return net::LocalAddress(impl_->public_acceptor); }
std::string Gateway::admin_address() const { return net::LocalAddress(impl_->admin_acceptor); }
std::string Gateway::vosk_address() const { return net::LocalAddress(impl_->vosk_acceptor); }

void Gateway::StartDrain() { impl_->ctx.draining = true; }

int Gateway::active_requests() const { return impl_->ctx.active.load(); }

void Gateway::Stop() {
  if (impl_->threads.empty()) return;
  for (const GaugeSpec& g : kGauges) core::Metrics().AddCallbackGauge(g.name, g.help, [] { return 0.0; });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  asio::use_service<WakeGate>(impl_->ioc).Close();  // before the io_context goes (wake.h)
  impl_->blocking.join();
}

}  // namespace voxgate::gateway
