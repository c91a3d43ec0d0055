// Fuzzes what a WebSocket client controls in the native protocol: the query string and text frames.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/protocols/native/native_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace native = voxgate::gateway::native;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  native::StreamConfig config;
  (void)native::ApplyQuery(input, config);
  auto msg = native::ParseClientText(input);
  if (msg.ok()) (void)native::ApplyJson(msg->body, config);
  if (config.sample_rate < 8000 || config.sample_rate > 192000) __builtin_trap();
  return 0;
}
