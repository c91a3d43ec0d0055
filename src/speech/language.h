// Language codes as every tier compares them: "en-US", "en_US" and "en" share the primary
// language "en". And what a service's translation models offer.
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

}  // namespace voxgate::speech
