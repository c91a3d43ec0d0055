// Fuzzes what a client's text meets before apertium: validation, and the escaping of apertium's
// reserved characters (whatever passes validation must come back unchanged).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engines/apertium/apertium_engine.h"
#include "engines/apertium/internal/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ap = voxgate::engines::apertium;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!ap::ValidateText(text, 10000).ok()) return 0;
  if (ap::internal::UnescapeFromApertium(ap::internal::EscapeForApertium(text)) != text) __builtin_trap();
  return 0;
}
