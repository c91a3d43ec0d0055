#include "gateway/websocket_handshake.h"

#include <gtest/gtest.h>

namespace voxgate::gateway {
namespace {

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455's example: "the sample nonce"

TEST(WebSocketHandshake, AConformingRequestIsAccepted) { EXPECT_FALSE(RefuseHandshake(kRfcKey, "13").has_value()); }

TEST(WebSocketHandshake, AnotherVersionIsAnsweredUpgradeRequired) {
  auto refusal = RefuseHandshake(kRfcKey, "8");
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->http_status, 426);
  EXPECT_NE(refusal->message.find("13"), std::string::npos);
}

TEST(WebSocketHandshake, AMissingHeaderIsNamed) {
  auto no_version = RefuseHandshake(kRfcKey, "");
  ASSERT_TRUE(no_version.has_value());
  EXPECT_EQ(no_version->http_status, 400);
  EXPECT_NE(no_version->message.find("Sec-WebSocket-Version"), std::string::npos);
  auto no_key = RefuseHandshake("", "13");
  ASSERT_TRUE(no_key.has_value());
  EXPECT_EQ(no_key->http_status, 400);
  EXPECT_NE(no_key->message.find("Sec-WebSocket-Key"), std::string::npos);
}

TEST(WebSocketHandshake, AKeyThatIsNotSixteenBytesOfBase64IsRefused) {
  const std::string long_key(4096, 'A');
  for (std::string_view key : std::initializer_list<std::string_view>{"abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==x", "dGhlIHNhbXBsZSBub25jZ!==",
                               "dGhlIHNhbXBsZSBub25jZXh4",
                               std::string_view(long_key)}) {
    auto refusal = RefuseHandshake(key, "13");
    ASSERT_TRUE(refusal.has_value()) << key;
    EXPECT_EQ(refusal->http_status, 400);
  }
}

}  // namespace
}  // namespace voxgate::gateway
