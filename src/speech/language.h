// Language codes as every tier compares them: "en-US", "en_US" and "en" share the primary
// language "en". And what a service's translation and synthesis models offer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "speech/speech_service.h"

namespace voxgate::speech {

// The primary language subtag, lower case: "en-US" → "en".
std::string PrimaryLanguage(std::string_view code);
bool SameLanguage(std::string_view a, std::string_view b);

// Whether a translation model translates `source` into `target` (by primary language).
bool TranslatesPair(const ModelInfo& model, std::string_view source, std::string_view target);
// Every pair the translation models among `models` offer, as "en->es", each once.
std::vector<std::string> TranslationPairs(const std::vector<ModelInfo>& models);

// The voice `name` picks among a synthesis model's voices: that voice, or the base voice of a
// variant ("en-us+klatt2" picks "en-us"). Null when there is none.
const VoiceInfo* FindVoice(const ModelInfo& model, std::string_view name);
// Whether a synthesis model speaks what `request` asks for: its voice (when it names one) and its
// language (when it names one; the voice's language must then match).
bool SpeaksRequest(const ModelInfo& model, const SynthesisRequest& request);
// What `request` asks to be spoken by, for messages: `voice "alloy"`, `language "fr" with model "x"`.
std::string SpeechWanted(const SynthesisRequest& request);
// Why no model among `models` speaks `request`: a voice that speaks another language than the
// one asked for is a bad request (INVALID_ARGUMENT, naming the voice's language); anything else
// is NOT_FOUND, listing the voices there are.
absl::Status NotSpoken(const std::vector<ModelInfo>& models, const SynthesisRequest& request);
// The voices of every synthesis model among `models`, each name once.
std::vector<std::string> VoiceNames(const std::vector<ModelInfo>& models);

}  // namespace voxgate::speech
