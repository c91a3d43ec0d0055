// The adapter around libespeak-ng, and the only code that calls it. espeak-ng keeps all of its
// state process-wide (the selected voice, parameters, buffers) and crashed 3 times of 3 when two
// threads synthesised at once, so a process has one Synthesizer, and one thread of it makes every
// espeak call, from initialisation on. Engines post their work to that thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace voxgate::engines::espeak::internal {

// A voice as espeak-ng lists it (espeak_ListVoices).
struct InstalledVoice {
  std::string identifier;  // its file under espeak-ng-data/lang, e.g. "gmw/en-US"
  std::string name;        // e.g. "English (America)"
  // (priority, code as espeak writes it, e.g. "en-us"); a lower priority is a better fit.
  std::vector<std::pair<int, std::string>> languages;
  int gender = 0;  // 0 unknown, 1 male, 2 female
};

// A variant (espeak-ng-data/voices/!v): a voice quality laid over any voice, e.g. "klatt".
struct InstalledVariant {
  std::string file;  // e.g. "klatt", "f2"
  int gender = 0;
};

struct Installation {
  std::string version;  // espeak_Info, e.g. "1.51"
  int sample_rate_hertz = 0;
  std::vector<InstalledVoice> voices;  // in espeak's order (by language)
  std::vector<InstalledVariant> variants;
};

// How one text is spoken.
struct Utterance {
  std::string voice;  // what espeak_ng_SetVoiceByName takes: identifier[+variant], e.g. "gmw/en-US+klatt"
  int words_per_minute = 175;
  int pitch = 50;    // 0..100
  std::string text;  // valid UTF-8 without NUL; always plain text, never SSML or phoneme input
};

class Synthesizer {
 public:
  // Audio comes in chunks of about this length (espeak's buffer length).
  static constexpr int kChunkMilliseconds = 100;

  // The process's synthesizer, started and initialised on its thread by the first call.
  // `data_path`: the directory with espeak-ng-data (or that directory); empty: the library's
  // default. Later calls must name the same one (FAILED_PRECONDITION otherwise).
  static absl::StatusOr<Synthesizer*> Get(const std::string& data_path);

  const Installation& installation() const { return installation_; }

  // Runs `task` on the espeak thread after every task posted before it.
  void Post(std::function<void()> task);

  // Only from a posted task. Speaks `u`, handing each chunk of samples (mono s16 at
  // installation().sample_rate_hertz) to `on_chunk` as soon as espeak makes it; `on_chunk`
  // returns false to stop, and Speak then returns CANCELLED. Errors carry espeak's own message.
  absl::Status Speak(const Utterance& u, absl::FunctionRef<bool(std::span<const int16_t>)> on_chunk);

 private:
  explicit Synthesizer(std::string data_path);
  ~Synthesizer();  // only when initialisation failed: the one that works lives as long as the process
  void Loop();

  const std::string data_path_;
  Installation installation_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace voxgate::engines::espeak::internal
