#include "speech/language.h"

#include <algorithm>
#include <cctype>

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

}  // namespace voxgate::speech
