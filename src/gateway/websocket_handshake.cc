#include "gateway/websocket_handshake.h"

#include "absl/strings/escaping.h"

namespace voxgate::gateway {

std::optional<HandshakeRefusal> RefuseHandshake(std::string_view key, std::string_view version) {
  if (version.empty()) return HandshakeRefusal{400, "a WebSocket upgrade needs the header Sec-WebSocket-Version: 13"};
  if (version != "13") {
    return HandshakeRefusal{426, "this server speaks WebSocket version 13 (RFC 6455), not the Sec-WebSocket-Version asked for"};
  }
  if (key.empty()) return HandshakeRefusal{400, "a WebSocket upgrade needs the header Sec-WebSocket-Key"};
  std::string nonce;
  // The size check first: the decoder is then never handed more than 24 bytes.
  if (key.size() != 24 || !absl::Base64Unescape(absl::string_view(key.data(), key.size()), &nonce) || nonce.size() != 16) {
    return HandshakeRefusal{400, "Sec-WebSocket-Key must be the base64 of 16 bytes (24 characters)"};
  }
  return std::nullopt;
}

}  // namespace voxgate::gateway
