#include "engines/pocketsphinx/pocketsphinx_engine.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engines/pocketsphinx/internal/decoder.h"
#include "engines/pocketsphinx/internal/language.h"

#ifndef VOXGATE_POCKETSPHINX_VERSION
#define VOXGATE_POCKETSPHINX_VERSION "unknown"
#endif

namespace voxgate::engines::pocketsphinx {
namespace {

// The worker hands the decoder at most this much audio per call, so a Cancel waits for at most
// one such call (~15-110 ms of CPU) and the VAD's end of speech is seen within 100 ms.
constexpr size_t kPieceMilliseconds = 100;
// Partials are looked at no more often than this much audio.
constexpr size_t kPartialIntervalMilliseconds = 100;
// At least this often (in audio) the pool hears how far the engine got, results or not: it takes
// a stream whose engine says nothing for long as hung.
constexpr size_t kProgressIntervalMilliseconds = 1000;
// And when the client pauses this long, what was decoded since the last report: the engine owes
// nothing then but the part of a piece it keeps back (under kPieceMilliseconds).
constexpr absl::Duration kIdleProgressAfter = absl::Milliseconds(500);

#define VOXGATE_RETURN_IF_ERROR(expr)         \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

std::string JoinWords(const std::vector<speech::WordInfo>& words) {
  return absl::StrJoin(words, " ",
                       [](std::string* out, const speech::WordInfo& w) { out->append(w.word); });
}

void ClampTimes(std::vector<speech::WordInfo>& words, double audio_seconds) {
  for (speech::WordInfo& w : words) {
    w.start_seconds = std::clamp(w.start_seconds, 0.0, audio_seconds);
    w.end_seconds = std::clamp(w.end_seconds, w.start_seconds, audio_seconds);
  }
}

}  // namespace

// What a stream's handle and its worker share.
struct PocketsphinxEngine::StreamState {
  StreamState(speech::RecognitionConfig c, speech::RecognitionObserverPtr o, size_t max_samples,
              int rate)
      : config(std::move(c)),
        observer(std::move(o)),
        max_buffered_samples(max_samples),
        sample_rate_hertz(rate) {}

  // Asks the worker to end the stream with `why` at its next piece of audio.
  void Stop(absl::Status why) {
    absl::MutexLock lock(&mu);
    if (!done && !stop.has_value()) stop = std::move(why);
  }

  const speech::RecognitionConfig config;
  const speech::RecognitionObserverPtr observer;
  const size_t max_buffered_samples;
  const int sample_rate_hertz;

  absl::Mutex mu;
  std::deque<std::vector<int16_t>> queue ABSL_GUARDED_BY(mu);
  size_t front_offset ABSL_GUARDED_BY(mu) = 0;  // samples of queue.front() already taken
  size_t queued_samples ABSL_GUARDED_BY(mu) = 0;
  bool refused ABSL_GUARDED_BY(mu) = false;  // a Write was refused: say when there is room again
  bool finished ABSL_GUARDED_BY(mu) = false;
  bool cancelled ABSL_GUARDED_BY(mu) = false;  // by the caller
  std::optional<absl::Status> stop ABSL_GUARDED_BY(mu);
  bool done ABSL_GUARDED_BY(mu) = false;  // the worker has let go; OnDone is (being) called
};

// One decoder and the thread that drives it.
struct PocketsphinxEngine::Slot {
  std::unique_ptr<internal::Decoder> decoder;
  std::thread thread;
  // Guarded by the engine's mu_: the stream assigned to this slot (null when free), and whether
  // the worker has picked it up.
  std::shared_ptr<StreamState> stream;
  bool started = false;
};

class PocketsphinxEngine::Stream : public speech::RecognitionStream {
 public:
  explicit Stream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
  ~Stream() override { Cancel(); }

  absl::Status Write(std::span<const int16_t> samples) override {
    StreamState& s = *state_;
    absl::MutexLock lock(&s.mu);
    if (s.cancelled) return absl::FailedPreconditionError("Write after Cancel");
    if (s.finished) return absl::FailedPreconditionError("Write after Finish");
    if (s.done || s.stop.has_value()) {
      return absl::FailedPreconditionError("Write on a stream that has ended");
    }
    if (samples.empty()) return absl::OkStatus();
    if (s.queued_samples + samples.size() > s.max_buffered_samples) {
      s.refused = true;
      const double rate = s.sample_rate_hertz;
      return absl::ResourceExhaustedError(
          absl::StrCat("stream audio buffer full: ", s.queued_samples / rate, " s queued, ",
                       samples.size() / rate, " s more would exceed the bound of ",
                       s.max_buffered_samples / rate, " s"));
    }
    s.queue.emplace_back(samples.begin(), samples.end());
    s.queued_samples += samples.size();
    return absl::OkStatus();
  }

  void Finish() override {
    absl::MutexLock lock(&state_->mu);
    state_->finished = true;
  }

  void Cancel() override {
    {
      absl::MutexLock lock(&state_->mu);
      if (state_->done || state_->cancelled) return;
      state_->cancelled = true;
    }
    state_->Stop(absl::CancelledError("stream cancelled by the caller"));
  }

 private:
  std::shared_ptr<StreamState> state_;
};

absl::StatusOr<std::shared_ptr<PocketsphinxEngine>> PocketsphinxEngine::Create(
    const Options& options) {
  if (options.capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity must be at least 1, got ", options.capacity));
  }
  if (options.language_codes.empty()) {
    return absl::InvalidArgumentError("language_codes must name at least one language");
  }
  if (options.model_name.empty()) return absl::InvalidArgumentError("model_name is empty");
  if (!(options.max_buffered_seconds > 0)) {
    return absl::InvalidArgumentError("max_buffered_seconds must be positive");
  }
  const std::filesystem::path dir(options.model_dir);
  internal::DecoderOptions decoder_options;
  decoder_options.hmm_dir = (dir / options.model_name).string();
  decoder_options.lm_path = (dir / (options.model_name + ".lm.bin")).string();
  decoder_options.dict_path = (dir / ("cmudict-" + options.model_name + ".dict")).string();
  decoder_options.fast_final = options.fast_final;
  // pocketsphinx's own complaint goes to its (silenced) log; say which file is missing.
  for (const std::string& path :
       {decoder_options.hmm_dir, decoder_options.lm_path, decoder_options.dict_path}) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return absl::NotFoundError(absl::StrCat("pocketsphinx model file not found: ", path));
    }
  }

  std::vector<std::unique_ptr<internal::Decoder>> decoders;
  for (int i = 0; i < options.capacity; ++i) {
    absl::StatusOr<std::unique_ptr<internal::Decoder>> decoder =
        internal::Decoder::Create(decoder_options);
    if (!decoder.ok()) return decoder.status();
    decoders.push_back(*std::move(decoder));
  }
  const int rate = decoders.front()->sample_rate_hertz();

  std::shared_ptr<PocketsphinxEngine> engine(new PocketsphinxEngine(options, rate));
  for (auto& decoder : decoders) {
    auto slot = std::make_unique<Slot>();
    slot->decoder = std::move(decoder);
    engine->slots_.push_back(std::move(slot));
  }
  try {
    for (auto& slot : engine->slots_) {
      slot->thread = std::thread(&PocketsphinxEngine::WorkerLoop, engine.get(), slot.get());
    }
  } catch (const std::system_error& e) {
    // ~PocketsphinxEngine joins the workers already started.
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start pocketsphinx worker threads: ", e.what()));
  }
  return engine;
}

PocketsphinxEngine::PocketsphinxEngine(Options options, int sample_rate_hertz)
    : options_(std::move(options)), sample_rate_hertz_(sample_rate_hertz) {}

PocketsphinxEngine::~PocketsphinxEngine() { Shutdown(); }

absl::StatusOr<speech::RecognitionStreamPtr> PocketsphinxEngine::StartRecognition(
    const speech::RecognitionConfig& config, speech::RecognitionObserverPtr observer) {
  if (observer == nullptr) return absl::InvalidArgumentError("no observer");
  if (config.sample_rate_hertz != sample_rate_hertz_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sample_rate_hertz ", config.sample_rate_hertz, " is not supported: pocketsphinx model ",
        options_.model_name, " needs ", sample_rate_hertz_, " Hz audio"));
  }
  const bool language_served =
      std::any_of(options_.language_codes.begin(), options_.language_codes.end(),
                  [&](const std::string& served) {
                    return internal::LanguageMatches(config.language_code, served);
                  });
  if (!language_served) {
    return absl::NotFoundError(absl::StrCat("language '", config.language_code,
                                            "' is not served by pocketsphinx; it serves ",
                                            absl::StrJoin(options_.language_codes, ", ")));
  }
  if (!config.model.empty() && !absl::EqualsIgnoreCase(config.model, options_.model_name)) {
    return absl::NotFoundError(absl::StrCat("model '", config.model,
                                            "' is not served by pocketsphinx; it serves ",
                                            options_.model_name));
  }
  const auto max_samples =
      std::max<size_t>(1, static_cast<size_t>(options_.max_buffered_seconds * sample_rate_hertz_));
  auto state =
      std::make_shared<StreamState>(config, std::move(observer), max_samples, sample_rate_hertz_);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("pocketsphinx engine is shut down");
    // ABORTED, not UNAVAILABLE: the engine is alive and finishing its streams; this one should go
    // elsewhere (the pool retries it on another engine without taking this one out of rotation).
    if (draining_) return absl::AbortedError("pocketsphinx engine is draining");
    auto free_slot = std::find_if(slots_.begin(), slots_.end(),
                                  [](const auto& slot) { return slot->stream == nullptr; });
    if (free_slot == slots_.end()) {
      return absl::ResourceExhaustedError(absl::StrCat("all ", slots_.size(), " decoders busy"));
    }
    (*free_slot)->stream = state;
    (*free_slot)->started = false;
    ++active_streams_;
  }
  return std::make_unique<Stream>(std::move(state));
}

absl::StatusOr<speech::Capabilities> PocketsphinxEngine::Describe() {
  speech::Capabilities caps;
  caps.engine = "pocketsphinx";
  caps.version = VOXGATE_POCKETSPHINX_VERSION;
  speech::ModelInfo model;
  model.name = options_.model_name;
  model.service = "asr";
  model.language_codes = options_.language_codes;
  model.sample_rate_hertz = sample_rate_hertz_;
  caps.models.push_back(std::move(model));
  caps.capacity = static_cast<int>(slots_.size());
  absl::MutexLock lock(&mu_);
  caps.active_streams = active_streams_;
  return caps;
}

bool PocketsphinxEngine::IsServing() {
  absl::MutexLock lock(&mu_);
  return !draining_ && !stopping_;
}

void PocketsphinxEngine::Drain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool PocketsphinxEngine::AwaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_streams_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

void PocketsphinxEngine::Shutdown() {
  std::vector<std::shared_ptr<StreamState>> open;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const auto& slot : slots_) {
      if (slot->stream != nullptr) open.push_back(slot->stream);
    }
  }
  for (const auto& stream : open) {
    stream->Stop(absl::UnavailableError("pocketsphinx engine is shutting down"));
  }
  absl::MutexLock lock(&join_mu_);
  for (const auto& slot : slots_) {
    if (slot->thread.joinable()) slot->thread.join();
  }
}

void PocketsphinxEngine::WorkerLoop(Slot* slot) {
  for (;;) {
    std::shared_ptr<StreamState> stream;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, slot]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return (slot->stream != nullptr && !slot->started) || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      // A stream assigned before Shutdown still gets its OnDone (UNAVAILABLE) from here.
      if (slot->stream == nullptr || slot->started) return;
      slot->started = true;
      stream = slot->stream;
    }
    absl::Status status = Serve(*slot, *stream);
    if (slot->decoder->in_utterance()) {
      // The next stream must find the decoder between utterances.
      slot->decoder->EndUtterance().IgnoreError();
    }
    {
      absl::MutexLock lock(&stream->mu);
      stream->done = true;
      stream->queue.clear();
      stream->queued_samples = 0;
    }
    // Free before OnDone, so that an observer may start its next stream from OnDone.
    Release(*slot);
    stream->observer->OnDone(std::move(status));
  }
}

void PocketsphinxEngine::Release(Slot& slot) {
  absl::MutexLock lock(&mu_);
  slot.stream.reset();
  slot.started = false;
  --active_streams_;
}

absl::Status PocketsphinxEngine::Serve(Slot& slot, StreamState& s) {
  internal::Decoder& decoder = *slot.decoder;
  const speech::RecognitionConfig& config = s.config;
  const size_t piece_samples = sample_rate_hertz_ * kPieceMilliseconds / 1000;
  const size_t partial_interval = sample_rate_hertz_ * kPartialIntervalMilliseconds / 1000;
  const int64_t progress_interval = sample_rate_hertz_ * kProgressIntervalMilliseconds / 1000;

  // The engine's hop in the access line: time spent decoding, not waiting for audio.
  struct BusyTime {
    speech::CallReport* report;
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
    bool running = true;
    double seconds = 0;
    void Pause() {
      if (running) seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
      running = false;
    }
    void Resume() {
      since = std::chrono::steady_clock::now();
      running = true;
    }
    ~BusyTime() {
      Pause();
      if (report != nullptr) report->AddEngineSeconds(seconds);
    }
  } busy{config.report.get()};
  int64_t processed_samples = 0;
  int64_t reported_samples = 0;  // processed when the last result went out
  auto audio_seconds = [&] { return static_cast<double>(processed_samples) / sample_rate_hertz_; };
  auto send = [&](speech::RecognitionResult result) {
    result.audio_consumed_seconds = audio_seconds();
    reported_samples = processed_samples;
    s.observer->OnResult(std::move(result));
  };
  // Each utterance is decoded as a decoder stream of its own, starting where the last one ended
  // (see the end of speech below); its word times count from there.
  int64_t utterance_start_samples = 0;
  auto utterance_words = [&] {
    std::vector<speech::WordInfo> words = decoder.Words();
    const double offset = static_cast<double>(utterance_start_samples) / sample_rate_hertz_;
    for (speech::WordInfo& w : words) {
      w.start_seconds += offset;
      w.end_seconds += offset;
    }
    ClampTimes(words, audio_seconds());
    return words;
  };

  auto emit_final = [&] {
    std::vector<speech::WordInfo> words = utterance_words();
    if (words.empty()) return;  // silence or noise only: no empty finals
    speech::RecognitionResult result;
    result.transcript = JoinWords(words);
    result.is_final = true;
    result.stability = 1;
    if (decoder.has_confidence()) {
      // The whole-path posterior (ps_get_prob) shrinks towards 0 with every word, so it says
      // little about a long utterance; the mean word posterior does.
      double sum = 0;
      for (const speech::WordInfo& w : words) sum += w.confidence;
      result.confidence = static_cast<float>(sum / words.size());
    }
    result.start_seconds = words.front().start_seconds;
    result.end_seconds = words.back().end_seconds;
    if (config.enable_word_time_offsets) result.words = std::move(words);
    send(std::move(result));
  };

  VOXGATE_RETURN_IF_ERROR(decoder.UsePhrases(config.phrases));
  VOXGATE_RETURN_IF_ERROR(decoder.StartStream());
  bool in_speech = false;  // the VAD has seen speech in the open utterance
  std::string last_partial;
  size_t since_partial = 0;
  std::vector<int16_t> piece;
  piece.reserve(piece_samples);
  for (;;) {
    piece.clear();
    bool ready_for_audio = false;
    busy.Pause();
    // Whole pieces only (but the last): the decoder adapts its cepstral mean after each piece,
    // so pieces cut by how the audio happened to arrive would make results timing-dependent.
    auto ready = [&s, piece_samples]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
      return s.stop.has_value() || s.finished || s.queued_samples >= piece_samples;
    };
    bool paused;
    {
      absl::MutexLock lock(&s.mu);
      paused = !s.mu.AwaitWithTimeout(absl::Condition(&ready), kIdleProgressAfter);
    }
    if (paused && processed_samples > reported_samples) send({});  // not under s.mu: OnResult may Write
    {
      absl::MutexLock lock(&s.mu);
      s.mu.Await(absl::Condition(&ready));
      if (s.stop.has_value()) return *s.stop;
      if (s.queued_samples == 0) break;  // finished and everything decoded
      while (piece.size() < piece_samples && !s.queue.empty()) {
        const std::vector<int16_t>& front = s.queue.front();
        const size_t take = std::min(piece_samples - piece.size(), front.size() - s.front_offset);
        piece.insert(piece.end(), front.begin() + s.front_offset,
                     front.begin() + s.front_offset + take);
        s.front_offset += take;
        if (s.front_offset == front.size()) {
          s.queue.pop_front();
          s.front_offset = 0;
        }
      }
      s.queued_samples -= piece.size();
      // Flow control: once half the buffer is free again, the writer may resume.
      if (s.refused && s.queued_samples <= s.max_buffered_samples / 2) {
        s.refused = false;
        ready_for_audio = true;
      }
    }
    busy.Resume();
    if (ready_for_audio) s.observer->OnReadyForAudio();

    VOXGATE_RETURN_IF_ERROR(decoder.Process(piece));
    processed_samples += piece.size();
    if (processed_samples - reported_samples >= progress_interval) send({});  // an empty partial: progress only
    if (decoder.InSpeech()) {
      in_speech = true;
    } else if (in_speech) {
      // End of speech: close this utterance with a final, open the next. The next starts from
      // a fresh decoder state (cepstral mean included), so an utterance's words depend only on
      // the audio since the last final result: the pool can replay that audio to another engine
      // after a failure and get the very same words.
      VOXGATE_RETURN_IF_ERROR(decoder.EndUtterance());
      emit_final();
      utterance_start_samples = processed_samples;
      VOXGATE_RETURN_IF_ERROR(decoder.StartStream());
      in_speech = false;
      last_partial.clear();
      since_partial = 0;
      continue;
    }
    if (!config.interim_results || !in_speech) continue;
    since_partial += piece.size();
    if (since_partial < partial_interval) continue;
    since_partial = 0;
    std::vector<speech::WordInfo> words = utterance_words();
    std::string transcript = JoinWords(words);
    if (transcript.empty() || transcript == last_partial) continue;
    last_partial = transcript;
    speech::RecognitionResult result;
    result.transcript = std::move(transcript);
    result.is_final = false;
    result.stability = kPartialStability;
    result.start_seconds = words.front().start_seconds;
    result.end_seconds = words.back().end_seconds;
    if (config.enable_word_time_offsets) result.words = std::move(words);
    send(std::move(result));
  }
  VOXGATE_RETURN_IF_ERROR(decoder.EndUtterance());
  emit_final();
  return absl::OkStatus();
}

}  // namespace voxgate::engines::pocketsphinx
