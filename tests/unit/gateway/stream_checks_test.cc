// What a native stream checks before it starts, against what the service says it serves.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
#include "unit/gateway/raw_socket.h"

namespace voxgate::gateway {
namespace {

// The first thing the server says to a stream opened on `target`, up to its error's code.
std::string FirstError(const Gateway& gateway, const std::string& target) {
  const int fd = testing::Connect(gateway.listen_address());
  if (fd < 0) return "no connection";
  std::string said;
  if (testing::SendAll(fd, testing::WebSocketUpgrade(target))) said = testing::ReceiveUntil(fd, R"("message")", std::chrono::seconds(10));
  close(fd);
  return said;
}

// The fake translates en → es only. Before its engines have said what they serve, a pair it
// lacks is one to retry; after, it is not served.
TEST(StreamChecksTest, ATranslationNotServedIsOneToRetryUntilTheEnginesHaveSaidWhatTheyServe) {
  auto engine = std::make_shared<testing::FakeSpeechService>();
  GatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.admin = "127.0.0.1:0";
  Gateway gateway(options, engine);
  ASSERT_TRUE(gateway.Start().ok());
  const std::string to_french = "/v1/recognize?language=en-US&translate_to=fr";

  engine->set_incomplete(true);
  std::string said = FirstError(gateway, to_french);
  EXPECT_NE(said.find(R"("code":"unavailable")"), std::string::npos) << said;
  EXPECT_NE(said.find("no engine translates en-US->fr"), std::string::npos) << said;

  engine->set_incomplete(false);
  said = FirstError(gateway, to_french);
  EXPECT_NE(said.find(R"("code":"not_found")"), std::string::npos) << said;
  EXPECT_EQ(engine->started(), 0);  // neither stream reached the engine
  gateway.Stop();
}

}  // namespace
}  // namespace voxgate::gateway
