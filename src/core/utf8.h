// Decoding one UTF-8 sequence, for code that checks or escapes text from outside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace voxgate::core {

struct CodePoint {
  size_t length = 0;  // bytes; 0: not valid UTF-8
  uint32_t value = 0;
};

// The UTF-8 sequence that starts at text[i] (i < text.size()): its length and code point, or
// length 0 when it is not valid (a stray continuation byte, an overlong form, a surrogate, past
// U+10FFFF, cut off by the end). ASCII is a sequence of one.
inline CodePoint DecodeUtf8(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return {1, c};
  // The lead byte says how many continuation bytes follow.
  const int extra = c >= 0xf0 ? (c <= 0xf4 ? 3 : -1) : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
  if (extra < 0 || i + static_cast<size_t>(extra) >= text.size()) return {};
  uint32_t cp = c & (0x3f >> extra);
  for (int k = 1; k <= extra; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + static_cast<size_t>(k)]);
    if ((cc & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return {};
  if (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) return {};
  return {static_cast<size_t>(extra) + 1, cp};
}

}  // namespace voxgate::core
