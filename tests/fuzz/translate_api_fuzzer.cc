// Fuzzes the body of POST /v1/translate (client-controlled JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/protocols/translate/translate_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace translate = voxgate::gateway::translate;
  auto call = translate::ParseTranslateRequest(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!call.ok()) return 0;
  if (call->request.texts.empty()) __builtin_trap();  // a parsed request always has text
  (void)translate::RenderTranslateResponse(*call, {call->request.texts, "model"});
  return 0;
}
