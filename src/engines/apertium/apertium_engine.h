// The built-in machine translation engine: apertium (rule-based, Debian packages apertium-*).
// Every installed language pair (a mode file such as eng-spa.mode) is found at start; each gets
// warm pipelines (internal/pipeline.h) with a worker thread each. A request waits (bounded) for a
// pipeline of its pair; a pipeline that hangs or dies is killed and replaced.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "speech/speech_service.h"

namespace voxgate::engines::apertium {

namespace internal {
class Pipeline;
}

// A language pair as apertium names it and as clients do.
struct LanguagePair {
  std::string mode;    // e.g. "eng-spa"
  std::string source;  // BCP-47, e.g. "en"
  std::string target;  // e.g. "es", "en-US"
};
// Installed pairs in `modes_dir` (apertium's three-letter codes mapped to BCP-47).
std::vector<LanguagePair> FindLanguagePairs(const std::string& modes_dir);
// "eng" → "en", "eng_US" → "en-US"; codes without a two-letter form stay as they are.
std::string ToBcp47(const std::string& apertium_code);

class ApertiumEngine : public speech::SpeechService {
 public:
  struct Options {
    std::string modes_dir = "/usr/share/apertium/modes";
    std::vector<std::string> source_languages;  // serve only pairs from these (empty: all)
    int pipelines_per_pair = 1;
    int capacity = 32;  // requests in the engine at once (waiting or running)
    size_t max_text_bytes = 10000;
    size_t max_texts = 128;
    std::chrono::milliseconds line_timeout{10000};  // a pipeline silent this long is hung
  };
  // Starts every pipeline (a few hundred ms); fails when no pair is installed.
  static absl::StatusOr<std::shared_ptr<ApertiumEngine>> Create(Options options);
  ~ApertiumEngine() override;

  void Translate(speech::TranslationRequest request, speech::TranslationCallback done) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  bool IsServing() override;
  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig&,
                                                                speech::RecognitionObserverPtr) override;
  // New requests are refused (ABORTED) from now on; true once those in the engine are done.
  void Drain();
  bool AwaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Job {
    speech::TranslationRequest request;
    speech::TranslationCallback done;
  };
  struct Pair {
    LanguagePair names;
    std::deque<Job> jobs;
    std::condition_variable cv;
  };
  struct Worker {
    std::unique_ptr<internal::Pipeline> pipeline;
    std::thread thread;
    ~Worker();
  };

  explicit ApertiumEngine(Options options) : options_(std::move(options)) {}
  void Run(Pair& pair, Worker& worker);
  absl::StatusOr<std::vector<std::string>> TranslateAll(Worker& worker, const Pair& pair, const speech::TranslationRequest& r);
  Pair* FindPairLocked(const speech::TranslationRequest& r);

  const Options options_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<Pair>> pairs_;
  std::vector<std::unique_ptr<Worker>> workers_;
  int in_engine_ = 0;
  bool draining_ = false;
  bool stopping_ = false;
};

// Why `text` cannot be translated (empty, too long, invalid UTF-8, control characters), or OK.
absl::Status ValidateText(std::string_view text, size_t max_bytes);

}  // namespace voxgate::engines::apertium
