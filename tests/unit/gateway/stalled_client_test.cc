// A WebSocket client that keeps sending audio but stops reading its results must not hold the
// server's writer (and the engine's slot) forever. The client here is a raw socket with a tiny
// receive buffer, so the server's writes block within moments.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
#include "unit/gateway/raw_socket.h"

namespace voxgate::gateway {
namespace {

using std::chrono::steady_clock;
using testing::Connect;
using testing::SendAll;

// One masked binary frame (RFC 6455 §5.2: clients mask every frame).
std::string BinaryFrame(size_t payload_bytes) {
  std::string frame = {'\x82', static_cast<char>(0x80 | 126), static_cast<char>(payload_bytes >> 8),
                       static_cast<char>(payload_bytes & 0xff), '\x01', '\x02', '\x03', '\x04'};
  for (size_t i = 0; i < payload_bytes; ++i) frame += static_cast<char>(0 ^ "\x01\x02\x03\x04"[i % 4]);
  return frame;
}

TEST(StalledClientTest, AClientThatStopsReadingIsCutOffAndItsStreamFreed) {
  auto engine = std::make_shared<testing::FakeSpeechService>(1);
  GatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.admin = "127.0.0.1:0";
  options.limits.idle_timeout_seconds = 1;
  Gateway gateway(options, engine);
  ASSERT_TRUE(gateway.Start().ok());

  const int fd = Connect(gateway.listen_address(), /*receive_buffer=*/2048);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, testing::WebSocketUpgrade("/v1/recognize?language=en-US&interim_results=true")));
  // Like every client, wait for the handshake's answer before sending frames.
  const std::string response = testing::ReceiveUntil(fd, "\r\n\r\n", std::chrono::seconds(10));
  ASSERT_NE(response.find(" 101 "), std::string::npos) << response;
  // Every frame of audio makes the fake engine send a result; none is ever read.
  const std::string frame = BinaryFrame(320);
  const auto deadline = steady_clock::now() + std::chrono::seconds(20);
  bool cut_off = false;
  while (steady_clock::now() < deadline && !cut_off) {
    cut_off = !SendAll(fd, frame) || (engine->started() == 1 && engine->active() == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(cut_off) << "the server kept the stalled client";
  // The stream was cancelled and the engine slot is free again; nothing else is held.
  const auto settle = steady_clock::now() + std::chrono::seconds(5);
  while (steady_clock::now() < settle && (engine->active() != 0 || gateway.active_requests() != 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(engine->started(), 1);
  EXPECT_EQ(engine->active(), 0);
  EXPECT_EQ(gateway.active_requests(), 0);
  close(fd);
  gateway.Stop();
}

}  // namespace
}  // namespace voxgate::gateway
