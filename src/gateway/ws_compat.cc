// The vosk- and mimi-compatible WebSocket protocols. Both answer in step with what the client
// sends, as the servers they mimic do: take a message, hand its audio to the recognition stream,
// answer with what the recognizer has said so far. A reader coroutine hands the client's messages
// over one at a time (so TCP still pushes back), and a stream that fails while the client is
// quiet is closed with its reason at once. (The native protocol pushes results as they come
// instead: ws_recognize.cc.)
#include <chrono>
#include <optional>

#include <boost/asio/experimental/channel.hpp>

#include "absl/strings/str_cat.h"
#include "audio/pcm.h"
#include "audio/resampler.h"
#include "core/log.h"
#include "core/metrics.h"
#include "gateway/errors.h"
#include "gateway/internal/context.h"
#include "gateway/internal/result_latency.h"
#include "gateway/internal/stream_events.h"
#include "gateway/internal/ws_read.h"
#include "gateway/protocols/mimi/mimi_protocol.h"
#include "gateway/protocols/vosk/vosk_protocol.h"

namespace voxgate::gateway::internal {
namespace {

// Waiting for the last results after the end of audio. The tiers below end a stream that cannot
// go on (failover and queue timeouts); this is the backstop.
constexpr auto kFinishTimeout = std::chrono::seconds(90);
using Ws = websocket::stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

// A recognition stream fed one client message at a time: client audio at its own rate in, the
// results so far out.
class SteppedStream {
 public:
  SteppedStream(Context& ctx, const Incoming& in, std::string route) : ctx_(ctx), in_(in), latency_(std::move(route)) {}
  ~SteppedStream() {
    if (stream_ && !done_) stream_->Cancel();
  }

  asio::awaitable<absl::Status> Start(const std::string& language, int client_sample_rate, std::vector<std::string> phrases = {}) {
    auto resampler = audio::Resampler::Create(client_sample_rate, kModelSampleRate);
    if (!resampler.ok()) co_return resampler.status();
    resampler_.emplace(std::move(*resampler));
    client_rate_ = client_sample_rate;
    events_ = EventsOwner<StreamEvents>(co_await asio::this_coro::executor);
    speech::RecognitionConfig config;
    config.language_code = language;
    config.sample_rate_hertz = kModelSampleRate;
    config.interim_results = true;
    in_.Stamp(config);
    config.report = in_.report;
    config.phrases = std::move(phrases);
    auto started = ctx_.service->StartRecognition(config, events_.observer());
    if (!started.ok()) co_return started.status();
    stream_ = std::move(*started);
    co_return absl::OkStatus();
  }
  bool started() const { return stream_ != nullptr; }
  // The client's audio so far, counted at its own rate (exact, unlike the resampled samples).
  double audio_seconds() const { return client_rate_ > 0 ? static_cast<double>(client_samples_) / client_rate_ : 0; }
  const ResultLatency& latency() const { return latency_; }

  // Client audio (s16le bytes); waits (bounded) while the stream's buffer is full.
  asio::awaitable<absl::Status> Write(std::string_view bytes) {
    std::vector<int16_t> raw;
    parser_.Append(bytes, raw);
    client_samples_ += raw.size();
    if (audio_seconds() > ctx_.options.limits.max_stream_seconds) co_return StreamTooLong(ctx_.options.limits.max_stream_seconds);
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
      latency_.OnResult(*next->result);
      out.push_back(std::move(*next->result));
    }
    return out;
  }
  const std::optional<absl::Status>& ended() const { return end_status_; }
  // Returns once the started stream has ended.
  asio::awaitable<void> WaitEnded() { co_await events_->WaitDone(); }

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
        latency_.OnResult(*next.result);
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
    if (samples.empty()) co_return absl::OkStatus();
    while (true) {
      absl::Status s = stream_->Write(samples);
      if (s.ok()) latency_.OnAudioSent(audio_seconds());
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
  const Incoming& in_;
  ResultLatency latency_;
  audio::PcmS16leParser parser_;
  std::optional<audio::Resampler> resampler_;
  EventsOwner<StreamEvents> events_;
  speech::RecognitionStreamPtr stream_;
  std::optional<absl::Status> end_status_;
  bool done_ = false;
  int client_rate_ = 0;
  uint64_t client_samples_ = 0;
};

// A client message, or (ec set) why the reading ended.
struct Frame {
  boost::system::error_code ec;
  std::string data;
  bool text = false;
};
using FrameChannel = asio::experimental::channel<void(boost::system::error_code, Frame)>;

// Reads the client's messages into `out`, one at a time: the next read starts once the session
// took the last message. Ends after handing over the read's error (the socket closed).
asio::awaitable<void> ReadFrames(Ws& ws, FrameChannel& out, size_t max_bytes) {
  beast::flat_buffer buffer;
  while (true) {
    buffer.clear();
    auto [ec, n] = co_await ReadBoundedMessage(ws, buffer, max_bytes);
    Frame frame{ec, ec ? std::string() : beast::buffers_to_string(buffer.data()), ws.got_text()};
    co_await out.async_send(boost::system::error_code{}, std::move(frame), kAwait);
    if (ec) {
      out.close();  // a session that missed the last frame (see NextFrame) sees the end
      co_return;
    }
  }
}

// What the session waits for between client messages: the next one, the stream's end (it
// failed while the client was quiet), or the client's idle timeout.
struct Next {
  std::optional<Frame> frame;
  bool stream_ended = false;  // neither: the client sent nothing for `idle`
};
// The idle timeout runs only here, while the client owes the next message; Beast's own is off, as
// it would also count the time the server takes (waiting for room in the stream, finishing after
// the end of audio) and cut the client off without a close frame. (When two of these complete
// at once, the losing frame is dropped; the session ends then anyway.)
asio::awaitable<Next> NextFrame(FrameChannel& frames, SteppedStream& recognition, std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, idle);
  auto frame_of = [](std::tuple<boost::system::error_code, Frame> received) {
    auto& [ec, frame] = received;
    // A closed channel: the reader ended and its last frame went to an earlier wait.
    if (ec) return Frame{asio::error::eof, {}, false};
    return std::move(frame);
  };
  if (!recognition.started()) {  // nothing to end yet (vosk starts its stream at the first audio)
    auto which = co_await (frames.async_receive(kAwait) || timer.async_wait(kAwait));
    if (which.index() == 1) co_return Next{};
    co_return Next{frame_of(std::get<0>(std::move(which)))};
  }
  auto which = co_await (frames.async_receive(kAwait) || recognition.WaitEnded() || timer.async_wait(kAwait));
  if (which.index() == 1) co_return Next{std::nullopt, true};
  if (which.index() == 2) co_return Next{};
  co_return Next{frame_of(std::get<0>(std::move(which)))};
}

// After the session: takes what the reader still hands over, until it ends.
asio::awaitable<void> DrainFrames(FrameChannel& frames) {
  while (true) {
    auto [ec, frame] = co_await frames.async_receive(kAwait);
    if (ec || frame.ec) co_return;  // ec: the reader closed the channel
  }
}

asio::awaitable<void> CloseWith(Ws& ws, const absl::Status& status) {
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(5), std::chrono::seconds(5), false});
  co_await ws.async_close(CloseReasonFor(status), kAwait);
}

void ConfigureSocket(Ws& ws, const std::string& request_id) {
  // The client's idle timeout is NextFrame's.
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
  ws.read_message_max(0);  // ReadBoundedMessage's limit instead
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

void LogStream(const char* route, const Request& req, const Incoming& in, Clock::time_point start, const std::string& language,
               const SteppedStream& recognition, const std::optional<absl::Status>& status) {
  AccessRecord record;
  record.route = route;
  record.language = language;
  record.status = 101;
  record.client_gone = !status;
  if (status) record.result = *status;
  record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  record.audio_seconds = recognition.audio_seconds();
  nlohmann::json extra = nlohmann::json::object();
  recognition.latency().AddFields(extra);
  RecordStream(req, in, record, extra);
}

// Runs `steps` (which takes the client's messages through NextFrame) beside the frame reader,
// then closes with the status `steps` decided (unset: the client went away) and lets the reader
// finish. `reader_done`: steps took the reader's last frame (its error).
template <typename Steps>
asio::awaitable<std::optional<absl::Status>> RunSession(Ws& ws, const Context& ctx, SteppedStream& recognition, Steps steps) {
  using namespace asio::experimental::awaitable_operators;
  FrameChannel frames(co_await asio::this_coro::executor, 0);
  std::optional<absl::Status> status;
  auto session = [&]() -> asio::awaitable<void> {
    bool reader_done = false;
    status = co_await steps(frames, reader_done);
    recognition.Cancel();
    if (status) co_await CloseWith(ws, *status);
    if (!reader_done) co_await DrainFrames(frames);
  };
  co_await (ReadFrames(ws, frames, ctx.options.limits.max_frame_bytes) && session());
  co_return status;
}

// The next client message for a session's steps: the frame, or the status that ends the session
// (the stream failed while the client was quiet, or the read failed; unset: the client is gone).
struct Step {
  std::optional<Frame> frame;
  std::optional<absl::Status> end;
};
asio::awaitable<Step> NextStep(FrameChannel& frames, SteppedStream& recognition, bool& reader_done, const Context& ctx) {
  const double idle_seconds = ctx.options.limits.idle_timeout_seconds;
  auto [frame, stream_ended] = co_await NextFrame(frames, recognition, Seconds(idle_seconds));
  if (stream_ended) {
    (void)recognition.Take();  // records how it ended
    co_return Step{std::nullopt, recognition.ended().value_or(absl::InternalError("the recognition ended early"))};
  }
  if (!frame) co_return Step{std::nullopt, speech::ClientIdleError(idle_seconds)};
  if (frame->ec) {
    reader_done = true;
    co_return Step{std::nullopt, ReadError(frame->ec, ctx.options.limits.max_frame_bytes)};
  }
  co_return Step{std::move(frame), std::nullopt};
}

}  // namespace

asio::awaitable<void> RunVoskWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in) {
  ActiveGuard active(ctx);
  const auto start = Clock::now();
  Ws ws(std::move(stream));
  ConfigureSocket(ws, in.id);
  if (auto [ec] = co_await ws.async_accept(req, kAwait); ec) co_return;

  vosk::Config config;
  SteppedStream recognition(ctx, in, "/vosk");
  auto steps = [&](FrameChannel& frames, bool& reader_done) -> asio::awaitable<std::optional<absl::Status>> {
    if (ctx.draining) co_return absl::UnavailableError("the server is shutting down; retry on another instance");
    std::vector<speech::RecognitionResult> unsent_finals;
    std::string partial;
    while (true) {
      Step step = co_await NextStep(frames, recognition, reader_done, ctx);
      if (!step.frame) co_return step.end;
      const std::string& data = step.frame->data;
      bool eof = vosk::IsEof(data);
      if (!eof && step.frame->text) {
        vosk::Config next = config;
        auto msg = vosk::ParseClientText(data, next);
        if (!msg.ok()) co_return msg.status();
        eof = msg->type == vosk::ClientText::Type::kEof;
        if (!eof && recognition.started()) {
          // vosk-server ignores it; the audio already sent was taken at the old settings.
          co_return absl::FailedPreconditionError("a config must come before the first audio frame");
        }
        config = std::move(next);
        if (!eof) continue;  // a config gets no reply, as from vosk-server
      }
      if (!recognition.started()) {
        if (eof) {  // no audio at all
          if (!co_await Send(ws, vosk::ResultJson({}, config), ctx)) co_return std::nullopt;
          co_return absl::OkStatus();
        }
        if (auto s = co_await recognition.Start("en-US", config.sample_rate, config.phrase_list); !s.ok()) co_return s;
      }
      if (eof) {
        for (auto& r : co_await recognition.Finish()) {
          if (r.is_final) unsent_finals.push_back(std::move(r));
        }
        if (!recognition.ended()->ok()) co_return *recognition.ended();
        if (!co_await Send(ws, vosk::ResultJson(unsent_finals, config), ctx)) co_return std::nullopt;
        co_return absl::OkStatus();
      }
      if (auto s = co_await recognition.Write(data); !s.ok()) co_return s;
      // One reply per audio message: an utterance that ended since the last reply, else the partial.
      for (auto& r : recognition.Take()) {
        if (r.is_final) {
          unsent_finals.push_back(std::move(r));
          partial.clear();
        } else if (!r.transcript.empty()) {
          partial = r.transcript;
        }
      }
      if (recognition.ended() && !recognition.ended()->ok()) co_return *recognition.ended();
      const std::string reply = unsent_finals.empty() ? vosk::PartialJson(partial) : vosk::ResultJson(unsent_finals, config);
      unsent_finals.clear();
      if (!co_await Send(ws, reply, ctx)) co_return std::nullopt;
    }
  };
  const auto status = co_await RunSession(ws, ctx, recognition, steps);
  LogStream("/vosk", req, in, start, "en-US", recognition, status);
}

asio::awaitable<void> RunMimiWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in, mimi::Config config) {
  ActiveGuard active(ctx);
  const auto start = Clock::now();
  SteppedStream recognition(ctx, in, "/mimi");
  // A stream that cannot start (a language no engine serves, no capacity) is refused in the
  // handshake, which is where mimi clients look for it.
  absl::Status refused = absl::UnavailableError("the server is shutting down; retry on another instance");
  if (!ctx.draining) refused = co_await recognition.Start(config.language, config.sample_rate);
  if (!refused.ok()) {
    Response res = ErrorResponse(refused);
    res.set("x-request-id", in.id);
    res.keep_alive(false);
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    co_await http::async_write(stream, res, kAwait);
    LogStream("/mimi", req, in, start, config.language, recognition, refused);
    co_return;
  }
  Ws ws(std::move(stream));
  ConfigureSocket(ws, in.id);
  if (auto [ec] = co_await ws.async_accept(req, kAwait); ec) co_return;

  mimi::Session session(config, mimi::NewSessionId());
  auto send_all = [&](const std::vector<speech::RecognitionResult>& results) -> asio::awaitable<bool> {
    for (const auto& r : results) {
      for (const auto& message : session.OnResult(r)) {
        if (!co_await Send(ws, message, ctx)) co_return false;
      }
    }
    co_return true;
  };
  auto steps = [&](FrameChannel& frames, bool& reader_done) -> asio::awaitable<std::optional<absl::Status>> {
    while (true) {
      Step step = co_await NextStep(frames, recognition, reader_done, ctx);
      if (!step.frame) co_return step.end;
      if (step.frame->text) {
        auto recog_break = mimi::IsRecogBreak(step.frame->data);
        if (!recog_break.ok()) co_return recog_break.status();
        auto rest = co_await recognition.Finish();
        if (!co_await send_all(rest)) co_return std::nullopt;
        if (!recognition.ended()->ok()) co_return *recognition.ended();
        if (!co_await Send(ws, session.Finished(), ctx)) co_return std::nullopt;
        co_return absl::OkStatus();
      }
      if (auto s = co_await recognition.Write(step.frame->data); !s.ok()) co_return s;
      if (!co_await send_all(recognition.Take())) co_return std::nullopt;
      if (recognition.ended() && !recognition.ended()->ok()) co_return *recognition.ended();
    }
  };
  const auto status = co_await RunSession(ws, ctx, recognition, steps);
  LogStream("/mimi", req, in, start, config.language, recognition, status);
}

}  // namespace voxgate::gateway::internal
