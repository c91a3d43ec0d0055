#include "speech/language.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace voxgate::speech {

std::string PrimaryLanguage(std::string_view code) {
  std::string out(code.substr(0, code.find_first_of("-_")));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool SameLanguage(std::string_view a, std::string_view b) { return PrimaryLanguage(a) == PrimaryLanguage(b); }

bool TranslatesPair(const ModelInfo& model, std::string_view source, std::string_view target) {
  auto has = [](const std::vector<std::string>& codes, std::string_view want) {
    return std::any_of(codes.begin(), codes.end(), [&](const std::string& c) { return SameLanguage(c, want); });
  };
  return model.service == "mt" && has(model.language_codes, source) && has(model.target_language_codes, target);
}

std::vector<std::string> TranslationPairs(const std::vector<ModelInfo>& models) {
  std::vector<std::string> pairs;
  for (const auto& m : models) {
    if (m.service != "mt") continue;
    for (const auto& from : m.language_codes) {
      for (const auto& to : m.target_language_codes) {
        const std::string pair = from + "->" + to;
        if (std::find(pairs.begin(), pairs.end(), pair) == pairs.end()) pairs.push_back(pair);
      }
    }
  }
  return pairs;
}

const VoiceInfo* FindVoice(const ModelInfo& model, std::string_view name) {
  const std::string_view base = name.substr(0, name.find('+'));
  const VoiceInfo* found = nullptr;
  for (const auto& v : model.voices) {
    if (v.name == name) return &v;
    if (v.name == base) found = &v;
  }
  return found;
}

bool SpeaksRequest(const ModelInfo& model, const SynthesisRequest& request) {
  if (model.service != "tts" || (!request.model.empty() && model.name != request.model)) return false;
  if (!request.voice.empty()) {
    const VoiceInfo* voice = FindVoice(model, request.voice);
    return voice != nullptr && (request.language_code.empty() || SameLanguage(voice->language_code, request.language_code));
  }
  return std::any_of(model.language_codes.begin(), model.language_codes.end(),
                     [&](const std::string& c) { return request.language_code.empty() || SameLanguage(c, request.language_code); });
}

std::string SpeechWanted(const SynthesisRequest& request) {
  std::string wanted = request.voice.empty() ? "language \"" + request.language_code + "\"" : "voice \"" + request.voice + "\"";
  if (!request.model.empty()) wanted += " with model \"" + request.model + "\"";
  return wanted;
}

absl::Status NotSpoken(const std::vector<ModelInfo>& models, const SynthesisRequest& request) {
  if (!request.voice.empty() && !request.language_code.empty()) {
    for (const auto& m : models) {
      if (m.service != "tts" || (!request.model.empty() && m.name != request.model)) continue;
      if (const VoiceInfo* voice = FindVoice(m, request.voice)) {
        return absl::InvalidArgumentError(absl::StrCat("voice \"", request.voice, "\" speaks ", voice->language_code, ", not \"", request.language_code,
                                                       "\"; leave the language out, or pick a voice of that language"));
      }
    }
  }
  const std::vector<std::string> voices = VoiceNames(models);
  return absl::NotFoundError(absl::StrCat("no engine speaks ", SpeechWanted(request), "; voices: ", voices.empty() ? "none" : absl::StrJoin(voices, ", ")));
}

std::vector<std::string> VoiceNames(const std::vector<ModelInfo>& models) {
  std::vector<std::string> names;
  for (const auto& m : models) {
    if (m.service != "tts") continue;
    for (const auto& v : m.voices) {
      if (std::find(names.begin(), names.end(), v.name) == names.end()) names.push_back(v.name);
    }
  }
  return names;
}

}  // namespace voxgate::speech
