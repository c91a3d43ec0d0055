#include "speech/text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "speech/language.h"

namespace voxgate::speech {

absl::Status CheckPlainText(std::string_view text, size_t* characters) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
        return absl::InvalidArgumentError(absl::StrCat("control character 0x", absl::Hex(c), " at byte ", i));
      }
      ++i;
      continue;
    }
    // The lead byte says how many continuation bytes follow.
    const int extra = c >= 0xf0 ? (c <= 0xf4 ? 3 : -1) : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
    if (extra < 0 || i + extra >= text.size()) return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    bool ok = true;
    uint32_t cp = c & (0x3f >> extra);
    for (int k = 1; ok && k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok = ok && !(extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) && !(extra == 3 && (cp < 0x10000 || cp > 0x10ffff));
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    i += static_cast<size_t>(extra) + 1;
  }
  if (characters != nullptr) *characters = count;
  return absl::OkStatus();
}

std::string TranscriptForTranslation(std::string_view transcript, std::string_view language) {
  std::string out(transcript);
  if (!SameLanguage(language, "en")) return out;
  for (size_t i = 0; i < out.size(); ++i) {
    const bool word_start = i == 0 || out[i - 1] == ' ';
    const bool word_end = i + 1 == out.size() || out[i + 1] == ' ' || out[i + 1] == '\'';
    if (out[i] == 'i' && word_start && word_end) out[i] = 'I';
  }
  return out;
}

}  // namespace voxgate::speech
