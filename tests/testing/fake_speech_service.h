// A SpeechService for unit tests of the tiers: it "recognizes" by counting samples. Each Write
// yields a partial "n samples"; Finish yields the final "n samples" and OnDone(OK). It
// "translates" en → es by prefixing "[es] " and "speaks" a text as one 160-sample chunk per
// character, chunk i filled with the value i + 1 (both at once, on the caller's thread). Work happens
// on the fake's own thread, as in a real engine, so observers are never called from Write.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "speech/speech_service.h"

namespace voxgate::testing {

class FakeSpeechService : public speech::SpeechService {
 public:
  explicit FakeSpeechService(int capacity = 4, size_t max_buffered_samples = 1 << 20)
      : capacity_(capacity), max_buffered_(max_buffered_samples), worker_([this] { Run(); }) {}
  ~FakeSpeechService() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override {
    std::lock_guard lock(mu_);
    if (config.language_code != "en-US") return absl::NotFoundError("fake serves en-US only");
    if (active_ >= capacity_) {
      refusals_++;
      return absl::ResourceExhaustedError("fake is full");
    }
    active_++;
    started_++;
    last_config_ = config;
    auto state = std::make_shared<State>();
    state->observer = std::move(observer);
    state->index = started_ - 1;
    return std::make_unique<Stream>(this, state);
  }
  absl::StatusOr<speech::Capabilities> Describe() override {
    std::lock_guard lock(mu_);
    speech::Capabilities c;
    c.engine = "fake";
    c.capacity = capacity_;
    c.active_streams = active_;
    c.incomplete = incomplete_;
    c.models.push_back({"fake-model", "asr", {"en-US"}, {}, 16000, {}});
    c.models.push_back({"fake-mt", "mt", {"en"}, {"es"}, 0, {}});
    c.models.push_back({"fake-tts", "tts", {"en-US"}, {}, 16000, {{"fake-voice", "en-US", "female"}}});
    return c;
  }
  bool IsServing() override { return serving_; }
  void set_serving(bool serving) { serving_ = serving; }
  // Describes itself as a tier none of whose engines has said what it serves yet.
  void set_incomplete(bool incomplete) { incomplete_ = incomplete; }
  void Translate(speech::TranslationRequest request, speech::TranslationCallback done) override {
    absl::Status fail;
    {
      std::lock_guard lock(mu_);
      translations_++;
      last_language_ = request.source_language;
      fail = fail_with_.ok() ? fail_translations_with_ : fail_with_;
    }
    if (!fail.ok()) return done(fail);
    if (request.texts.empty()) return done(absl::InvalidArgumentError("nothing to translate"));
    speech::TranslationResponse response{{}, "fake-mt"};
    for (const auto& t : request.texts) response.texts.push_back("[" + request.target_language + "] " + t);
    done(std::move(response));
  }
  void Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) override {
    absl::Status fail;
    {
      std::lock_guard lock(mu_);
      syntheses_++;
      last_language_ = request.language_code;
      fail = fail_with_;
    }
    if (!fail.ok()) return observer->OnDone(fail);
    if (request.text.empty()) return observer->OnDone(absl::InvalidArgumentError("nothing to speak"));
    if (!request.voice.empty() && request.voice != "fake-voice") return observer->OnDone(absl::NotFoundError("unknown voice"));
    const int rate = request.sample_rate_hertz > 0 ? request.sample_rate_hertz : 16000;
    for (size_t i = 0; i < request.text.size(); ++i) {
      const std::vector<int16_t> chunk(160, static_cast<int16_t>(i + 1));
      if (!observer->OnAudio(chunk, rate)) return observer->OnDone(absl::CancelledError("stopped"));
    }
    observer->OnDone(absl::OkStatus());
  }
  int syntheses() {
    std::lock_guard lock(mu_);
    return syntheses_;
  }
  int translations() {
    std::lock_guard lock(mu_);
    return translations_;
  }

  // Final transcripts from now on end with " <suffix>" (an engine that answers differently).
  void SetFinalSuffix(std::string suffix) {
    std::lock_guard lock(mu_);
    final_suffix_ = std::move(suffix);
  }
  // Every stream from now on ends with `status` as soon as it gets audio (an engine that answers
  // health checks but fails its work).
  void FailStreamsWith(absl::Status status) {
    std::lock_guard lock(mu_);
    fail_with_ = std::move(status);
  }
  // Every translation from now on fails with `status`; streams go on.
  void FailTranslationsWith(absl::Status status) {
    std::lock_guard lock(mu_);
    fail_translations_with_ = std::move(status);
  }
  // What Describe reports and StartRecognition allows from now on.
  void SetCapacity(int capacity) {
    std::lock_guard lock(mu_);
    capacity_ = capacity;
  }
  // Partials from now on carry no words, only how much audio was consumed (an engine hearing
  // silence).
  void SetPartialsReportOnlyProgress(bool only_progress) {
    std::lock_guard lock(mu_);
    only_progress_ = only_progress;
  }
  // While held, the `index`-th stream started (from 0) gets nothing done; others go on (an
  // engine that starves one stream).
  void HoldStream(int index, bool held) {
    {
      std::lock_guard lock(mu_);
      if (held) {
        held_.insert(index);
      } else {
        held_.erase(index);
      }
    }
    cv_.notify_all();
  }
  // While paused the worker consumes nothing (to fill buffers in flow-control tests).
  void SetPaused(bool paused) {
    {
      std::lock_guard lock(mu_);
      paused_ = paused;
    }
    cv_.notify_all();
  }
  int active() {
    std::lock_guard lock(mu_);
    return active_;
  }
  // Streams whose caller said it had sent all its audio.
  int finishes() {
    std::lock_guard lock(mu_);
    return finishes_;
  }
  // Streams refused as over capacity.
  int refusals() {
    std::lock_guard lock(mu_);
    return refusals_;
  }
  int started() {
    std::lock_guard lock(mu_);
    return started_;
  }
  speech::RecognitionConfig last_config() {
    std::lock_guard lock(mu_);
    return last_config_;
  }
  // The source language of the last translation, or the language of the last synthesis.
  std::string last_language() {
    std::lock_guard lock(mu_);
    return last_language_;
  }

 private:
  struct State {
    speech::RecognitionObserverPtr observer;
    size_t buffered = 0;
    size_t total = 0;
    int index = 0;  // of the streams started
    bool refused = false;
    bool finished = false;
    bool cancelled = false;
    bool done = false;
  };
  struct Work {
    std::shared_ptr<State> state;
    size_t samples;  // 0 with end=true: the end of the stream
    bool end;
  };

  class Stream : public speech::RecognitionStream {
   public:
    Stream(FakeSpeechService* f, std::shared_ptr<State> s) : fake_(f), state_(std::move(s)) {}
    ~Stream() override { Cancel(); }
    absl::Status Write(std::span<const int16_t> samples) override {
      std::lock_guard lock(fake_->mu_);
      if (state_->finished || state_->cancelled) return absl::FailedPreconditionError("ended");
      if (state_->buffered + samples.size() > fake_->max_buffered_) {
        state_->refused = true;
        return absl::ResourceExhaustedError("fake buffer full");
      }
      state_->buffered += samples.size();
      fake_->work_.push_back({state_, samples.size(), false});
      fake_->cv_.notify_all();
      return absl::OkStatus();
    }
    void Finish() override {
      std::lock_guard lock(fake_->mu_);
      if (state_->finished || state_->cancelled) return;
      state_->finished = true;
      fake_->finishes_++;
      fake_->work_.push_back({state_, 0, true});
      fake_->cv_.notify_all();
    }
    void Cancel() override {
      std::lock_guard lock(fake_->mu_);
      if (state_->finished || state_->cancelled) return;
      state_->cancelled = true;
      fake_->work_.push_back({state_, 0, true});
      fake_->cv_.notify_all();
    }

   private:
    FakeSpeechService* fake_;
    std::shared_ptr<State> state_;
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      auto next = work_.end();
      cv_.wait(lock, [&] {
        next = std::find_if(work_.begin(), work_.end(), [&](const Work& w) { return !held_.contains(w.state->index); });
        return stop_ || (!paused_ && next != work_.end());
      });
      if (stop_) return;
      Work w = std::move(*next);
      work_.erase(next);
      State& s = *w.state;
      if (s.done) continue;
      auto observer = s.observer;
      if (!fail_with_.ok()) {
        s.done = true;
        active_--;
        s.observer.reset();
        const absl::Status status = fail_with_;
        lock.unlock();
        observer->OnDone(status);
        lock.lock();
        continue;
      }
      if (!w.end) {
        s.buffered -= w.samples;
        s.total += w.samples;
        const bool ready = s.refused && s.buffered <= max_buffered_ / 2;
        if (ready) s.refused = false;
        speech::RecognitionResult partial;
        if (!only_progress_) partial.transcript = std::to_string(s.total) + " samples";
        partial.audio_consumed_seconds = static_cast<double>(s.total) / 16000;
        lock.unlock();
        observer->OnResult(partial);
        if (ready) observer->OnReadyForAudio();
        lock.lock();
        continue;
      }
      s.done = true;
      active_--;
      const bool cancelled = s.cancelled;
      speech::RecognitionResult final_result;
      final_result.is_final = true;
      final_result.stability = 1;
      final_result.transcript = std::to_string(s.total) + " samples" + (final_suffix_.empty() ? "" : " " + final_suffix_);
      final_result.end_seconds = s.total / 16000.0;
      final_result.words.push_back({"samples", 0, final_result.end_seconds, 0.9f});
      s.observer.reset();
      lock.unlock();
      if (cancelled) {
        observer->OnDone(absl::CancelledError("cancelled"));
      } else {
        observer->OnResult(final_result);
        observer->OnDone(absl::OkStatus());
      }
      lock.lock();
    }
  }

  int capacity_;
  const size_t max_buffered_;
  std::atomic<bool> serving_{true};
  std::atomic<bool> incomplete_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> work_;
  int active_ = 0;
  int started_ = 0;
  int refusals_ = 0;
  int finishes_ = 0;
  int translations_ = 0;
  int syntheses_ = 0;
  bool paused_ = false;
  std::set<int> held_;
  bool only_progress_ = false;
  bool stop_ = false;
  absl::Status fail_with_;
  absl::Status fail_translations_with_;
  std::string final_suffix_;
  speech::RecognitionConfig last_config_;
  std::string last_language_;
  std::thread worker_;
};

// Collects what an observer is told, with bounded waits.
class RecordingObserver : public speech::RecognitionObserver {
 public:
  void OnResult(speech::RecognitionResult r) override {
    std::lock_guard lock(mu_);
    results_.push_back(std::move(r));
    cv_.notify_all();
  }
  void OnDone(absl::Status s) override {
    std::lock_guard lock(mu_);
    done_count_++;
    status_ = std::move(s);
    cv_.notify_all();
  }
  void OnReadyForAudio() override {
    std::lock_guard lock(mu_);
    ready_count_++;
    cv_.notify_all();
  }
  // False if OnDone did not come within `timeout`.
  bool WaitDone(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_count_ > 0; });
  }
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return ready_count_ > 0; });
  }
  std::vector<speech::RecognitionResult> results() {
    std::lock_guard lock(mu_);
    return results_;
  }
  absl::Status status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  int done_count() {
    std::lock_guard lock(mu_);
    return done_count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<speech::RecognitionResult> results_;
  absl::Status status_;
  int done_count_ = 0;
  int ready_count_ = 0;
};

}  // namespace voxgate::testing
