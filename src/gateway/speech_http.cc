// POST /v1/audio/speech (OpenAI-compatible): the synthesized audio is encoded and sent with
// chunked transfer encoding as the engine makes it, so the first bytes leave long before the
// whole text is spoken. The status line waits for the first audio: a request the engine refuses
// (unknown voice, bad text) still gets a 4xx with a JSON error body.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "audio/encoder.h"
#include "core/log.h"
#include "core/metrics.h"
#include "gateway/errors.h"
#include "gateway/internal/chunked_response.h"
#include "gateway/internal/context.h"
#include "gateway/internal/synthesis_events.h"
#include "gateway/protocols/openai/speech_request.h"

namespace voxgate::gateway::internal {
namespace {

constexpr size_t kMaxSpeechBodyBytes = 64 * 1024;  // 4096 characters of input and the JSON around them

}  // namespace

asio::awaitable<absl::StatusOr<audio::Pcm>> SynthesizeAll(Context& ctx, speech::SynthesisRequest request) {
  const auto timeout = Seconds(ctx.options.limits.request_timeout_seconds);
  request.deadline = std::chrono::system_clock::now() + timeout;
  EventsOwner<SynthesisEvents> events(co_await asio::this_coro::executor);
  ctx.service->Synthesize(std::move(request), events.observer());
  audio::Pcm pcm;
  const absl::Status status = co_await events->ForEachAudio(timeout, [&](SynthesisEvents::Next& next) -> asio::awaitable<bool> {
    pcm.samples.insert(pcm.samples.end(), next.samples.begin(), next.samples.end());
    pcm.sample_rate_hertz = next.sample_rate_hertz;
    co_return true;
  });
  if (!status.ok()) co_return status;
  co_return pcm;
}

asio::awaitable<bool> StreamSpeech(Context& ctx, beast::tcp_stream& stream, const Request& req, const Incoming& in,
                                   AccessRecord& record) {
  const auto& limits = ctx.options.limits;
  const auto started = std::chrono::steady_clock::now();
  // Answers with an error before any audio was sent.
  auto refuse = [&](const absl::Status& status) -> asio::awaitable<bool> {
    Response res = ErrorResponse(status);
    res.set("x-request-id", in.id);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    record.status = static_cast<int>(res.result_int());
    record.response_bytes = res.body().size();
    stream.expires_after(Seconds(limits.idle_timeout_seconds));
    auto [ec, n] = co_await http::async_write(stream, res, kAwait);
    co_return !ec;
  };

  if (req.body().size() > kMaxSpeechBodyBytes) {
    co_return co_await refuse(absl::OutOfRangeError(absl::StrCat("a speech request is limited to ", kMaxSpeechBodyBytes, " bytes")));
  }
  auto call = openai::ParseSpeechRequest(req.body());
  if (!call.ok()) co_return co_await refuse(call.status());
  in.Stamp(call->request);
  call->request.report = in.report;
  record.language = call->request.language_code;
  call->request.deadline = std::chrono::system_clock::now() + Seconds(limits.request_timeout_seconds);
  const auto timeout = Seconds(limits.request_timeout_seconds);

  EventsOwner<SynthesisEvents> events(co_await asio::this_coro::executor);
  ctx.service->Synthesize(call->request, events.observer());
  auto next = co_await events->NextAudio(timeout);
  if (next.timed_out) {
    events->Stop();
    co_return co_await refuse(absl::DeadlineExceededError("speech synthesis did not start within the request timeout"));
  }
  if (next.done && !next.done->ok()) co_return co_await refuse(*next.done);
  core::Metrics()
      .GetHistogram("voxgate_synthesis_first_audio_seconds", "From a speech request to its first synthesized audio.", core::LatencyBuckets())
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

  const int rate = next.sample_rate_hertz > 0 ? next.sample_rate_hertz : openai::kSpeechSampleRateHertz;
  auto encoder = audio::AudioEncoder::Create(call->format, rate);
  if (!encoder.ok()) {
    events->Stop();
    co_return co_await refuse(encoder.status());
  }

  http::response<http::empty_body> head{http::status::ok, 11};
  head.set(http::field::content_type, audio::ContentType(call->format));
  head.set(http::field::server, "voxgate");
  head.set("x-request-id", in.id);
  head.set("x-sample-rate", std::to_string(rate));
  head.keep_alive(req.keep_alive());
  record.status = 200;
  ChunkedResponse body(stream, Seconds(limits.idle_timeout_seconds));
  if (!co_await body.Start(std::move(head))) {
    events->Stop();
    co_return false;
  }
  auto send = [&](const std::string& bytes) -> asio::awaitable<bool> {
    const bool sent = co_await body.Send(bytes);
    record.response_bytes = body.bytes_sent();
    co_return sent;
  };

  uint64_t samples = 0;
  absl::Status failure;  // why the consumer stopped
  auto consume = [&](SynthesisEvents::Next& batch) -> asio::awaitable<bool> {
    samples += batch.samples.size();
    auto bytes = (*encoder)->Encode(batch.samples);
    if (!bytes.ok()) {
      failure = bytes.status();
    } else if (!co_await send(*bytes)) {
      failure = absl::CancelledError("the client went away");
    }
    co_return failure.ok();
  };
  // The first batch is here already; then the rest as it comes.
  // (Plain ifs: g++ 12 destroys a temporary twice in a co_await inside a conditional.)
  bool consumed = true;
  if (!next.samples.empty()) consumed = co_await consume(next);
  absl::Status status = failure;
  if (consumed && next.done) status = *next.done;
  if (consumed && !next.done) status = co_await events->ForEachAudio(timeout, consume);
  if (!failure.ok()) status = failure;
  record.audio_seconds = static_cast<double>(samples) / rate;
  if (status.ok()) {
    auto rest = (*encoder)->Finish();
    if (!rest.ok()) status = rest.status();
    if (status.ok()) {
      const bool sent = co_await send(*rest);
      if (sent) co_return co_await body.End();
    }
  }
  // The status line is gone: the connection ends without the last chunk.
  events->Stop();
  record.result = status;
  record.client_gone = status.ok() || absl::IsCancelled(status);
  co_return false;
}

}  // namespace voxgate::gateway::internal
