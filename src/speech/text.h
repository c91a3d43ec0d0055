// What every engine that takes a client's text checks first.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace voxgate::speech {

// Why `text` is not plain UTF-8 text (a control character other than tab, newline and carriage
// return, or invalid UTF-8: overlong forms, surrogates, past U+10FFFF), naming the byte offset;
// or OK. On OK, `*characters` (when given) is its length in code points.
absl::Status CheckPlainText(std::string_view text, size_t* characters = nullptr);

// A recognizer's transcript made fit for a translator: recognizers write English in lower case,
// and a translator reads the lower-case pronoun as an unknown word ("i have two dogs" came back
// as "i Tiene dos perros"), so for an English `language` "i", "i'm", "i'll", ... get their "I".
std::string TranscriptForTranslation(std::string_view transcript, std::string_view language);

}  // namespace voxgate::speech
