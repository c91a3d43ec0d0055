#include "engines/espeak/internal/voices.h"

#include <algorithm>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "speech/language.h"

namespace voxgate::engines::espeak::internal {
namespace {

// OpenAI's voice names, so OpenAI clients work unchanged. espeak's default voices are nearly
// unrecognisable to our pocketsphinx ASR (word error rate ~80 %), the klatt family and the
// female f2/f5 variants much better (30-50 %, measured on 10 sentences), so every preset is
// en-us with one of those; pitch tells presets on the same variant apart. Genders follow how
// OpenAI's voices sound (alloy and fable are neutral).
struct Preset {
  const char* name;
  const char* variant;
  int pitch;  // espeak's 0..100, 50 normal
  const char* gender;
};
constexpr Preset kPresets[] = {
    {"alloy", "klatt3", 50, ""},       {"ash", "klatt", 45, "male"},      {"ballad", "klatt2", 55, "male"},
    {"coral", "f5", 50, "female"},     {"echo", "klatt2", 45, "male"},    {"fable", "klatt3", 45, ""},
    {"nova", "f5", 58, "female"},      {"onyx", "klatt4", 40, "male"},    {"sage", "f2", 45, "female"},
    {"shimmer", "f2", 55, "female"},   {"verse", "klatt", 55, "male"},
};
constexpr const char* kPresetBase = "en-us";
constexpr const char* kPresetLanguage = "en-US";
// With no voice named, English is spoken with this variant: recognisable (see kPresets).
constexpr const char* kEnglishVariant = "klatt";
// Where espeak's own ranking is not what clients expect: it ranks en-gb first for plain "en",
// but American English is what our ASR model (en-us) and most clients assume.
constexpr std::pair<const char*, const char*> kDefaultVoices[] = {{"en", "en-us"}};
// Named first when a voice is not found, when installed.
constexpr const char* kWellKnown[] = {"en-us", "en-gb", "es", "fr-fr", "de", "it", "pt-br", "ru", "cmn", "ja", "hi", "ar"};

std::string Normalize(std::string_view code) {
  std::string out = absl::AsciiStrToLower(absl::string_view(code.data(), code.size()));
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Client text in an error message, bounded.
std::string Quote(std::string_view s) {
  return absl::StrCat("\"", std::string(s.substr(0, 64)), s.size() > 64 ? "...\"" : "\"");
}

std::string GenderName(int gender) { return gender == 1 ? "male" : gender == 2 ? "female" : ""; }

bool IsEnglish(const Voice& v) { return speech::PrimaryLanguage(v.language_code) == "en"; }

bool Speaks(const Voice& v, std::string_view language_code) {
  return std::any_of(v.languages.begin(), v.languages.end(), [&](const std::string& l) { return speech::SameLanguage(l, language_code); });
}

}  // namespace

std::string ToBcp47Case(std::string_view code) {
  std::vector<std::string> parts = absl::StrSplit(Normalize(code), '-');
  bool private_use = false;  // after "x-" everything stays lower case
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string& p = parts[i];
    if (p.size() == 1) private_use = private_use || p == "x";
    if (private_use) continue;
    if (p.size() == 2) {
      p = absl::AsciiStrToUpper(p);  // region
    } else if (p.size() == 4 && absl::ascii_isalpha(p[0])) {
      p[0] = absl::ascii_toupper(p[0]);  // script
    }
  }
  return absl::StrJoin(parts, "-");
}

absl::StatusOr<VoiceCatalog> VoiceCatalog::Build(const Installation& installed, const std::vector<std::string>& languages) {
  VoiceCatalog c;
  c.variants_ = installed.variants;
  for (const InstalledVoice& iv : installed.voices) {
    const bool wanted = languages.empty() || std::any_of(languages.begin(), languages.end(), [&](const std::string& want) {
                          return std::any_of(iv.languages.begin(), iv.languages.end(),
                                             [&](const auto& l) { return speech::SameLanguage(l.second, want); });
                        });
    if (!wanted) continue;
    Voice v;
    v.name = Normalize(iv.languages.front().second);
    if (c.FindBase(v.name) != nullptr) {
      // Two voices for one language ("yue" and "yue-Latn-jyutping"): the second by its file name.
      v.name = Normalize(iv.identifier.substr(iv.identifier.rfind('/') + 1));
    }
    if (c.FindBase(v.name) != nullptr) continue;
    v.espeak_voice = iv.identifier;
    v.language_code = ToBcp47Case(iv.languages.front().second);
    v.gender = GenderName(iv.gender);
    auto ranked = iv.languages;
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& l : ranked) {
      v.languages.push_back(Normalize(l.second));
      v.priorities.push_back(l.first);
    }
    for (const auto& l : iv.languages) {
      std::string code = ToBcp47Case(l.second);
      if (std::none_of(c.language_codes_.begin(), c.language_codes_.end(), [&](const std::string& have) { return absl::EqualsIgnoreCase(have, code); })) {
        c.language_codes_.push_back(std::move(code));
      }
    }
    c.voices_.push_back(std::move(v));
  }
  for (const std::string& want : languages) {
    if (std::none_of(c.language_codes_.begin(), c.language_codes_.end(), [&](const std::string& l) { return speech::SameLanguage(l, want); })) {
      return absl::NotFoundError(absl::StrCat("no espeak-ng voice speaks ", Quote(want)));
    }
  }

  if (const Voice* base = c.FindBase(kPresetBase)) {
    for (const Preset& p : kPresets) {
      auto v = c.WithVariant(*base, p.variant);
      if (!v.ok()) continue;  // that variant is not installed
      v->name = p.name;
      v->language_code = kPresetLanguage;
      v->gender = p.gender;
      v->pitch = p.pitch;
      c.presets_.push_back(std::move(*v));
    }
  }

  // Listed: presets; English voices with their default variant and en-us with the presets'
  // variants (the recognisable ones); then every voice. Other variants work but are not listed.
  auto list = [&c](const Voice& v) {
    if (std::none_of(c.listed_.begin(), c.listed_.end(), [&](const speech::VoiceInfo& l) { return l.name == v.name; })) {
      c.listed_.push_back({v.name, v.language_code, v.gender});
    }
  };
  for (const Voice& p : c.presets_) list(p);
  for (const Voice& v : c.voices_) {
    if (!IsEnglish(v)) continue;
    if (auto with = c.WithVariant(v, kEnglishVariant); with.ok()) list(*with);
  }
  if (const Voice* base = c.FindBase(kPresetBase)) {
    for (const Preset& p : kPresets) {
      if (auto with = c.WithVariant(*base, p.variant); with.ok()) list(*with);
    }
  }
  for (const Voice& v : c.voices_) list(v);
  return c;
}

const Voice* VoiceCatalog::FindBase(std::string_view name) const {
  const std::string wanted = Normalize(name);
  for (const Voice& v : voices_) {
    if (v.name == wanted) return &v;
  }
  return nullptr;
}

absl::StatusOr<Voice> VoiceCatalog::WithVariant(const Voice& base, std::string_view variant) const {
  for (const InstalledVariant& iv : variants_) {
    if (!absl::EqualsIgnoreCase(iv.file, absl::string_view(variant.data(), variant.size()))) continue;
    Voice v = base;
    v.name = absl::StrCat(base.name, "+", iv.file);
    v.espeak_voice = absl::StrCat(base.espeak_voice, "+", iv.file);
    if (iv.gender != 0) v.gender = GenderName(iv.gender);
    return v;
  }
  std::vector<std::string> names;
  for (const InstalledVariant& iv : variants_) names.push_back(iv.file);
  std::sort(names.begin(), names.end());
  return absl::NotFoundError(absl::StrCat("no voice variant ", Quote(variant), " (for ", base.name, "+VARIANT); installed variants: ",
                                          absl::StrJoin(names, ", ")));
}

std::string VoiceCatalog::SomeVoices() const {
  std::vector<std::string> names;
  for (const Voice& p : presets_) names.push_back(p.name);
  for (const char* known : kWellKnown) {
    if (FindBase(known) != nullptr) names.push_back(known);
  }
  for (size_t i = 0; i < voices_.size() && names.size() < presets_.size() + 6; ++i) {
    if (std::find(names.begin(), names.end(), voices_[i].name) == names.end()) names.push_back(voices_[i].name);
  }
  return absl::StrCat(absl::StrJoin(names, ", "), " (", listed_.size(),
                      " listed in all: GET /v1/audio/voices); any voice also takes a variant, e.g. ",
                      FindBase(kPresetBase) != nullptr || voices_.empty() ? kPresetBase : voices_.front().name, "+klatt2");
}

absl::StatusOr<Voice> VoiceCatalog::ForLanguage(std::string_view language_code) const {
  const std::string wanted = Normalize(language_code);
  const std::string primary = speech::PrimaryLanguage(wanted);
  auto from_table = [this](const std::string& code) -> const Voice* {
    for (const auto& [language, voice] : kDefaultVoices) {
      if (code == language) return FindBase(voice);
    }
    return nullptr;
  };
  // The voice that lists a language `matches` with the best priority (espeak's own ranking;
  // the first listed on a tie).
  auto best = [this](auto matches) -> const Voice* {
    const Voice* found = nullptr;
    int found_priority = INT_MAX;
    for (const Voice& v : voices_) {
      for (size_t i = 0; i < v.languages.size(); ++i) {
        if (v.priorities[i] < found_priority && matches(v.languages[i])) {
          found = &v;
          found_priority = v.priorities[i];
        }
      }
    }
    return found;
  };
  const Voice* chosen = from_table(wanted);
  if (chosen == nullptr) chosen = best([&](const std::string& l) { return l == wanted; });
  if (chosen == nullptr) chosen = from_table(primary);
  // "fr-CA": a voice for plain "fr" (fr-fr) before one for another region (fr-be).
  if (chosen == nullptr) chosen = best([&](const std::string& l) { return l == primary; });
  if (chosen == nullptr) chosen = best([&](const std::string& l) { return speech::PrimaryLanguage(l) == primary; });
  if (chosen == nullptr) {
    return absl::NotFoundError(absl::StrCat("no voice speaks language ", Quote(language_code), "; ", language_codes_.size(),
                                            " languages are spoken, e.g. ",
                                            absl::StrJoin(language_codes_.begin(), language_codes_.begin() + std::min<size_t>(12, language_codes_.size()), ", "),
                                            " (GET /v1/audio/voices lists every voice)"));
  }
  if (IsEnglish(*chosen)) {
    if (auto with = WithVariant(*chosen, kEnglishVariant); with.ok()) return with;
  }
  return *chosen;
}

absl::StatusOr<Voice> VoiceCatalog::Resolve(std::string_view voice, std::string_view language_code) const {
  if (voice.empty()) {
    if (!language_code.empty()) return ForLanguage(language_code);
    // Neither named: American English when served, else the first voice.
    if (FindBase(kPresetBase) != nullptr) return ForLanguage(kPresetLanguage);
    if (voices_.empty()) return absl::NotFoundError("this engine has no voices");
    return voices_.front();
  }
  absl::StatusOr<Voice> found = absl::NotFoundError("");
  for (const Voice& p : presets_) {
    if (absl::EqualsIgnoreCase(p.name, absl::string_view(voice.data(), voice.size()))) found = p;
  }
  if (!found.ok()) {
    const size_t plus = voice.find('+');
    const Voice* base = FindBase(voice.substr(0, plus));
    if (base == nullptr) {
      std::string hint;
      if (ForLanguage(voice).ok()) hint = absl::StrCat(" (", Quote(voice), " is a language: set the language, or use voice ", ForLanguage(voice)->name, ")");
      return absl::NotFoundError(absl::StrCat("no voice ", Quote(voice), hint, "; voices include ", SomeVoices()));
    }
    found = plus == std::string_view::npos ? *base : WithVariant(*base, voice.substr(plus + 1));
    if (!found.ok()) return found.status();
  }
  if (!language_code.empty() && !Speaks(*found, language_code)) {
    return absl::InvalidArgumentError(absl::StrCat("voice ", found->name, " speaks ", found->language_code, ", not ", Quote(language_code),
                                                   "; leave the language out, or pick a voice of that language"));
  }
  return found;
}

}  // namespace voxgate::engines::espeak::internal
