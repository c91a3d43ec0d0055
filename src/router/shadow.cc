#include "router/shadow.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/metrics.h"
#include "speech/word_error_rate.h"

namespace voxgate::router {
namespace {

using Clock = std::chrono::steady_clock;

// What the two sides of one shadowed stream said; reported once both are done.
class Comparison {
 public:
  Comparison(std::string request_id, std::string primary_pool, std::string shadow_pool)
      : request_id_(std::move(request_id)), primary_pool_(std::move(primary_pool)), shadow_pool_(std::move(shadow_pool)) {}

  void AddFinal(bool primary, const std::string& text) {
    std::lock_guard lock(mu_);
    if (!text.empty()) (primary ? primary_finals_ : shadow_finals_).push_back(text);
  }
  void Finished() {
    std::lock_guard lock(mu_);
    finish_ = Clock::now();
  }
  void Done(bool primary, absl::Status status) {
    {
      std::lock_guard lock(mu_);
      (primary ? primary_status_ : shadow_status_) = std::move(status);
      (primary ? primary_end_ : shadow_end_) = Clock::now();
      if (!primary_status_ || !shadow_status_) return;
    }
    Report();
  }

 private:
  void Report() {
    const std::string primary_text = absl::StrJoin(primary_finals_, " ");
    const std::string shadow_text = absl::StrJoin(shadow_finals_, " ");
    const core::Labels labels = {{"pool", primary_pool_}, {"shadow_pool", shadow_pool_}};
    std::string outcome = "compared";
    if (!primary_status_->ok()) outcome = "primary_failed";
    else if (!shadow_status_->ok()) outcome = "shadow_failed";
    nlohmann::json fields = {{"request_id", request_id_}, {"pool", primary_pool_}, {"shadow_pool", shadow_pool_},
                             {"outcome", outcome}, {"primary_text", primary_text}, {"shadow_text", shadow_text}};
    if (outcome == "compared") {
      const double wer = speech::WordErrorRate(primary_text, shadow_text);
      core::Metrics()
          .GetHistogram("voxgate_shadow_word_error_rate", "Word error rate of the shadow's transcript against the primary's.",
                        {0, 0.01, 0.05, 0.1, 0.25, 0.5, 1}, labels)
          .Observe(wer);
      fields["word_error_rate"] = wer;
      if (finish_ != Clock::time_point{}) {
        // From the end of audio, how much later (or earlier) the shadow was done.
        const double difference = std::chrono::duration<double>(*shadow_end_ - *primary_end_).count();
        core::Metrics()
            .GetHistogram("voxgate_shadow_latency_difference_seconds", "Shadow's completion time minus the primary's.",
                          {-5, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 5}, labels)
            .Observe(difference);
        fields["latency_difference_seconds"] = difference;
      }
    } else {
      fields["error"] = std::string((primary_status_->ok() ? *shadow_status_ : *primary_status_).message());
    }
    // Counted last: a scrape that sees a comparison sees its measurements too.
    core::Labels outcome_labels = labels;
    outcome_labels.emplace_back("outcome", outcome);
    core::Metrics().GetCounter("voxgate_shadow_comparisons_total", "Shadowed streams by outcome.", outcome_labels).Increment();
    core::LogInfo("shadow comparison", fields);
  }

  std::mutex mu_;
  const std::string request_id_, primary_pool_, shadow_pool_;
  std::vector<std::string> primary_finals_, shadow_finals_;
  std::optional<absl::Status> primary_status_, shadow_status_;
  Clock::time_point finish_{};
  std::optional<Clock::time_point> primary_end_, shadow_end_;
};

class PrimaryObserver : public speech::RecognitionObserver {
 public:
  PrimaryObserver(speech::RecognitionObserverPtr client, std::shared_ptr<Comparison> comparison)
      : client_(std::move(client)), comparison_(std::move(comparison)) {}
  void OnResult(speech::RecognitionResult r) override {
    if (r.is_final) comparison_->AddFinal(true, r.transcript);
    client_->OnResult(std::move(r));
  }
  void OnReadyForAudio() override { client_->OnReadyForAudio(); }
  void OnDone(absl::Status status) override {
    comparison_->Done(true, status);
    client_->OnDone(std::move(status));
    client_.reset();
  }

 private:
  speech::RecognitionObserverPtr client_;
  std::shared_ptr<Comparison> comparison_;
};

// The shadow's side: its stream lives until it is done, whatever the client does after Finish.
class Shadow : public speech::RecognitionObserver, public std::enable_shared_from_this<Shadow> {
 public:
  explicit Shadow(std::shared_ptr<Comparison> comparison) : comparison_(std::move(comparison)) {}

  void Start(speech::SpeechService& service, speech::RecognitionConfig config) {
    config.report = nullptr;  // the client's access line is about the primary only
    auto stream = service.StartRecognition(config, shared_from_this());
    std::lock_guard lock(mu_);
    if (stream.ok()) {
      stream_ = std::move(*stream);
    } else {
      comparison_->Done(false, stream.status());
    }
  }
  void Write(std::span<const int16_t> samples) {
    std::lock_guard lock(mu_);
    if (stream_ == nullptr) return;
    // Never hold the primary back: a shadow that cannot keep up is let go.
    if (absl::Status s = stream_->Write(samples); !s.ok() && !absl::IsFailedPrecondition(s)) {
      fell_behind_ = true;
      stream_->Cancel();
    }
  }
  void Finish() {
    std::lock_guard lock(mu_);
    if (stream_ != nullptr) stream_->Finish();
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    if (stream_ != nullptr) stream_->Cancel();
  }

  void OnResult(speech::RecognitionResult r) override {
    if (r.is_final) comparison_->AddFinal(false, r.transcript);
  }
  void OnDone(absl::Status status) override {
    speech::RecognitionStreamPtr stream;
    {
      std::lock_guard lock(mu_);
      stream = std::move(stream_);
      if (fell_behind_) status = absl::ResourceExhaustedError("the shadow fell behind the primary and was let go");
    }
    comparison_->Done(false, std::move(status));
  }

 private:
  std::mutex mu_;
  std::shared_ptr<Comparison> comparison_;
  speech::RecognitionStreamPtr stream_;
  bool fell_behind_ = false;
};

class ShadowedStream : public speech::RecognitionStream {
 public:
  ShadowedStream(speech::RecognitionStreamPtr primary, std::shared_ptr<Shadow> shadow, std::shared_ptr<Comparison> comparison)
      : primary_(std::move(primary)), shadow_(std::move(shadow)), comparison_(std::move(comparison)) {}
  ~ShadowedStream() override {
    if (!finished_) shadow_->Cancel();  // a finished shadow runs on until it is done
  }
  absl::Status Write(std::span<const int16_t> samples) override {
    absl::Status s = primary_->Write(samples);
    if (s.ok()) shadow_->Write(samples);
    return s;
  }
  void Finish() override {
    finished_ = true;
    comparison_->Finished();
    primary_->Finish();
    shadow_->Finish();
  }
  void Cancel() override {
    primary_->Cancel();
    shadow_->Cancel();
  }

 private:
  speech::RecognitionStreamPtr primary_;
  std::shared_ptr<Shadow> shadow_;
  std::shared_ptr<Comparison> comparison_;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<speech::RecognitionStreamPtr> StartShadowed(const speech::RecognitionConfig& config,
                                                           speech::RecognitionObserverPtr observer,
                                                           const PoolRef& primary, const PoolRef& shadow) {
  auto comparison = std::make_shared<Comparison>(config.request_id, primary.name, shadow.name);
  auto primary_stream = primary.service->StartRecognition(config, std::make_shared<PrimaryObserver>(std::move(observer), comparison));
  if (!primary_stream.ok()) return primary_stream.status();
  auto shadow_side = std::make_shared<Shadow>(comparison);
  shadow_side->Start(*shadow.service, config);
  return std::make_unique<ShadowedStream>(std::move(*primary_stream), std::move(shadow_side), std::move(comparison));
}

}  // namespace voxgate::router
