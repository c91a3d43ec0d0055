// One pocketsphinx decoder: owns the C handle and turns its return codes into absl::Status.
// Not thread-safe: exactly one thread uses a Decoder at a time (the engine's worker for its slot).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "speech/speech_service.h"

struct ps_decoder_s;

namespace voxgate::engines::pocketsphinx::internal {

struct DecoderOptions {
  std::string hmm_dir;    // acoustic model directory
  std::string lm_path;    // binary n-gram language model
  std::string dict_path;  // pronunciation dictionary
  // -fwdflat no -bestpath no: finals in a few ms instead of ~100-250 ms, at some accuracy cost,
  // and without word posteriors (confidence is then reported as 0, "unknown").
  bool fast_final = false;
};

// Disables sphinxbase's logging process-wide, once. pocketsphinx logs through a global FILE*
// that is not safe to use from several decoders at once, so this runs before any ps_init.
void SilenceLibraryLogging();

// A word of the best hypothesis, fillers removed, alternate-pronunciation suffix stripped.
// Returns nullopt for <s>, </s>, <sil>, fillers such as [NOISE] / [SPEECH] / ++GARBAGE++, and a
// grammar's empty transitions, (NULL).
std::optional<std::string> CleanWord(std::string_view dictionary_word);

struct DecoderDeleter {
  void operator()(ps_decoder_s* decoder) const;
};
using DecoderHandle = std::unique_ptr<ps_decoder_s, DecoderDeleter>;

class Decoder {
 public:
  // Loads the model (~0.3-1 s, ~93 MB). ps_init/ps_free are serialised process-wide: two
  // threads inside ps_init at once hung or crashed.
  static absl::StatusOr<std::unique_ptr<Decoder>> Create(const DecoderOptions& options);

  int sample_rate_hertz() const { return sample_rate_hertz_; }
  // True when word posteriors are computed (bestpath search on).
  bool has_confidence() const { return has_confidence_; }

  // Restricts what the next stream can recognize to sequences of `phrases` (a grammar, vosk's
  // phrase_list); empty: the full language model. "[unk]" entries are skipped (there is
  // no garbage model); a word the dictionary lacks is INVALID_ARGUMENT naming it.
  absl::Status UsePhrases(const std::vector<std::string>& phrases);

  // Resets stream-wide state (noise estimate, time offset) and opens the first utterance.
  absl::Status StartStream();
  absl::Status StartUtterance();
  absl::Status EndUtterance();
  bool in_utterance() const { return in_utterance_; }

  absl::Status Process(std::span<const int16_t> samples);
  // The voice activity detector's state after the last Process call.
  bool InSpeech();

  // Words of the current best hypothesis (partial while the utterance is open, final after
  // EndUtterance), times in seconds from the start of the stream. Confidence is the word
  // posterior for a final hypothesis with has_confidence(), else 0.
  std::vector<speech::WordInfo> Words();

 private:
  Decoder(DecoderHandle handle, int sample_rate_hertz, int frame_rate, bool has_confidence,
          std::vector<float> initial_cmn);

  DecoderHandle handle_;
  int sample_rate_hertz_;
  int frame_rate_;
  bool has_confidence_;
  std::vector<float> initial_cmn_;  // the model's -cmninit, restored for every stream
  std::vector<std::string> phrases_;  // of the grammar search in use; empty: the language model
  bool in_utterance_ = false;
};

}  // namespace voxgate::engines::pocketsphinx::internal
