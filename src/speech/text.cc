#include "speech/text.h"

#include "absl/strings/str_cat.h"
#include "core/utf8.h"
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
    const size_t length = core::DecodeUtf8(text, i).length;
    if (length == 0) return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    i += length;
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
