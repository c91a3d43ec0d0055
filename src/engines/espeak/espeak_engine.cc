#include "engines/espeak/espeak_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "speech/text.h"
#include "absl/strings/str_format.h"
#include "audio/pcm.h"
#include "audio/resampler.h"
#include "engines/espeak/internal/synthesizer.h"

namespace voxgate::engines::espeak {
namespace {

constexpr char kModel[] = "espeak-ng";
// espeak's silence is digital zero; anything louder than this (~-60 dBFS) is speech.
constexpr int kSilenceLevel = 32;

bool HasSound(std::span<const int16_t> samples) {
  return std::any_of(samples.begin(), samples.end(), [](int16_t s) { return std::abs(static_cast<int>(s)) > kSilenceLevel; });
}

std::chrono::steady_clock::time_point SteadyDeadline(std::chrono::system_clock::time_point deadline) {
  // Bounded, so that a deadline of time_point::max() does not overflow the steady clock.
  const auto left = std::clamp<std::chrono::system_clock::duration>(deadline - std::chrono::system_clock::now(),
                                                                    std::chrono::system_clock::duration::zero(), std::chrono::hours(24));
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

}  // namespace

absl::Status ValidateText(std::string_view text, size_t max_chars) {
  if (absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())).empty()) {
    return absl::InvalidArgumentError("empty text: there is nothing to speak");
  }
  size_t chars = 0;
  if (absl::Status s = speech::CheckPlainText(text, &chars); !s.ok()) return s;
  if (chars > max_chars) {
    return absl::OutOfRangeError(absl::StrCat("text of ", chars, " characters exceeds the limit of ", max_chars, " characters; split it"));
  }
  return absl::OkStatus();
}

struct EspeakEngine::Job {
  internal::Utterance utterance;
  std::string voice;  // as the client named it, for messages
  std::optional<audio::Resampler> resampler;
  int sample_rate_hertz = 0;  // of the audio sent
  size_t max_samples = 0;     // of espeak's audio
  std::chrono::steady_clock::time_point deadline;
  speech::SynthesisObserverPtr observer;
  speech::CallReportPtr report;  // the engine's compute time goes here; may be null
};

absl::StatusOr<std::shared_ptr<EspeakEngine>> EspeakEngine::Create(Options options) {
  if (options.capacity < 1) return absl::InvalidArgumentError("capacity must be at least 1");
  auto synthesizer = internal::Synthesizer::Get(options.data_path);
  if (!synthesizer.ok()) return synthesizer.status();
  auto catalog = internal::VoiceCatalog::Build((*synthesizer)->installation(), options.languages);
  if (!catalog.ok()) return catalog.status();
  return std::shared_ptr<EspeakEngine>(new EspeakEngine(std::move(options), *synthesizer, std::move(*catalog)));
}

EspeakEngine::EspeakEngine(Options options, internal::Synthesizer* synthesizer, internal::VoiceCatalog catalog)
    : options_(std::move(options)),
      synthesizer_(synthesizer),
      catalog_(std::move(catalog)),
      sample_rate_hertz_(synthesizer->installation().sample_rate_hertz) {}

void EspeakEngine::Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) {
  auto fail = [&observer](absl::Status status) { observer->OnDone(std::move(status)); };
  if (!request.model.empty() && request.model != kModel) {
    return fail(absl::NotFoundError(absl::StrCat("no model \"", request.model.substr(0, 64), "\" here; this engine's model is ", kModel)));
  }
  if (absl::Status valid = ValidateText(request.text, options_.max_text_chars); !valid.ok()) return fail(std::move(valid));
  auto voice = catalog_.Resolve(request.voice, request.language_code);
  if (!voice.ok()) return fail(voice.status());
  const double wpm = request.speaking_rate * kNormalWordsPerMinute;
  if (!(wpm >= kMinWordsPerMinute - 0.5 && wpm <= kMaxWordsPerMinute + 0.5)) {  // also NaN
    return fail(absl::InvalidArgumentError(absl::StrFormat(
        "speaking rate %g is out of range: espeak-ng speaks from %.2f to %.2f times its normal speed (%d to %d words per minute)",
        request.speaking_rate, double{kMinWordsPerMinute} / kNormalWordsPerMinute, double{kMaxWordsPerMinute} / kNormalWordsPerMinute,
        kMinWordsPerMinute, kMaxWordsPerMinute)));
  }
  const int rate = request.sample_rate_hertz == 0 ? sample_rate_hertz_ : request.sample_rate_hertz;
  auto resampler = audio::Resampler::Create(sample_rate_hertz_, rate);
  if (!resampler.ok()) return fail(resampler.status());

  auto job = std::make_shared<Job>();
  job->utterance = {voice->espeak_voice, static_cast<int>(std::lround(wpm)), voice->pitch, std::move(request.text)};
  job->voice = voice->name;
  job->resampler.emplace(std::move(*resampler));
  job->sample_rate_hertz = rate;
  job->max_samples = static_cast<size_t>(options_.max_audio_seconds * sample_rate_hertz_);
  job->deadline = SteadyDeadline(request.deadline);
  job->observer = std::move(observer);
  job->report = std::move(request.report);
  {
    std::unique_lock lock(mu_);
    if (draining_) {
      lock.unlock();
      return job->observer->OnDone(absl::AbortedError("the engine is shutting down; retry on another instance"));
    }
    if (in_engine_ >= options_.capacity) {
      lock.unlock();
      return job->observer->OnDone(absl::ResourceExhaustedError(absl::StrCat(
          "all ", options_.capacity, " synthesis slots of this engine are taken (requests speaking or waiting); retry shortly")));
    }
    in_engine_++;
    unfinished_++;
  }
  // The job keeps the engine alive until it is done.
  synthesizer_->Post([self = shared_from_this(), job] { self->Run(*job); });
}

void EspeakEngine::Run(Job& job) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = Speak(job);
  if (job.report) job.report->AddEngineSeconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  {
    std::lock_guard lock(mu_);
    in_engine_--;  // before OnDone: a client that sends its next request at once finds the slot free
  }
  job.observer->OnDone(std::move(status));
  job.observer.reset();
  std::lock_guard lock(mu_);
  unfinished_--;
  idle_cv_.notify_all();
}

absl::Status EspeakEngine::Speak(Job& job) {
  if (std::chrono::steady_clock::now() >= job.deadline) {
    return absl::DeadlineExceededError("the synthesis waited past its deadline before it could start");
  }
  // Leading silence is held back until sound comes, so that a text with nothing to speak (only
  // punctuation, say) gets a clear error instead of a clip of silence. espeak makes it in
  // microseconds, so holding it barely delays the first chunk.
  std::vector<int16_t> held;
  bool sounded = false;
  size_t made = 0;
  enum class Stop { kNone, kClient, kTooLong, kDeadline } stop = Stop::kNone;
  auto send = [&](std::span<const int16_t> samples) {
    const std::vector<int16_t> out = job.resampler->Process(samples);
    return out.empty() || job.observer->OnAudio(out, job.sample_rate_hertz);
  };
  const absl::Status spoken = synthesizer_->Speak(job.utterance, [&](std::span<const int16_t> chunk) {
    made += chunk.size();
    if (made > job.max_samples) {
      stop = Stop::kTooLong;
      return false;
    }
    if (std::chrono::steady_clock::now() >= job.deadline) {
      stop = Stop::kDeadline;
      return false;
    }
    if (!sounded) {
      held.insert(held.end(), chunk.begin(), chunk.end());
      if (!HasSound(chunk)) return true;
      sounded = true;
      chunk = held;
    }
    if (!send(chunk)) {
      stop = Stop::kClient;
      return false;
    }
    return true;
  });
  switch (stop) {
    case Stop::kClient:
      return absl::CancelledError("the receiver stopped the synthesis");
    case Stop::kTooLong:
      return absl::OutOfRangeError(absl::StrFormat("the text makes more than %g s of audio, the limit per request; split it",
                                                   options_.max_audio_seconds));
    case Stop::kDeadline:
      return absl::DeadlineExceededError(
          absl::StrFormat("the synthesis did not finish before its deadline (%.1f s of audio made)", double(made) / sample_rate_hertz_));
    case Stop::kNone:
      break;
  }
  if (!spoken.ok()) return spoken;
  if (!sounded) {
    return absl::InvalidArgumentError(
        absl::StrCat("nothing to speak: voice ", job.voice, " pronounces nothing in this text (only punctuation or spaces?)"));
  }
  const std::vector<int16_t> tail = job.resampler->Flush();
  if (!tail.empty() && !job.observer->OnAudio(tail, job.sample_rate_hertz)) {
    return absl::CancelledError("the receiver stopped the synthesis");
  }
  return absl::OkStatus();
}

absl::StatusOr<speech::Capabilities> EspeakEngine::Describe() {
  speech::Capabilities caps;
  caps.engine = "espeak-ng";
  caps.version = synthesizer_->installation().version;
  speech::ModelInfo model;
  model.name = kModel;
  model.service = "tts";
  model.language_codes = catalog_.language_codes();
  model.sample_rate_hertz = sample_rate_hertz_;
  model.voices = catalog_.listed();
  caps.models.push_back(std::move(model));
  caps.capacity = options_.capacity;
  std::lock_guard lock(mu_);
  caps.active_streams = in_engine_;
  return caps;
}

bool EspeakEngine::IsServing() {
  std::lock_guard lock(mu_);
  return !draining_;
}

absl::StatusOr<speech::RecognitionStreamPtr> EspeakEngine::StartRecognition(const speech::RecognitionConfig&,
                                                                            speech::RecognitionObserverPtr) {
  return absl::UnimplementedError("espeak-ng synthesizes speech; it does not recognize speech");
}

void EspeakEngine::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

bool EspeakEngine::AwaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return unfinished_ == 0; });
}

}  // namespace voxgate::engines::espeak
