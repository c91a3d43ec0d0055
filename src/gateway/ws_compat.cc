// The vosk- and mimi-compatible WebSocket protocols. Both answer in step with what the client
// sends, as the servers they mimic do, so each connection is one coroutine: read a message, hand
// its audio to the recognition stream, answer with what the recognizer has said so far. (The
// native protocol pushes results as they come instead: ws_recognize.cc.)
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "audio/pcm.h"
#include "audio/resampler.h"
#include "core/log.h"
#include "core/metrics.h"
#include "gateway/errors.h"
#include "gateway/internal/context.h"
#include "gateway/internal/stream_events.h"
#include "gateway/protocols/mimi/mimi_protocol.h"
#include "gateway/protocols/vosk/vosk_protocol.h"

namespace voxgate::gateway::internal {
namespace {

constexpr int kModelSampleRate = 16000;
// Waiting for the last results after the end of audio. The tiers below end a stream that cannot
// go on (failover and queue timeouts); this is the backstop.
constexpr auto kFinishTimeout = std::chrono::seconds(90);
using Ws = websocket::stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Seconds(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); }

// A recognition stream fed one client message at a time: client audio at its own rate in, the
// results so far out.
class SteppedStream {
 public:
  SteppedStream(Context& ctx, std::string request_id, std::string plan) : ctx_(ctx), request_id_(std::move(request_id)), plan_(std::move(plan)) {}
  ~SteppedStream() {
    if (stream_ && !done_) stream_->Cancel();
  }

  asio::awaitable<absl::Status> Start(const std::string& language, int client_sample_rate) {
    auto resampler = audio::Resampler::Create(client_sample_rate, kModelSampleRate);
    if (!resampler.ok()) co_return resampler.status();
    resampler_.emplace(std::move(*resampler));
    events_ = std::make_shared<StreamEvents>(co_await asio::this_coro::executor);
    speech::RecognitionConfig config;
    config.language_code = language;
    config.sample_rate_hertz = kModelSampleRate;
    config.interim_results = true;
    config.request_id = request_id_;
    config.plan = plan_;
    auto started = ctx_.service->StartRecognition(config, events_);
    if (!started.ok()) co_return started.status();
    stream_ = std::move(*started);
    co_return absl::OkStatus();
  }
  bool started() const { return stream_ != nullptr; }
  double audio_seconds() const { return audio_seconds_; }

  // Client audio (s16le bytes); waits (bounded) while the stream's buffer is full.
  asio::awaitable<absl::Status> Write(std::string_view bytes) {
    std::vector<int16_t> raw;
    parser_.Append(bytes, raw);
    co_return co_await WriteSamples(resampler_->Process(raw));
  }

  // The results that came in since the last call; the stream's end status once it ended.
  std::vector<speech::RecognitionResult> Take() {
    std::vector<speech::RecognitionResult> out;
    while (auto next = events_->TryNext()) {
      if (next->overflowed) {
        Fail(absl::InternalError("too many results queued"));
        break;
      }
      if (next->done) {
        End(*next->done);
        break;
      }
      out.push_back(std::move(*next->result));
    }
    return out;
  }
  const std::optional<absl::Status>& ended() const { return end_status_; }

  // End of audio: the remaining results, once the stream is done.
  asio::awaitable<std::vector<speech::RecognitionResult>> Finish() {
    std::vector<speech::RecognitionResult> out = Take();
    if (end_status_) co_return out;
    if (auto s = co_await WriteSamples(resampler_->Flush()); !s.ok()) {
      Fail(s);
      co_return out;
    }
    stream_->Finish();
    const auto deadline = Clock::now() + kFinishTimeout;
    while (!end_status_) {
      auto next = co_await events_->NextResult(deadline - Clock::now());
      if (next.timed_out || next.overflowed) {
        Fail(next.timed_out ? absl::DeadlineExceededError("the recognizer did not finish in time") : absl::InternalError("too many results queued"));
      } else if (next.done) {
        End(*next.done);
      } else {
        out.push_back(std::move(*next.result));
      }
    }
    co_return out;
  }

  void Cancel() {
    if (stream_ && !done_) stream_->Cancel();
    done_ = true;
  }

 private:
  asio::awaitable<absl::Status> WriteSamples(std::vector<int16_t> samples) {
    audio_seconds_ += static_cast<double>(samples.size()) / kModelSampleRate;
    if (audio_seconds_ > ctx_.options.limits.max_stream_seconds) {
      co_return absl::OutOfRangeError(absl::StrCat("stream exceeds the limit of ", ctx_.options.limits.max_stream_seconds, " s of audio"));
    }
    if (samples.empty()) co_return absl::OkStatus();
    while (true) {
      absl::Status s = stream_->Write(samples);
      if (absl::IsFailedPrecondition(s)) co_return absl::OkStatus();  // ended; Take reports why
      if (!absl::IsResourceExhausted(s)) co_return s;
      if (!co_await events_->WaitReadyForAudio(Seconds(ctx_.options.limits.max_stream_seconds + 60))) {
        co_return absl::DeadlineExceededError("the recognizer fell behind the audio for too long");
      }
      if (events_->done()) co_return absl::OkStatus();
    }
  }
  void End(absl::Status status) {
    end_status_ = std::move(status);
    done_ = true;
  }
  void Fail(absl::Status status) {
    Cancel();
    end_status_ = std::move(status);
  }

  Context& ctx_;
  const std::string request_id_, plan_;
  audio::PcmS16leParser parser_;
  std::optional<audio::Resampler> resampler_;
  std::shared_ptr<StreamEvents> events_;
  speech::RecognitionStreamPtr stream_;
  std::optional<absl::Status> end_status_;
  bool done_ = false;
  double audio_seconds_ = 0;
};

// Closes with the status's close code and its message as the reason (printable ASCII, as a
// close frame's 123 bytes must be UTF-8).
asio::awaitable<void> CloseWith(Ws& ws, const absl::Status& status) {
  websocket::close_reason reason(status.ok() ? websocket::close_code::normal : static_cast<websocket::close_code>(WebSocketCloseCode(status)));
  for (char c : std::string(status.message())) {
    if (reason.reason.size() == 120) break;
    if (c >= 0x20 && c < 0x7f) reason.reason += c;
  }
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(5), std::chrono::seconds(5), false});
  co_await ws.async_close(reason, kAwait);
}

void ConfigureSocket(Ws& ws, Context& ctx, const std::string& request_id) {
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), Seconds(ctx.options.limits.idle_timeout_seconds), false});
  ws.read_message_max(ctx.options.limits.max_frame_bytes);
  ws.set_option(websocket::stream_base::decorator([request_id](websocket::response_type& res) {
    res.set(http::field::server, "voxgate");
    res.set("x-request-id", request_id);
  }));
}

asio::awaitable<bool> Send(Ws& ws, const std::string& text, Context& ctx) {
  ws.text(true);
  beast::get_lowest_layer(ws).expires_after(Seconds(ctx.options.limits.idle_timeout_seconds));
  auto [ec, n] = co_await ws.async_write(asio::buffer(text), kAwait);
  beast::get_lowest_layer(ws).expires_never();
  co_return !ec;
}

// Why a read failed, for the client (nullopt: it is gone).
std::optional<absl::Status> ReadFailure(const boost::system::error_code& ec, const Context& ctx) {
  if (ec == websocket::error::message_too_big) {
    return absl::OutOfRangeError(absl::StrCat("message exceeds the limit of ", ctx.options.limits.max_frame_bytes, " bytes"));
  }
  if (ec == beast::error::timeout) return absl::DeadlineExceededError(absl::StrCat("no message for ", ctx.options.limits.idle_timeout_seconds, " s"));
  return std::nullopt;
}

void LogStream(const char* protocol, const Request& req, const std::string& request_id, const Caller& caller, Clock::time_point start,
               const std::string& language, double audio_seconds, const std::optional<absl::Status>& status) {
  const std::string outcome = !status ? "client_gone" : status->ok() ? "ok" : ErrorCode(*status);
  core::Metrics().GetCounter("voxgate_streams_total", "Recognition streams by outcome.", {{"outcome", outcome}}).Increment();
  if (audio_seconds > 0) {
    core::Metrics()
        .GetCounter("voxgate_audio_seconds_total", "Seconds of audio recognized.", {{"route", std::string("/") + protocol}})
        .Increment(audio_seconds);
  }
  nlohmann::json fields = {{"request_id", request_id},
                           {"api_key", caller.name},
                           {"protocol", protocol},
                           {"httpRequest", {{"requestMethod", "GET"}, {"requestUrl", std::string(req.target().substr(0, req.target().find('?')))},
                                            {"status", 101},
                                            {"latency", absl::StrCat(std::chrono::duration<double>(Clock::now() - start).count(), "s")},
                                            {"userAgent", std::string(req[http::field::user_agent])}}},
                           {"language", language},
                           {"audio_seconds", audio_seconds},
                           {"outcome", outcome}};
  if (status && !status->ok()) fields["error"] = std::string(status->message());
  core::Log(!status || status->ok() ? core::Severity::kInfo : core::Severity::kWarning, "stream", fields);
}

}  // namespace

asio::awaitable<void> RunVoskWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id, Caller caller) {
  ActiveGuard active(ctx);
  const auto start = Clock::now();
  Ws ws(std::move(stream));
  ConfigureSocket(ws, ctx, request_id);
  if (auto [ec] = co_await ws.async_accept(req, kAwait); ec) co_return;

  vosk::Config config;
  SteppedStream recognition(ctx, request_id, caller.plan);
  std::vector<speech::RecognitionResult> unsent_finals;
  std::string partial;
  std::optional<absl::Status> status;  // unset: the client went away
  beast::flat_buffer buffer;
  if (ctx.draining) status = absl::UnavailableError("the server is shutting down; retry on another instance");
  while (!status) {
    buffer.clear();
    auto [ec, n] = co_await ws.async_read(buffer, kAwait);
    if (ec) {
      status = ReadFailure(ec, ctx);
      break;
    }
    const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    bool eof = vosk::IsEof(data);
    if (!eof && ws.got_text()) {
      auto msg = vosk::ParseClientText(data, config);
      if (!msg.ok()) {
        status = msg.status();
        break;
      }
      eof = msg->type == vosk::ClientText::Type::kEof;
      if (!eof) continue;  // a config gets no reply, as from vosk-server
    }
    if (!recognition.started()) {
      if (!config.phrase_list.empty()) {
        status = absl::UnimplementedError("phrase_list (a restricted vocabulary) is not supported by this server's recognizers");
        break;
      }
      if (eof) {  // no audio at all
        if (co_await Send(ws, vosk::ResultJson({}, config), ctx)) status = absl::OkStatus();
        break;
      }
      if (auto s = co_await recognition.Start("en-US", config.sample_rate); !s.ok()) {
        status = s;
        break;
      }
    }
    if (eof) {
      auto rest = co_await recognition.Finish();
      for (auto& r : rest) {
        if (r.is_final) unsent_finals.push_back(std::move(r));
      }
      if (!recognition.ended()->ok()) {
        status = *recognition.ended();
        break;
      }
      if (co_await Send(ws, vosk::ResultJson(unsent_finals, config), ctx)) status = absl::OkStatus();
      break;
    }
    if (auto s = co_await recognition.Write(data); !s.ok()) {
      status = s;
      break;
    }
    // One reply per audio message: an utterance that ended since the last reply, else the partial.
    for (auto& r : recognition.Take()) {
      if (r.is_final) {
        unsent_finals.push_back(std::move(r));
        partial.clear();
      } else if (!r.transcript.empty()) {
        partial = r.transcript;
      }
    }
    if (recognition.ended() && !recognition.ended()->ok()) {
      status = *recognition.ended();
      break;
    }
    const std::string reply = unsent_finals.empty() ? vosk::PartialJson(partial) : vosk::ResultJson(unsent_finals, config);
    unsent_finals.clear();
    if (!co_await Send(ws, reply, ctx)) break;
  }
  recognition.Cancel();
  if (status) co_await CloseWith(ws, *status);
  LogStream("vosk", req, request_id, caller, start, "en-US", recognition.audio_seconds(), status);
}

asio::awaitable<void> RunMimiWebSocket(beast::tcp_stream stream, Request req, Context& ctx, std::string request_id, Caller caller,
                                       mimi::Config config) {
  ActiveGuard active(ctx);
  const auto start = Clock::now();
  SteppedStream recognition(ctx, request_id, caller.plan);
  // A stream that cannot start (a language no engine serves, no capacity) is refused in the
  // handshake, which is where mimi clients look for it.
  absl::Status refused = absl::UnavailableError("the server is shutting down; retry on another instance");
  if (!ctx.draining) refused = co_await recognition.Start(config.language, config.sample_rate);
  if (!refused.ok()) {
    Response res = ErrorResponse(refused);
    res.set("x-request-id", request_id);
    res.keep_alive(false);
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    co_await http::async_write(stream, res, kAwait);
    LogStream("mimi", req, request_id, caller, start, config.language, 0, refused);
    co_return;
  }
  Ws ws(std::move(stream));
  ConfigureSocket(ws, ctx, request_id);
  if (auto [ec] = co_await ws.async_accept(req, kAwait); ec) co_return;

  mimi::Session session(config, mimi::NewSessionId());
  std::optional<absl::Status> status;
  beast::flat_buffer buffer;
  auto send_all = [&](const std::vector<speech::RecognitionResult>& results) -> asio::awaitable<bool> {
    for (const auto& r : results) {
      for (const auto& message : session.OnResult(r)) {
        if (!co_await Send(ws, message, ctx)) co_return false;
      }
    }
    co_return true;
  };
  while (!status) {
    buffer.clear();
    auto [ec, n] = co_await ws.async_read(buffer, kAwait);
    if (ec) {
      status = ReadFailure(ec, ctx);
      break;
    }
    const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (ws.got_text()) {
      auto recog_break = mimi::IsRecogBreak(data);
      if (!recog_break.ok()) {
        status = recog_break.status();
        break;
      }
      auto rest = co_await recognition.Finish();
      if (!co_await send_all(rest)) break;
      if (!recognition.ended()->ok()) {
        status = *recognition.ended();
        break;
      }
      if (co_await Send(ws, session.Finished(), ctx)) status = absl::OkStatus();
      break;
    }
    if (auto s = co_await recognition.Write(data); !s.ok()) {
      status = s;
      break;
    }
    if (!co_await send_all(recognition.Take())) break;
    if (recognition.ended() && !recognition.ended()->ok()) status = *recognition.ended();
  }
  recognition.Cancel();
  if (status) co_await CloseWith(ws, *status);
  LogStream("mimi", req, request_id, caller, start, config.language, recognition.audio_seconds(), status);
}

}  // namespace voxgate::gateway::internal
