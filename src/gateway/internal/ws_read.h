// Reading a client's WebSocket message with a size limit the server can explain.
#pragma once

#include <cstddef>
#include <optional>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/internal/asio.h"

namespace voxgate::gateway::internal {

// Beast's own limit (read_message_max) fails the stream and closes it 1009 with no reason before
// the server can say why. Streams set that limit off (0: none) and read through this, which reads
// at most `max_bytes` + 1 of a message and then returns message_too_big with the stream still
// open, so that the caller sends its error and closes.
template <typename Ws>
asio::awaitable<std::tuple<boost::system::error_code, size_t>> ReadBoundedMessage(Ws& ws, beast::flat_buffer& buffer,
                                                                                  size_t max_bytes) {
  size_t total = 0;
  while (true) {
    auto [ec, n] = co_await ws.async_read_some(buffer, max_bytes + 1 - total, kAwait);
    total += n;
    if (ec) co_return std::tuple{ec, total};
    if (total > max_bytes) co_return std::tuple{boost::system::error_code(websocket::error::message_too_big), total};
    if (ws.is_message_done()) co_return std::tuple{ec, total};
  }
}

// What the client is told when ReadBoundedMessage returns message_too_big.
inline absl::Status MessageTooBig(size_t max_bytes) {
  return absl::OutOfRangeError(absl::StrCat("message exceeds the limit of ", max_bytes, " bytes"));
}

// What a stream over limits.max_stream_seconds of the client's audio is told.
inline absl::Status StreamTooLong(double max_seconds) {
  return absl::OutOfRangeError(absl::StrCat("stream exceeds the limit of ", max_seconds, " s of audio"));
}

// Why reading a client's message failed, for the client and the access line; nullopt: the client
// went away (closed, or the connection dropped). On a protocol violation (a bad opcode, a text
// message that is not UTF-8) Beast has already closed with 1002 or 1007; the client did not leave,
// it broke the protocol.
inline std::optional<absl::Status> ReadError(const boost::system::error_code& ec, size_t max_bytes) {
  if (ec == websocket::error::message_too_big) return MessageTooBig(max_bytes);
  if (ec == websocket::condition::protocol_violation) {
    return absl::InvalidArgumentError(absl::StrCat("the client broke the WebSocket protocol: ", ec.message()));
  }
  return std::nullopt;
}

}  // namespace voxgate::gateway::internal
