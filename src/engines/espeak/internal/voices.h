// The voices an espeak engine offers and how a request's voice and language pick one. Pure
// logic over what espeak-ng lists (internal/synthesizer.h), so it is tested without espeak.
//
// Names a request can use:
//  - a voice by its language as espeak lists it: "en-us", "en-gb", "es", "fr-fr", "cmn" ...
//  - any voice with any installed variant: "en-us+klatt2", "fr-fr+f3";
//  - English presets named after OpenAI's voices ("alloy", "nova", ...), so OpenAI clients work
//    unchanged (kPresets in voices.cc).
// With no voice, the language picks one; English defaults to a "+klatt" variant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/espeak/internal/synthesizer.h"
#include "speech/speech_service.h"

namespace voxgate::engines::espeak::internal {

// A voice a request has picked.
struct Voice {
  std::string name;           // as the client names it: "en-us", "en-us+klatt", "alloy"
  std::string espeak_voice;   // as espeak selects it: "gmw/en-US+klatt"
  std::string language_code;  // BCP-47, e.g. "en-US"
  std::string gender;         // "male", "female" or empty
  int pitch = 50;             // espeak's 0..100
  // Every language it speaks, lower case with '-', best first ("en-us", "en").
  std::vector<std::string> languages;
  std::vector<int> priorities;  // espeak's, one per language: lower is a better fit
};

class VoiceCatalog {
 public:
  // What an engine serving `languages` (BCP-47, by primary language; empty: every one) offers.
  // NOT_FOUND when a language has no voice, naming it.
  static absl::StatusOr<VoiceCatalog> Build(const Installation& installed, const std::vector<std::string>& languages);

  // The voice for a request: `voice` when set (checked against `language_code` when that is set
  // too), else the default voice of `language_code`, else the engine's default. NOT_FOUND for an
  // unknown voice or language (the message names some that exist), INVALID_ARGUMENT when the
  // voice does not speak the language.
  absl::StatusOr<Voice> Resolve(std::string_view voice, std::string_view language_code) const;

  // For Describe: presets, the recommended English variants, then every voice.
  const std::vector<speech::VoiceInfo>& listed() const { return listed_; }
  // Every language a request may name (BCP-47), each once.
  const std::vector<std::string>& language_codes() const { return language_codes_; }

 private:
  const Voice* FindBase(std::string_view name) const;
  absl::StatusOr<Voice> WithVariant(const Voice& base, std::string_view variant) const;
  absl::StatusOr<Voice> ForLanguage(std::string_view language_code) const;
  std::string SomeVoices() const;

  std::vector<Voice> voices_;   // the base voices, in espeak's order
  std::vector<Voice> presets_;  // already with their variant
  std::vector<InstalledVariant> variants_;
  std::vector<speech::VoiceInfo> listed_;
  std::vector<std::string> language_codes_;
};

// espeak's lower-case codes in BCP-47's conventional case: "en-us" → "en-US",
// "cmn-latn-pinyin" → "cmn-Latn-pinyin", "en-gb-x-rp" → "en-GB-x-rp".
std::string ToBcp47Case(std::string_view code);

}  // namespace voxgate::engines::espeak::internal
