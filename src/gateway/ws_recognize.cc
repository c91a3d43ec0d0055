// GET /v1/recognize: the native streaming recognition protocol over WebSocket (docs/API.md).
// Two coroutines share the connection's strand: the reader turns client frames into audio for the
// recognition stream, the writer sends results back; all Beast writes happen in the writer, except
// errors before the stream exists.
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audio/pcm.h"
#include "audio/resampler.h"
#include "audio/wav_stream_parser.h"
#include "core/log.h"
#include "core/metrics.h"
#include "gateway/errors.h"
#include "gateway/internal/context.h"
#include "gateway/internal/result_latency.h"
#include "gateway/internal/stream_events.h"
#include "gateway/internal/synthesis_events.h"
#include "gateway/internal/ws_read.h"
#include "gateway/protocols/native/native_protocol.h"
#include "speech/language.h"
#include "speech/text.h"

namespace voxgate::gateway::internal {
namespace {

constexpr int kSendBufferBytes = 64 * 1024;
using Ws = websocket::stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

// Turns client audio frames (pcm_s16le or a streamed WAV file) into samples at the model's rate.
class AudioInput {
 public:
  absl::Status Init(const native::StreamConfig& config) {
    config_ = config;
    if (config.encoding == native::Encoding::kPcmS16le) return MakeResampler(config.sample_rate);
    return absl::OkStatus();  // WAV: the rate comes with the header
  }

  absl::Status Append(std::string_view bytes, std::vector<int16_t>& out) {
    std::vector<int16_t> raw;
    if (config_.encoding == native::Encoding::kPcmS16le) {
      pcm_.Append(bytes, raw);
    } else {
      const bool had_header = wav_.header_done();
      if (auto s = wav_.Append(bytes, raw); !s.ok()) return s;
      if (!had_header && wav_.header_done()) {
        if (auto s = MakeResampler(wav_.sample_rate_hertz()); !s.ok()) return s;
      }
    }
    if (!raw.empty()) {
      client_samples_ += raw.size();
      auto resampled = resampler_->Process(raw);
      out.insert(out.end(), resampled.begin(), resampled.end());
    }
    return absl::OkStatus();
  }

  // Seconds of the client's audio so far, at its own rate: what limits and the access line count.
  double seconds() const { return rate_ > 0 ? static_cast<double>(client_samples_) / rate_ : 0; }

  // End of audio: what the resampler still holds, or why the audio was incomplete.
  absl::StatusOr<std::vector<int16_t>> Flush() {
    if (config_.encoding == native::Encoding::kWav) {
      if (auto s = wav_.Finish(); !s.ok()) return s;
    }
    return resampler_ ? resampler_->Flush() : std::vector<int16_t>{};
  }

 private:
  absl::Status MakeResampler(int rate) {
    auto r = audio::Resampler::Create(rate, kModelSampleRate);
    if (!r.ok()) return r.status();
    resampler_.emplace(std::move(*r));
    rate_ = rate;
    return absl::OkStatus();
  }

  native::StreamConfig config_;
  audio::PcmS16leParser pcm_;
  audio::WavStreamParser wav_;
  std::optional<audio::Resampler> resampler_;
  int rate_ = 0;
  uint64_t client_samples_ = 0;
};

struct StreamState {
  Incoming in;
  native::StreamConfig config;
  AudioInput input;  // its seconds() is the stream's audio, as limits and the access line count it
  speech::RecognitionStreamPtr stream;
  EventsOwner<StreamEvents> events;
  absl::Status client_error;  // why the reader gave up on the client, sent by the writer
  bool client_gone = false;
  bool ended = false;  // the client sent its end of audio
  Clock::time_point last_message{};  // or when the reader was ready for one again
  bool awaiting_room = false;  // audio waits for room in the stream: the client owes nothing
  int finals = 0;
  int partials = 0;
  Clock::time_point end_of_audio{};
  ResultLatency latency{"/v1/recognize"};
};

// While the client streams audio, `idle_timeout` without a message from it ends the stream
// (IdleWatch: Beast's idle timer would close the socket without a close frame or a reason). When
// the server keeps the client waiting, the client's silence must not count:
// - after the end of audio (results still to come, through a queue or a failover) the reader
//   still reads, so Beast's pings tell a client that is still there from one that vanished;
// - while the stream holds audio back the reader does not read, and the client owes nothing (the
//   wait is bounded).
// Before the stream starts, ReadFirstMessage waits for a config with the same timeout.
void ServerBusyKeepAlive(Ws& ws, double idle_timeout_seconds) {
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), Seconds(idle_timeout_seconds), true});
}
void NoIdleTimeout(Ws& ws) {
  ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
}

asio::awaitable<void> SendErrorAndClose(Ws& ws, const absl::Status& status) {
  ws.text(true);
  co_await ws.async_write(asio::buffer(native::ErrorJson(status)), kAwait);
  co_await ws.async_close(CloseReasonFor(status), kAwait);
}

// Reads the client's first message (a config, audio or the end). A client that sends nothing
// within idle_timeout gets the error and close 1008 "no message for N s" (Beast's idle timer would
// drop the socket with no close frame): `silent` is then set, and the read ends with an error.
struct FirstMessage {
  beast::flat_buffer buffer;
  boost::system::error_code error;
  bool arrived = false;
  bool silent = false;
};
asio::awaitable<void> ReadThenStopWatch(Ws& ws, FirstMessage& first, size_t max_bytes, asio::steady_timer& watch) {
  auto [ec, n] = co_await ReadBoundedMessage(ws, first.buffer, max_bytes);
  first.error = ec;
  first.arrived = true;
  watch.cancel();
}
asio::awaitable<void> CloseIfSilent(Ws& ws, FirstMessage& first, asio::steady_timer& watch, double idle_timeout_seconds) {
  co_await watch.async_wait(kAwait);
  if (first.arrived) co_return;
  first.silent = true;
  co_await SendErrorAndClose(ws, speech::ClientIdleError(idle_timeout_seconds));  // beside the pending read
}
asio::awaitable<void> ReadFirstMessage(Ws& ws, FirstMessage& first, const core::LimitsConfig& limits) {
  const double idle_timeout_seconds = limits.idle_timeout_seconds;
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer watch(co_await asio::this_coro::executor, Seconds(idle_timeout_seconds));
  co_await (ReadThenStopWatch(ws, first, limits.max_frame_bytes, watch) && CloseIfSilent(ws, first, watch, idle_timeout_seconds));
}

// How long audio may wait for room in the stream. The tiers below end a stream that cannot go on
// (queue and failover timeouts, health checks), which wakes this wait; the bound is the backstop.
std::chrono::milliseconds BackpressureTimeout(const core::LimitsConfig& limits) { return Seconds(limits.max_stream_seconds + 60); }

void EndOfAudio(Ws& ws, StreamState& st, const core::LimitsConfig& limits) {
  st.ended = true;
  st.end_of_audio = Clock::now();
  st.stream->Finish();
  ServerBusyKeepAlive(ws, limits.idle_timeout_seconds);
}

// Writes audio into the stream, waiting (bounded) while its buffer is full.
asio::awaitable<absl::Status> WriteAudio(StreamState& st, std::span<const int16_t> samples, const core::LimitsConfig& limits) {
  while (true) {
    absl::Status s = st.stream->Write(samples);
    if (s.ok()) st.latency.OnAudioSent(st.input.seconds());
    // FAILED_PRECONDITION: the stream already ended (say, its engine died); the writer reports
    // the stream's own status, which is the one that tells the client what happened.
    if (absl::IsFailedPrecondition(s)) co_return absl::OkStatus();
    if (!absl::IsResourceExhausted(s)) co_return s;
    st.awaiting_room = true;
    const bool ready = co_await st.events->WaitReadyForAudio(BackpressureTimeout(limits));
    st.awaiting_room = false;
    st.last_message = Clock::now();
    if (!ready) co_return absl::DeadlineExceededError("the recognizer fell behind the audio for too long");
    if (st.events->done()) co_return absl::OkStatus();  // the writer reports why it ended
  }
}

asio::awaitable<void> ReadLoop(Ws& ws, StreamState& st, Context& ctx) {
  const auto& limits = ctx.options.limits;
  beast::flat_buffer buffer;
  std::vector<int16_t> samples;
  auto fail = [&](absl::Status s) {
    st.client_error = std::move(s);
    st.stream->Cancel();
  };
  while (true) {
    buffer.clear();
    auto [ec, n] = co_await ReadBoundedMessage(ws, buffer, limits.max_frame_bytes);
    if (ec) {
      if (auto why = ReadError(ec, limits.max_frame_bytes)) {
        fail(*why);
      } else if (!st.events->done()) {
        st.client_gone = true;  // vanished or closed without {"type":"end"}
        st.stream->Cancel();
      }
      co_return;
    }
    st.last_message = Clock::now();
    // After the end of audio the reader stays, so that Beast answers pings and sees the close
    // handshake and a client that vanishes; what a client still sends changes nothing.
    if (st.ended) continue;
    const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (ws.got_text()) {
      auto msg = native::ParseClientText(data);
      if (!msg.ok()) co_return fail(msg.status());
      if (msg->type == native::ClientMessage::Type::kConfig) {
        co_return fail(absl::FailedPreconditionError("config must come first and only once (query parameters count as config)"));
      }
      auto rest = st.input.Flush();
      if (!rest.ok()) co_return fail(rest.status());
      samples = std::move(*rest);
      if (!samples.empty()) {
        if (auto s = co_await WriteAudio(st, samples, limits); !s.ok()) co_return fail(s);
      }
      EndOfAudio(ws, st, limits);
      continue;  // the writer closes the connection after the last final result
    }
    samples.clear();
    if (auto s = st.input.Append(data, samples); !s.ok()) co_return fail(s);
    if (st.input.seconds() > limits.max_stream_seconds) co_return fail(StreamTooLong(limits.max_stream_seconds));
    if (samples.empty()) continue;
    if (st.events->done()) co_return;  // ended early; the writer closes with the reason
    if (auto s = co_await WriteAudio(st, samples, limits); !s.ok()) co_return fail(s);
  }
}

// Ends the stream when the client owes a message for `idle_timeout`; the writer then closes with
// 1008 and the reason. Returns only when cancelled (it runs beside the reader and the writer).
asio::awaitable<void> IdleWatch(StreamState& st, const core::LimitsConfig& limits) {
  const auto idle = Seconds(limits.idle_timeout_seconds);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto owes = [&] { return !st.ended && !st.awaiting_room && !st.events->done(); };
  while (owes() || st.awaiting_room) {
    timer.expires_at(st.awaiting_room ? Clock::now() + idle : st.last_message + idle);
    if (auto [ec] = co_await timer.async_wait(kAwait); ec) co_return;
    if (owes() && Clock::now() >= st.last_message + idle) {
      st.client_error = speech::ClientIdleError(limits.idle_timeout_seconds);
      st.stream->Cancel();
      break;
    }
  }
  timer.expires_at(Clock::time_point::max());
  co_await timer.async_wait(kAwait);
}

// Sends one message. A client that stops reading fills the socket buffers and would hold the
// writer forever; once a write has waited `timeout`, the connection is closed instead.
asio::awaitable<bool> WriteFrame(Ws& ws, bool text, std::string_view data, std::chrono::milliseconds timeout) {
  // The watchdog runs on the connection's strand like this coroutine, so `writing` is only read
  // while the write (and so `ws`) is alive.
  auto writing = std::make_shared<bool>(true);
  asio::steady_timer watchdog(co_await asio::this_coro::executor, timeout);
  watchdog.async_wait([&ws, writing](boost::system::error_code ec) {
    if (!ec && *writing) beast::get_lowest_layer(ws).close();
  });
  ws.text(text);
  auto [ec, n] = co_await ws.async_write(asio::buffer(data), kAwait);
  *writing = false;
  watchdog.cancel();
  co_return !ec;
}

asio::awaitable<bool> WriteResult(Ws& ws, const std::string& json, std::chrono::milliseconds timeout) {
  co_return co_await WriteFrame(ws, true, json, timeout);
}

// What a spoken translation asks the synthesizer for.
speech::SynthesisRequest SpeechRequestFor(const native::StreamConfig& config, const std::string& text) {
  speech::SynthesisRequest r;
  r.text = text;
  r.language_code = config.translate_to;
  r.voice = config.voice;
  r.sample_rate_hertz = native::kSpeechSampleRate;
  return r;
}

// Speech translation: a final result's text in the stream's translate_to language. A failed
// translation (say, every translation engine is down) does not end the recognition: the result
// goes out with the reason instead of the translation.
asio::awaitable<absl::StatusOr<std::string>> TranslateFinal(Context& ctx, const StreamState& st, const std::string& text) {
  speech::TranslationRequest request;
  request.texts = {speech::TranscriptForTranslation(text, st.config.language)};
  request.source_language = st.config.language;
  request.target_language = st.config.translate_to;
  st.in.Stamp(request);
  request.deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
  auto result = co_await TranslateAsync(*ctx.service, std::move(request));
  if (!result.ok()) co_return result.status();
  co_return std::move(result->texts.at(0));
}

// What `caps` lacks of the stream's translate_to (and speak), or OK.
absl::Status Untranslatable(const speech::Capabilities& caps, const native::StreamConfig& config) {
  const bool translates = std::any_of(caps.models.begin(), caps.models.end(), [&](const speech::ModelInfo& m) {
    return speech::TranslatesPair(m, config.language, config.translate_to);
  });
  if (!translates) {
    const std::vector<std::string> pairs = speech::TranslationPairs(caps.models);
    return absl::NotFoundError(absl::StrCat("no engine translates ", config.language, "->", config.translate_to,
                                            "; pairs served: ", pairs.empty() ? "none" : absl::StrJoin(pairs, ", ")));
  }
  if (!config.speak) return absl::OkStatus();
  const speech::SynthesisRequest wanted = SpeechRequestFor(config, "");
  const bool speaks = std::any_of(caps.models.begin(), caps.models.end(), [&](const speech::ModelInfo& m) {
    return speech::SpeaksRequest(m, wanted);
  });
  return speaks ? absl::OkStatus() : speech::NotSpoken(caps.models, wanted);
}

// Whether the service translates the stream's language into translate_to (checked before the
// stream starts, so a client learns at once, not at its first final result). Nothing is "not
// found" while an engine has not said what it serves: that is one to retry.
absl::Status CheckTranslatable(Context& ctx, const native::StreamConfig& config) {
  auto caps = ctx.service->Describe();
  if (!caps.ok()) return caps.status();
  absl::Status lacking = Untranslatable(*caps, config);
  if (absl::IsNotFound(lacking) && caps->incomplete) {
    return absl::UnavailableError(absl::StrCat(lacking.message(), " (an engine is still loading; retry after 1 s)"));
  }
  return lacking;
}

// Sends the spoken translation of a final result: its audio as binary frames between a
// speech_start and a speech_end message. False: the client is gone or stopped reading.
asio::awaitable<bool> SpeakTranslation(Ws& ws, const StreamState& st, Context& ctx, const std::string& text) {
  const auto write_timeout = Seconds(ctx.options.limits.idle_timeout_seconds);
  if (!co_await WriteResult(ws, native::SpeechStartJson(text, st.config.translate_to), write_timeout)) co_return false;
  speech::SynthesisRequest request = SpeechRequestFor(st.config, text);
  st.in.Stamp(request);
  EventsOwner<SynthesisEvents> events(co_await asio::this_coro::executor);
  ctx.service->Synthesize(std::move(request), events.observer());
  size_t samples = 0;
  bool client_gone = false;
  const absl::Status status = co_await events->ForEachAudio(std::chrono::seconds(30), [&](SynthesisEvents::Next& batch) -> asio::awaitable<bool> {
    samples += batch.samples.size();
    client_gone = !co_await WriteFrame(ws, false, {reinterpret_cast<const char*>(batch.samples.data()), batch.samples.size() * 2}, write_timeout);
    co_return !client_gone;
  });
  if (client_gone) co_return false;
  co_return co_await WriteResult(ws, native::SpeechEndJson(static_cast<double>(samples) / native::kSpeechSampleRate, status), write_timeout);
}

asio::awaitable<void> WriteLoop(Ws& ws, StreamState& st, Context& ctx) {
  absl::Status status;
  while (true) {
    // Results may be far apart while a client streams silence, so the wait is as long as a stream.
    auto next = co_await st.events->NextResult(Seconds(ctx.options.limits.max_stream_seconds + 60));
    if (next.timed_out || next.overflowed) {
      st.stream->Cancel();
      status = next.overflowed ? absl::FailedPreconditionError("the client is not reading its results") : absl::DeadlineExceededError("no result in time");
      continue;  // OnDone follows the cancel
    }
    if (next.done) {
      // The cancel's own CANCELLED does not replace why the stream was cancelled.
      if (status.ok()) status = !st.client_error.ok() ? st.client_error : *next.done;
      break;
    }
    const auto& r = *next.result;
    st.latency.OnResult(r);
    if (r.is_final) {
      st.finals++;
    } else {
      st.partials++;
      if (!st.config.interim_results) continue;
    }
    std::optional<absl::StatusOr<std::string>> translation;
    if (r.is_final && !st.config.translate_to.empty()) translation = co_await TranslateFinal(ctx, st, r.transcript);
    const std::string json = native::ResultJson(r, translation ? &*translation : nullptr);
    bool written = co_await WriteResult(ws, json, Seconds(ctx.options.limits.idle_timeout_seconds));
    if (written && st.config.speak && translation && translation->ok() && !(*translation)->empty()) {
      written = co_await SpeakTranslation(ws, st, ctx, **translation);
    }
    if (!written) {
      st.client_gone = true;  // gone, or stopped reading and cut off
      st.stream->Cancel();
    }
  }
  if (st.client_gone) co_return;
  if (status.ok()) {
    co_await ws.async_close(websocket::close_code::normal, kAwait);
  } else {
    co_await SendErrorAndClose(ws, status);
  }
  st.client_error = status;
}

}  // namespace

websocket::close_reason CloseReasonFor(const absl::Status& status) {
  websocket::close_reason reason(static_cast<websocket::close_code>(WebSocketCloseCode(status)));
  for (char c : std::string(status.message())) {
    if (reason.reason.size() == 120) break;
    if (c >= 0x20 && c < 0x7f) reason.reason += c;
  }
  return reason;
}

asio::awaitable<void> RunRecognizeWebSocket(beast::tcp_stream stream, Request req, Context& ctx, Incoming in) {
  ActiveGuard active(ctx);
  const auto start = Clock::now();
  const auto& limits = ctx.options.limits;
  Ws ws(std::move(stream));
  // Results are small; a bounded kernel send buffer (instead of Linux's autotuned, up to 4 MiB)
  // keeps what a client that stops reading can pile up small, and lets the writer notice soon.
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws).socket().set_option(asio::socket_base::send_buffer_size(kSendBufferBytes), ignored);
  NoIdleTimeout(ws);  // ReadFirstMessage's, then IdleWatch's
  ws.read_message_max(0);  // ReadBoundedMessage's limit instead
  ws.set_option(websocket::stream_base::decorator([&](websocket::response_type& res) {
    res.set(http::field::server, "voxgate");
    res.set("x-request-id", in.id);
  }));
  auto [accept_ec] = co_await ws.async_accept(req, kAwait);
  if (accept_ec) co_return;

  StreamState st;
  st.in = std::move(in);
  absl::Status status = absl::OkStatus();
  std::string_view target = req.target();
  const size_t q = target.find('?');
  // Config in the query starts the stream at once (so a bad language is refused at once);
  // otherwise the first message is either a JSON config or already audio.
  const bool config_in_query = q != std::string_view::npos && q + 1 < target.size();
  if (config_in_query) status = native::ApplyQuery(target.substr(q + 1), st.config);
  if (status.ok() && ctx.draining) status = absl::UnavailableError("the server is shutting down; retry on another instance");

  FirstMessage first_message;
  const beast::flat_buffer& first = first_message.buffer;
  bool first_is_audio = false;
  bool end_at_once = false;
  if (status.ok() && !config_in_query) {
    co_await ReadFirstMessage(ws, first_message, limits);
    const auto ec = first_message.error;
    if (first_message.silent) {
      status = speech::ClientIdleError(limits.idle_timeout_seconds);  // told and closed already
    } else if (auto why = ReadError(ec, limits.max_frame_bytes)) {
      status = *why;
    } else if (ec) {
      st.client_gone = true;  // gone before saying anything: still a stream, with its access line
      status = absl::CancelledError("the client left before its first message");
    } else if (ws.got_text()) {
      auto msg = native::ParseClientText({static_cast<const char*>(first.data().data()), first.size()});
      status = msg.status();
      if (msg.ok() && msg->type == native::ClientMessage::Type::kConfig) status = native::ApplyJson(msg->body, st.config);
      if (msg.ok() && msg->type == native::ClientMessage::Type::kEnd) end_at_once = true;
    } else {
      first_is_audio = true;
    }
  }
  if (status.ok()) status = native::CheckConfig(st.config);
  if (status.ok()) status = st.input.Init(st.config);
  if (status.ok() && !st.config.translate_to.empty()) status = CheckTranslatable(ctx, st.config);
  if (status.ok()) {
    st.events = EventsOwner<StreamEvents>(co_await asio::this_coro::executor);
    speech::RecognitionConfig config;
    config.language_code = st.config.language;
    config.sample_rate_hertz = kModelSampleRate;
    config.interim_results = st.config.interim_results;
    st.in.Stamp(config);
    config.report = st.in.report;
    auto started = ctx.service->StartRecognition(config, st.events.observer());
    status = started.status();
    if (started.ok()) st.stream = std::move(*started);
  }
  if (!status.ok()) {
    if (!first_message.silent && !st.client_gone) co_await SendErrorAndClose(ws, status);
  } else {
    ws.text(true);
    co_await ws.async_write(asio::buffer(native::ReadyJson(st.in.id, st.config)), kAwait);
    absl::Status first_status;
    if (first_is_audio) {
      std::vector<int16_t> samples;
      first_status = st.input.Append({static_cast<const char*>(first.data().data()), first.size()}, samples);
      if (first_status.ok() && !samples.empty()) first_status = co_await WriteAudio(st, samples, limits);
    }
    if (!first_status.ok()) {
      st.client_error = first_status;
      st.stream->Cancel();
    } else if (end_at_once) {
      EndOfAudio(ws, st, limits);
    }
    using namespace asio::experimental::awaitable_operators;
    if (first_status.ok()) {
      st.last_message = Clock::now();
      co_await ((ReadLoop(ws, st, ctx) && WriteLoop(ws, st, ctx)) || IdleWatch(st, limits));
    } else {
      co_await WriteLoop(ws, st, ctx);
    }
    status = st.client_error;
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (status.ok() && st.end_of_audio != Clock::time_point{}) {
    core::Metrics()
        .GetHistogram("voxgate_stream_end_to_close_seconds",
                      "From the client's end of audio to the last final result and close.", core::LatencyBuckets())
        .Observe(std::chrono::duration<double>(Clock::now() - st.end_of_audio).count());
  }
  AccessRecord record;
  record.route = "/v1/recognize";
  record.language = st.config.language;
  record.status = 101;
  record.result = st.client_gone ? absl::OkStatus() : status;
  record.client_gone = st.client_gone;
  record.seconds = seconds;
  record.audio_seconds = st.input.seconds();
  nlohmann::json extra = {{"final_results", st.finals}, {"partial_results", st.partials}};
  st.latency.AddFields(extra);
  RecordStream(req, st.in, record, extra);
}

}  // namespace voxgate::gateway::internal
