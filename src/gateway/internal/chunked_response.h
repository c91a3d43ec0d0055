// A response sent with chunked transfer encoding as it is made (synthesized audio, transcript
// events). Each write may wait `idle` at most: a client that stopped reading ends the response.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "gateway/internal/asio.h"

namespace voxgate::gateway::internal {

class ChunkedResponse {
 public:
  ChunkedResponse(beast::tcp_stream& stream, std::chrono::milliseconds idle) : stream_(stream), idle_(idle) {}

  // Writes the status line and headers (chunked is set here). False: the connection failed.
  asio::awaitable<bool> Start(http::response<http::empty_body> head) {
    started_ = true;
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer{head};
    stream_.expires_after(idle_);
    auto [ec, n] = co_await http::async_write_header(stream_, serializer, kAwait);
    co_return !ec;
  }
  // One chunk (nothing for empty bytes).
  asio::awaitable<bool> Send(std::string_view bytes) {
    if (bytes.empty()) co_return true;
    stream_.expires_after(idle_);
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(bytes.data(), bytes.size())), kAwait);
    bytes_sent_ += bytes.size();
    co_return !ec;
  }
  // The last chunk: the body is complete. (A response that ends without it, by closing the
  // connection, is how HTTP tells the client that the body is incomplete.)
  asio::awaitable<bool> End() {
    stream_.expires_after(idle_);
    auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), kAwait);
    co_return !ec;
  }

  bool started() const { return started_; }
  uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  beast::tcp_stream& stream_;
  const std::chrono::milliseconds idle_;
  bool started_ = false;
  uint64_t bytes_sent_ = 0;
};

}  // namespace voxgate::gateway::internal
