// Checking a WebSocket upgrade request (RFC 6455 section 4.2.1) before accepting it, so that a
// malformed one is refused with the same JSON error and access line as any other bad request
// (Beast's accept would answer it in plain text, and unlogged).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace voxgate::gateway {

struct HandshakeRefusal {
  int http_status;  // 400, or 426 for a version other than 13 (sent with Sec-WebSocket-Version: 13)
  std::string message;
};

// The values of Sec-WebSocket-Key and Sec-WebSocket-Version (empty when absent). The key must be
// the base64 of 16 bytes, as every conforming client sends.
std::optional<HandshakeRefusal> RefuseHandshake(std::string_view key, std::string_view version);

}  // namespace voxgate::gateway
