// Fuzzes the check a client's text meets before espeak-ng: what passes is valid UTF-8 without
// control characters (espeak reads it as text; bytes it cannot decode must never reach it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engines/espeak/espeak_engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!voxgate::engines::espeak::ValidateText(text, 4096).ok()) return 0;
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') __builtin_trap();
    if (c == 0x7f || c == 0xc0 || c == 0xc1 || c >= 0xf5) __builtin_trap();  // never in valid UTF-8 text
  }
  return 0;
}
