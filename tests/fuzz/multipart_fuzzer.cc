// Fuzzes the multipart/form-data parser with arbitrary bodies and Content-Type values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first line is the Content-Type header value, the rest the body.
  const size_t nl = input.find('\n');
  const std::string_view content_type = input.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  auto boundary = voxgate::gateway::MultipartBoundary(content_type);
  auto parts = voxgate::gateway::ParseMultipart(body, boundary.ok() ? *boundary : "b");
  if (parts.ok()) {
    for (const auto& p : *parts) {
      // Every part must lie inside the body.
      if (p.data.data() < body.data() || p.data.data() + p.data.size() > body.data() + body.size()) __builtin_trap();
    }
  }
  return 0;
}
