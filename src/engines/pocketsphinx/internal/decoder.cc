#include "engines/pocketsphinx/internal/decoder.h"

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/cmd_ln.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <type_traits>
#include <utility>

#include "absl/base/const_init.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace voxgate::engines::pocketsphinx::internal {
namespace {

static_assert(std::is_same_v<mfcc_t, float>, "Decoder keeps cepstra as float");

// Weight of the model's CMN prior at the start of a stream, in frames: as much as the first
// 100 ms of speech. On the LibriVox + cards test clips any weight from 0 to 50 frames gave
// 29-33 % WER; 100 frames and more (or no updates within an utterance) 34-39 %.
constexpr int kCmnPriorFrames = 10;

// ps_init/ps_free touch process-wide state in sphinxbase (logging, the feature-extraction
// tables); they are serialised across every decoder of every engine in the process.
ABSL_CONST_INIT absl::Mutex lifecycle_mu(absl::kConstInit);
absl::Mutex& LifecycleMutex() { return lifecycle_mu; }

struct CmdLnDeleter {
  void operator()(cmd_ln_t* config) const { cmd_ln_free_r(config); }
};
using CmdLnHandle = std::unique_ptr<cmd_ln_t, CmdLnDeleter>;

struct SegDeleter {
  void operator()(ps_seg_t* seg) const { ps_seg_free(seg); }
};

}  // namespace

void SilenceLibraryLogging() {
  static std::once_flag once;
  std::call_once(once, [] { err_set_logfp(nullptr); });
}

std::optional<std::string> CleanWord(std::string_view word) {
  // "(NULL)": a grammar search's empty transitions between words.
  if (word.empty() || word.front() == '<' || word.front() == '[' || word.front() == '(' ||
      (word.size() >= 2 && word.substr(0, 2) == "++")) {
    return std::nullopt;
  }
  // Alternate pronunciations are spelled "word(2)" in the dictionary.
  if (word.back() == ')') {
    const size_t open = word.rfind('(');
    if (open != std::string_view::npos && open > 0) word = word.substr(0, open);
  }
  return std::string(word);
}

void DecoderDeleter::operator()(ps_decoder_s* decoder) const {
  absl::MutexLock lock(&LifecycleMutex());
  ps_free(decoder);
}

absl::StatusOr<std::unique_ptr<Decoder>> Decoder::Create(const DecoderOptions& options) {
  SilenceLibraryLogging();
  ps_decoder_t* raw = nullptr;
  {
    absl::MutexLock lock(&LifecycleMutex());
    // One cmd_ln_init call: updating a parsed config with a second call fails in 5prealpha.
    CmdLnHandle config(options.fast_final
                           ? cmd_ln_init(nullptr, ps_args(), /*strict=*/TRUE, "-hmm",
                                         options.hmm_dir.c_str(), "-lm", options.lm_path.c_str(),
                                         "-dict", options.dict_path.c_str(), "-fwdflat", "no",
                                         "-bestpath", "no", nullptr)
                           : cmd_ln_init(nullptr, ps_args(), /*strict=*/TRUE, "-hmm",
                                         options.hmm_dir.c_str(), "-lm", options.lm_path.c_str(),
                                         "-dict", options.dict_path.c_str(), nullptr));
    if (config == nullptr) return absl::InternalError("pocketsphinx: cmd_ln_init failed");
    // ps_init takes its own reference on the config; ours is dropped when `config` goes.
    raw = ps_init(config.get());
  }
  if (raw == nullptr) {
    return absl::InternalError(absl::StrCat("pocketsphinx: ps_init failed for model ",
                                            options.hmm_dir, " (lm ", options.lm_path, ", dict ",
                                            options.dict_path, ")"));
  }
  // From here the handle is freed through DecoderDeleter, which takes the lifecycle mutex.
  DecoderHandle handle(raw);
  cmd_ln_t* used = ps_get_config(handle.get());
  const int sample_rate = static_cast<int>(cmd_ln_float32_r(used, "-samprate"));
  const int frame_rate = cmd_ln_int32_r(used, "-frate");
  const bool bestpath = cmd_ln_boolean_r(used, "-bestpath");
  if (sample_rate <= 0 || frame_rate <= 0) {
    return absl::InternalError("pocketsphinx: model reports no sample or frame rate");
  }
  std::vector<float> initial_cmn;
  if (feat_t* feat = ps_get_feat(handle.get()); feat != nullptr && feat->cmn_struct != nullptr) {
    initial_cmn.resize(feat->cmn_struct->veclen);
    cmn_live_get(feat->cmn_struct, initial_cmn.data());
  }
  auto decoder = std::unique_ptr<Decoder>(new Decoder(std::move(handle), sample_rate, frame_rate, bestpath, std::move(initial_cmn)));
  return decoder;
}

Decoder::Decoder(DecoderHandle handle, int sample_rate_hertz, int frame_rate, bool has_confidence,
                 std::vector<float> initial_cmn)
    : handle_(std::move(handle)),
      sample_rate_hertz_(sample_rate_hertz),
      frame_rate_(frame_rate),
      has_confidence_(has_confidence),
      initial_cmn_(std::move(initial_cmn)) {}

absl::Status Decoder::UsePhrases(const std::vector<std::string>& phrases) {
  if (phrases == phrases_) return absl::OkStatus();
  if (in_utterance_) {
    if (absl::Status s = EndUtterance(); !s.ok()) return s;
  }
  if (phrases.empty()) {
    // The language model's search, PS_DEFAULT_SEARCH in pocketsphinx's internal header (asking
    // ps_get_search for it leaks the library's hash iterator).
    if (ps_set_search(handle_.get(), "_default") < 0) return absl::InternalError("pocketsphinx: cannot switch back to the language model");
    phrases_.clear();
    return absl::OkStatus();
  }
  std::vector<std::string> alternatives, unknown;
  for (const std::string& phrase : phrases) {
    std::string alternative;
    const std::vector<std::string> phrase_words = absl::StrSplit(phrase, ' ', absl::SkipWhitespace());
    for (const std::string& word : phrase_words) {
      std::string w = absl::AsciiStrToLower(word);
      if (w == "[unk]") continue;
      // Dictionary words are lower case letters, digits and ' . - _; anything else would also
      // be JSGF syntax.
      const bool plain = std::all_of(w.begin(), w.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '\'' || c == '.' || c == '-' || c == '_';
      });
      char* pronunciation = plain ? ps_lookup_word(handle_.get(), w.c_str()) : nullptr;
      if (pronunciation == nullptr) {
        unknown.push_back(w);
        continue;
      }
      ckd_free(pronunciation);
      absl::StrAppend(&alternative, alternative.empty() ? "" : " ", w);
    }
    if (!alternative.empty()) alternatives.push_back(std::move(alternative));
  }
  if (!unknown.empty()) {
    if (unknown.size() > 10) unknown.resize(10);
    return absl::InvalidArgumentError(absl::StrCat("phrase_list: not in the recognizer's dictionary: ", absl::StrJoin(unknown, ", ")));
  }
  if (alternatives.empty()) return absl::InvalidArgumentError("phrase_list has no words to recognize");
  // A finite-state grammar built here rather than from JSGF text: sphinxbase's JSGF parser leaks
  // (LeakSanitizer, ~2.4 KB a grammar). State 0 starts, 1 ends; each phrase is a chain of words
  // from 0 to 1, and an empty transition from 1 back to 0 lets phrases follow each other.
  std::vector<std::vector<std::string>> chains;
  int32 states = 2;
  for (const std::string& alternative : alternatives) {
    chains.push_back(absl::StrSplit(alternative, ' '));
    states += static_cast<int32>(chains.back().size()) - 1;
  }
  logmath_t* logmath = ps_get_logmath(handle_.get());
  const float32 language_weight = cmd_ln_float32_r(ps_get_config(handle_.get()), "-lw");
  std::unique_ptr<fsg_model_t, int (*)(fsg_model_t*)> fsg(fsg_model_init("phrases", logmath, language_weight, states), fsg_model_free);
  fsg->start_state = 0;
  fsg->final_state = 1;
  const int32 choice = static_cast<int32>(logmath_log(logmath, 1.0 / chains.size()) * language_weight);
  int32 next_state = 2;
  for (const auto& chain : chains) {
    int32 from = 0;
    for (size_t k = 0; k < chain.size(); ++k) {
      const int32 to = k + 1 == chain.size() ? 1 : next_state++;
      fsg_model_trans_add(fsg.get(), from, to, k == 0 ? choice : 0, fsg_model_word_add(fsg.get(), chain[k].c_str()));
      from = to;
    }
  }
  fsg_model_null_trans_add(fsg.get(), 1, 0, 0);
  // ps_set_fsg takes its own reference on the grammar.
  if (ps_set_fsg(handle_.get(), "phrases", fsg.get()) < 0 || ps_set_search(handle_.get(), "phrases") < 0) {
    return absl::InvalidArgumentError("phrase_list: pocketsphinx refused the grammar made of it");
  }
  phrases_ = phrases;
  return absl::OkStatus();
}

absl::Status Decoder::StartStream() {
  if (in_utterance_) {
    if (absl::Status s = EndUtterance(); !s.ok()) return s;
  }
  // Live cepstral mean normalisation (CMN) adapts across utterances and ps_start_stream does
  // not reset it, so a stream's words would depend on whatever audio (other callers, other
  // channels) this decoder decoded before. Every stream starts from the model's -cmninit
  // instead, weighted as kCmnPriorFrames of speech.
  cmn_t* cmn = ps_get_feat(handle_.get())->cmn_struct;
  if (cmn != nullptr && !initial_cmn_.empty()) {
    for (int i = 0; i < cmn->veclen; ++i) {
      cmn->cmn_mean[i] = initial_cmn_[i];
      cmn->sum[i] = initial_cmn_[i] * kCmnPriorFrames;
    }
    cmn->nframe = kCmnPriorFrames;
  }
  if (ps_start_stream(handle_.get()) < 0)
    return absl::InternalError("pocketsphinx: ps_start_stream failed");
  return StartUtterance();
}

absl::Status Decoder::StartUtterance() {
  if (ps_start_utt(handle_.get()) < 0)
    return absl::InternalError("pocketsphinx: ps_start_utt failed");
  in_utterance_ = true;
  return absl::OkStatus();
}

absl::Status Decoder::EndUtterance() {
  in_utterance_ = false;
  if (ps_end_utt(handle_.get()) < 0) return absl::InternalError("pocketsphinx: ps_end_utt failed");
  return absl::OkStatus();
}

absl::Status Decoder::Process(std::span<const int16_t> samples) {
  if (!in_utterance_) return absl::FailedPreconditionError("pocketsphinx: no open utterance");
  if (samples.empty()) return absl::OkStatus();
  if (ps_process_raw(handle_.get(), samples.data(), samples.size(), /*no_search=*/FALSE,
                     /*full_utt=*/FALSE) < 0) {
    return absl::InternalError("pocketsphinx: ps_process_raw failed");
  }
  // pocketsphinx moves the live CMN mean only at the end of an utterance or after 8 s, so the
  // first utterance of a stream would be decoded entirely with the generic prior (39 % WER
  // instead of 29 % on the LibriVox + cards test clips). Following the running mean after
  // every call lets it settle within the first second of speech.
  cmn_t* cmn = ps_get_feat(handle_.get())->cmn_struct;
  if (cmn != nullptr && cmn->nframe > 0) {
    for (int i = 0; i < cmn->veclen; ++i) cmn->cmn_mean[i] = cmn->sum[i] / cmn->nframe;
  }
  return absl::OkStatus();
}

bool Decoder::InSpeech() { return ps_get_in_speech(handle_.get()) != 0; }

std::vector<speech::WordInfo> Decoder::Words() {
  std::vector<speech::WordInfo> words;
  // Posteriors exist only for a finished utterance searched with -bestpath; a partial's
  // segment "probability" is always 0 (posterior 1.0), which would be a lie.
  const bool with_confidence = has_confidence_ && !in_utterance_;
  logmath_t* logmath = ps_get_logmath(handle_.get());
  std::unique_ptr<ps_seg_t, SegDeleter> seg(ps_seg_iter(handle_.get()));
  while (seg != nullptr) {
    const char* text = ps_seg_word(seg.get());
    if (std::optional<std::string> word = CleanWord(text == nullptr ? "" : text)) {
      int start_frame = 0;
      int end_frame = 0;  // inclusive
      // Frames are stream-wide since ps_start_stream (pocketsphinx adds the utterance's offset).
      ps_seg_frames(seg.get(), &start_frame, &end_frame);
      speech::WordInfo info;
      info.word = *std::move(word);
      info.start_seconds = static_cast<double>(start_frame) / frame_rate_;
      info.end_seconds = static_cast<double>(end_frame + 1) / frame_rate_;
      if (with_confidence) {
        const int32 log_posterior = ps_seg_prob(seg.get(), nullptr, nullptr, nullptr);
        info.confidence =
            std::clamp(static_cast<float>(logmath_exp(logmath, log_posterior)), 0.0f, 1.0f);
      }
      words.push_back(std::move(info));
    }
    // ps_seg_next frees the iterator when it returns NULL.
    seg.reset(ps_seg_next(seg.release()));
  }
  return words;
}

}  // namespace voxgate::engines::pocketsphinx::internal
