// Fuzzes the body of POST /v1/audio/speech (client-controlled JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/protocols/openai/speech_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace openai = voxgate::gateway::openai;
  auto call = openai::ParseSpeechRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!call.ok()) return 0;
  // A parsed request always has text and a speed OpenAI allows.
  if (call->request.text.empty() || !(call->request.speaking_rate >= 0.25 && call->request.speaking_rate <= 4.0)) __builtin_trap();
  return 0;
}
