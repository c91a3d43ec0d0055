// Stopping the gateway with streams still open: the speech service may hold a stream's observer
// (and so its wake-up channels) after the gateway and its io_context are gone, and releasing it
// then must touch nothing of theirs (ASan).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
#include "testing/wait_for.h"
#include "unit/gateway/raw_socket.h"

namespace voxgate::gateway {
namespace {

using testing::Connect;
using testing::ReceiveUntil;
using testing::SendAll;
using testing::WebSocketUpgrade;
using testing::WaitFor;

TEST(ShutdownTest, TheServiceMayOutliveTheGatewayWithStreamsOpen) {
  auto engine = std::make_shared<voxgate::testing::FakeSpeechService>(4);
  int fd = -1;
  {
    GatewayOptions options;
    options.listen = "127.0.0.1:0";
    options.admin = "127.0.0.1:0";
    Gateway gateway(options, engine);
    ASSERT_TRUE(gateway.Start().ok());
    fd = Connect(gateway.listen_address());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, WebSocketUpgrade("/v1/recognize?language=en-US")));
    const std::string answer = ReceiveUntil(fd, "ready", std::chrono::seconds(10));  // the 101, then the ready message
    ASSERT_NE(answer.find(" 101 "), std::string::npos) << answer;
    ASSERT_NE(answer.find("ready"), std::string::npos) << answer;
    EXPECT_EQ(engine->active(), 1);
    // The engine falls behind: the stream's end (the gateway cancels it as it stops) waits in its
    // queue, and its observer with it.
    engine->SetPaused(true);
    gateway.Stop();
  }
  // The gateway is gone when the engine gets to the stream and tells its observer it ended.
  engine->SetPaused(false);
  EXPECT_TRUE(WaitFor([&] { return engine->active() == 0; })) << engine->active() << " streams still in the engine";
  engine.reset();
  close(fd);
}

}  // namespace
}  // namespace voxgate::gateway
