// The built-in speech synthesis engine: espeak-ng (library API, GPL-3, so it runs in its own
// engine process). Every installed voice and variant can be named (internal/voices.h), plus
// English presets named after OpenAI's voices.
//
// espeak-ng keeps its state process-wide and crashes when two threads synthesise at once, so a
// process has exactly one synthesizer thread (internal/synthesizer.h) and requests wait for it in
// a bounded queue. That costs little: espeak makes 400-1000 s of audio per second on one core
// (the klatt voices are the slower), so even a request of the maximal 4096 characters (~4 min of
// audio) takes well under a second. Concurrency comes from running several engine processes,
// which the pool balances over, not from threads.
//
// Audio is streamed: each chunk espeak makes (~100 ms of audio) goes to the observer at once,
// resampled from espeak's 22050 Hz when the request asks for another rate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engines/espeak/internal/voices.h"
#include "speech/speech_service.h"

namespace voxgate::engines::espeak {

namespace internal {
class Synthesizer;
}

class EspeakEngine : public speech::SpeechService, public std::enable_shared_from_this<EspeakEngine> {
 public:
  struct Options {
    std::vector<std::string> languages;  // serve only voices of these (BCP-47; empty: all)
    std::string data_path;               // where espeak-ng-data is (or its parent); empty: the default
    int capacity = 16;                   // requests in the engine at once (waiting or speaking)
    size_t max_text_chars = 4096;        // characters (code points), as OpenAI's limit
    double max_audio_seconds = 1800;     // per request
  };
  // Starts espeak-ng on first use in the process (~50 ms) and lists its voices. Fails when the
  // data is missing or a language in `languages` has no voice.
  static absl::StatusOr<std::shared_ptr<EspeakEngine>> Create(Options options);

  void Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  bool IsServing() override;
  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig&,
                                                                speech::RecognitionObserverPtr) override;
  // New requests are refused (ABORTED) from now on; true once those in the engine are done.
  void Drain();
  bool AwaitIdle(std::chrono::milliseconds timeout);

  // espeak's own rate; speaking_rate 1 is this many words per minute, and its range.
  static constexpr int kNormalWordsPerMinute = 175;
  static constexpr int kMinWordsPerMinute = 80;
  static constexpr int kMaxWordsPerMinute = 450;

 private:
  struct Job;
  EspeakEngine(Options options, internal::Synthesizer* synthesizer, internal::VoiceCatalog catalog);
  void Run(Job& job);
  absl::Status Speak(Job& job);

  const Options options_;
  internal::Synthesizer* const synthesizer_;
  const internal::VoiceCatalog catalog_;
  const int sample_rate_hertz_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  int in_engine_ = 0;   // counts against capacity; released just before OnDone
  int unfinished_ = 0;  // released after OnDone: AwaitIdle waits for the last OnDone
  bool draining_ = false;
};

// Why `text` cannot be spoken (empty, too long, invalid UTF-8, control characters other than
// \n \t \r), or OK.
absl::Status ValidateText(std::string_view text, size_t max_chars);

}  // namespace voxgate::engines::espeak
