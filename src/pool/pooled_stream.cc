#include "pool/pooled_stream.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/log.h"

namespace voxgate::pool {
namespace {

constexpr size_t kMaxChunkSamples = 16000;  // what one Write to an engine carries at most
// An engine waiting for more audio may keep back this much it has not consumed (pocketsphinx
// decodes whole 100 ms pieces): a client that pauses there is owed nothing.
constexpr double kMaxHeldBackSeconds = 0.25;

}  // namespace

bool IsEngineFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

class PooledStream::Handle : public speech::RecognitionStream {
 public:
  explicit Handle(std::shared_ptr<PooledStream> stream) : stream_(std::move(stream)) {}
  ~Handle() override { stream_->Cancel(); }
  absl::Status Write(std::span<const int16_t> samples) override { return stream_->Write(samples); }
  void Finish() override { stream_->Finish(); }
  void Cancel() override { stream_->Cancel(); }

 private:
  std::shared_ptr<PooledStream> stream_;
};

// Receives one engine call's callbacks; `attempt` tells a live call from an abandoned one.
class PooledStream::EngineObserver : public speech::RecognitionObserver {
 public:
  EngineObserver(std::shared_ptr<PooledStream> stream, uint64_t attempt, size_t engine)
      : stream_(std::move(stream)), attempt_(attempt), engine_(engine) {}
  void OnResult(speech::RecognitionResult result) override { stream_->OnEngineResult(attempt_, std::move(result)); }
  void OnReadyForAudio() override { stream_->OnEngineReady(attempt_); }
  void OnDone(absl::Status status) override {
    auto stream = std::move(stream_);
    stream->OnEngineDone(attempt_, engine_, std::move(status));
  }

 private:
  std::shared_ptr<PooledStream> stream_;
  const uint64_t attempt_;
  const size_t engine_;
};

PooledStream::PooledStream(Options options, speech::RecognitionConfig config, speech::RecognitionObserverPtr client,
                           std::shared_ptr<EngineSource> source)
    : options_(options),
      config_(std::move(config)),
      rate_(std::max(1, config_.sample_rate_hertz)),
      max_replay_samples_(static_cast<size_t>(options.max_replay_seconds * rate_)),
      max_backlog_samples_(std::max<size_t>(1, static_cast<size_t>(options.max_backlog_seconds * rate_))),
      max_held_back_samples_(std::llround(kMaxHeldBackSeconds * rate_)),
      source_(std::move(source)),
      client_(std::move(client)),
      created_(options_.clock->Now()) {}

std::optional<double> PooledStream::ReportPlacement(const std::string& pool, const std::string& engine) {
  std::lock_guard lock(mu_);
  if (config_.report) config_.report->SetPlacement(pool, engine);
  if (placed_) return std::nullopt;
  placed_ = true;
  const double waited = std::chrono::duration<double>(options_.clock->Now() - created_).count();
  if (config_.report) config_.report->AddQueueSeconds(waited);
  return waited;
}

speech::RecognitionStreamPtr PooledStream::MakeHandle(std::shared_ptr<PooledStream> stream) {
  return std::make_unique<Handle>(std::move(stream));
}

absl::Status PooledStream::Attach(size_t engine, speech::SpeechService& service) {
  speech::RecognitionObserverPtr ready;
  bool gone;
  {
    std::lock_guard lock(mu_);
    gone = cancelled_ || done_;
    if (!gone) {
      const uint64_t attempt = attempt_ + 1;
      auto call = service.StartRecognition(config_, std::make_shared<EngineObserver>(shared_from_this(), attempt, engine));
      if (!call.ok()) return call.status();
      attempt_ = attempt;
      engine_stream_ = std::move(*call);
      engine_ = engine;
      call_offset_ = replay_base_;
      sent_ = replay_base_;
      consumed_ = -1;
      last_progress_ = options_.clock->Now();
      last_result_ = {};
      finish_sent_ = false;
      PumpLocked();
      // The client may have been held back while the stream waited for this engine.
      ready = ClientReadyLocked();
    }
  }
  if (gone) {
    Complete(absl::CancelledError("the stream was cancelled"));
    return absl::CancelledError("the stream was cancelled");
  }
  if (ready != nullptr) ready->OnReadyForAudio();
  return absl::OkStatus();
}

void PooledStream::Fail(absl::Status status) { Complete(std::move(status)); }

bool PooledStream::wants_engine() {
  std::lock_guard lock(mu_);
  return !done_ && !cancelled_;
}

void PooledStream::EngineLost(size_t engine) { LeaveEngine(engine, absl::UnavailableError("the engine left rotation")); }

bool PooledStream::AnsweredOn(size_t engine, core::TimePoint since) {
  std::lock_guard lock(mu_);
  return engine_ == engine && last_result_ > since;
}

bool PooledStream::AwaitingEngineLocked() const {
  return engine_stream_ != nullptr && (finish_sent_ || (consumed_ >= 0 && sent_ - consumed_ > max_held_back_samples_));
}

void PooledStream::CheckProgress() {
  const auto timeout = std::chrono::duration<double>(options_.result_timeout_seconds);
  size_t engine;
  {
    std::lock_guard lock(mu_);
    if (done_ || !engine_ || !AwaitingEngineLocked() || options_.clock->Now() - last_progress_ < timeout) return;
    engine = *engine_;
  }
  const auto why = absl::DeadlineExceededError(
      absl::StrCat("the engine gave no result for ", options_.result_timeout_seconds, " s"));
  source_->ReportEngineFailure(engine, why);
  LeaveEngine(engine, why);
}

void PooledStream::LeaveEngine(size_t engine, const absl::Status& why) {
  std::optional<absl::Status> end;
  speech::RecognitionStreamPtr abandoned;
  {
    std::lock_guard lock(mu_);
    if (done_ || engine_ != engine || engine_stream_ == nullptr) return;
    abandoned = std::move(engine_stream_);
    abandoned->Cancel();
    end = BeginFailoverLocked(why);
  }
  abandoned.reset();
  if (end) return Complete(*end);
  source_->RequestEngine(shared_from_this(), engine);
}

absl::Status PooledStream::Write(std::span<const int16_t> samples) {
  std::lock_guard lock(mu_);
  if (done_ || finished_ || cancelled_) return absl::FailedPreconditionError("the stream has ended");
  // One write larger than the bound is taken when nothing waits (else it could never be).
  if (written_ > sent_ && static_cast<size_t>(written_ - sent_) + samples.size() > max_backlog_samples_) {
    client_refused_ = true;
    return absl::ResourceExhaustedError("the engine is behind the audio; wait");
  }
  audio_.insert(audio_.end(), samples.begin(), samples.end());
  written_ += static_cast<int64_t>(samples.size());
  // Past the replay bound, audio the engine already has is let go: this stream can no longer be
  // resumed elsewhere until its next final result.
  if (audio_.size() > max_replay_samples_) {
    const int64_t drop = std::min<int64_t>(static_cast<int64_t>(audio_.size() - max_replay_samples_), sent_ - replay_base_);
    if (drop > 0) {
      audio_.erase(audio_.begin(), audio_.begin() + drop);
      replay_base_ += drop;
      replay_complete_ = false;
    }
  }
  if (engine_stream_ != nullptr) PumpLocked();
  return absl::OkStatus();
}

void PooledStream::Finish() {
  std::lock_guard lock(mu_);
  if (done_ || finished_ || cancelled_) return;
  finished_ = true;
  if (engine_stream_ != nullptr) PumpLocked();
}

void PooledStream::Cancel() {
  {
    std::lock_guard lock(mu_);
    if (done_ || cancelled_) return;
    cancelled_ = true;
    if (engine_stream_ != nullptr) {
      // The engine's OnDone(CANCELLED) ends the stream.
      engine_stream_->Cancel();
      return;
    }
  }
  // Waiting for an engine: the pool ends it (never from inside this call).
  source_->Withdraw(this);
}

void PooledStream::PumpLocked() {
  // The result timeout counts from when the engine began to owe an answer.
  const bool was_awaiting = AwaitingEngineLocked();
  SendLocked();
  if (!was_awaiting && AwaitingEngineLocked()) last_progress_ = options_.clock->Now();
}

void PooledStream::SendLocked() {
  std::vector<int16_t> chunk;
  while (sent_ < written_) {
    const auto from = audio_.begin() + (sent_ - replay_base_);
    const size_t n = std::min<size_t>(kMaxChunkSamples, static_cast<size_t>(written_ - sent_));
    chunk.assign(from, from + static_cast<std::ptrdiff_t>(n));
    absl::Status s = engine_stream_->Write(chunk);
    if (!s.ok()) return;  // RESOURCE_EXHAUSTED: OnReadyForAudio resumes; else OnDone follows
    sent_ += static_cast<int64_t>(n);
  }
  if (finished_ && !finish_sent_) {
    finish_sent_ = true;
    engine_stream_->Finish();
  }
}

speech::RecognitionObserverPtr PooledStream::ClientReadyLocked() {
  if (!client_refused_ || static_cast<size_t>(written_ - sent_) > max_backlog_samples_ / 2) return nullptr;
  client_refused_ = false;
  return client_;
}

void PooledStream::OnEngineResult(uint64_t attempt, speech::RecognitionResult result) {
  std::lock_guard deliver(deliver_mu_);
  speech::RecognitionObserverPtr client;
  {
    std::lock_guard lock(mu_);
    if (done_ || attempt != attempt_) return;
    client = client_;
    last_progress_ = last_result_ = options_.clock->Now();
    if (result.audio_consumed_seconds > 0) {
      consumed_ = call_offset_ + std::llround(result.audio_consumed_seconds * rate_);
    }
    // The engine counts time from where its call started; the client from its stream's start.
    const double offset = static_cast<double>(call_offset_) / rate_;
    if (!speech::IsProgressOnly(result)) {
      result.start_seconds += offset;
      result.end_seconds += offset;
      for (auto& w : result.words) {
        w.start_seconds += offset;
        w.end_seconds += offset;
      }
    }
    if (result.audio_consumed_seconds > 0) {
      result.audio_consumed_seconds += offset;
      if (result.is_final) {
        // Audio before this point is never needed again: a replay starts here.
        const auto consumed = std::min<int64_t>(std::llround(result.audio_consumed_seconds * rate_), sent_);
        if (consumed > replay_base_) {
          audio_.erase(audio_.begin(), audio_.begin() + (consumed - replay_base_));
          replay_base_ = consumed;
          replay_complete_ = true;
        }
      }
    }
  }
  client->OnResult(std::move(result));
}

void PooledStream::OnEngineReady(uint64_t attempt) {
  speech::RecognitionObserverPtr client;
  {
    std::lock_guard lock(mu_);
    if (done_ || attempt != attempt_ || engine_stream_ == nullptr) return;
    PumpLocked();
    client = ClientReadyLocked();
  }
  if (client != nullptr) client->OnReadyForAudio();
}

void PooledStream::OnEngineDone(uint64_t attempt, size_t engine, absl::Status status) {
  source_->EngineStreamDone(engine, this, status);
  std::optional<absl::Status> end;
  speech::RecognitionStreamPtr call;
  {
    std::lock_guard lock(mu_);
    if (done_ || attempt != attempt_) return;  // an abandoned call
    call = std::move(engine_stream_);
    engine_.reset();
    if (absl::IsResourceExhausted(status) && !cancelled_) {
      end = BeginRetryLocked(status);
    } else if (status.ok() || cancelled_ || !IsEngineFailure(status)) {
      end = cancelled_ && status.ok() ? absl::CancelledError("the stream was cancelled") : status;
    } else {
      end = BeginFailoverLocked(status);
    }
  }
  call.reset();
  if (end) return Complete(*end);
  source_->RequestEngine(shared_from_this(), engine);
}

std::optional<absl::Status> PooledStream::BeginRetryLocked(const absl::Status& refusal) {
  engine_.reset();
  attempt_++;
  // Nothing it sent since the last final result may be lost: without it, the refusal stands.
  if (!replay_complete_) return refusal;
  core::LogInfo("engine refused the stream as full; waiting for another slot",
                {{"request_id", config_.request_id}, {"reason", std::string(refusal.message())}});
  sent_ = replay_base_;  // no engine has any of it now: none may be let go
  return std::nullopt;
}

std::optional<absl::Status> PooledStream::BeginFailoverLocked(const absl::Status& why) {
  engine_.reset();
  attempt_++;  // whatever the abandoned call still says is ignored
  if (cancelled_) return absl::CancelledError("the stream was cancelled");
  if (!replay_complete_) {
    return absl::UnavailableError(absl::StrCat("the engine failed (", why.message(), ") and the stream cannot be resumed: over ",
                                               max_replay_samples_ / rate_,
                                               " s of audio since its last final result"));
  }
  if (failovers_ >= options_.max_failovers) {
    return absl::UnavailableError(absl::StrCat("the engine failed (", why.message(), ") and the stream was already moved ",
                                               failovers_, " times"));
  }
  failovers_++;
  source_->CountFailover(static_cast<double>(sent_ - replay_base_) / rate_);
  core::LogWarning("engine failed mid-stream; resuming on another engine",
                   {{"request_id", config_.request_id}, {"reason", std::string(why.message())},
                    {"replay_seconds", static_cast<double>(written_ - replay_base_) / rate_}});
  sent_ = replay_base_;  // no engine has any of it now: none may be let go
  return std::nullopt;
}

void PooledStream::Complete(absl::Status status) {
  speech::RecognitionObserverPtr client;
  speech::RecognitionStreamPtr call;
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    client = std::move(client_);
    call = std::move(engine_stream_);
    audio_.clear();
  }
  call.reset();
  std::lock_guard deliver(deliver_mu_);
  client->OnDone(std::move(status));
}

}  // namespace voxgate::pool
