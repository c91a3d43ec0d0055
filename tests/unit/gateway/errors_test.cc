#include "gateway/errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace voxgate::gateway {
namespace {

TEST(Errors, HttpMapping) {
  EXPECT_EQ(HttpStatusFor(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusFor(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusFor(absl::OutOfRangeError("x")), 413);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("x")), 503);
  EXPECT_EQ(RetryAfterSeconds(absl::ResourceExhaustedError("x")), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::InvalidArgumentError("x")), 0);
  // The header says what the message says.
  EXPECT_EQ(RetryAfterSeconds(absl::ResourceExhaustedError("over capacity: all 8 streams of pool \"p\" are busy; retry after 5 s")), 5);
  EXPECT_EQ(RetryAfterSeconds(absl::UnavailableError("no healthy engine in pool \"p\" yet; retry after 1 s")), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::UnavailableError("retry after 99999999999 s")), 3600);
  EXPECT_EQ(RetryAfterSeconds(absl::UnavailableError("retry after soon")), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::InvalidArgumentError("retry after 5 s")), 0);
  auto body = nlohmann::json::parse(ErrorBody(absl::ResourceExhaustedError("over capacity")));
  EXPECT_EQ(body["error"]["code"], "over_capacity");
  EXPECT_EQ(body["error"]["type"], "server_error");
  EXPECT_EQ(body["error"]["message"], "over capacity");
}

// A message may quote what a client sent (a model name of megabytes): what is shown is bounded,
// cut at a character, and says how long it was.
TEST(Errors, AMessageIsShownBounded) {
  EXPECT_EQ(ShownMessage(absl::NotFoundError("unknown model \"x\"")), "unknown model \"x\"");
  const std::string quoted = "unknown model \"" + std::string(1 << 20, 'a') + "\"";
  auto body = nlohmann::json::parse(ErrorBody(absl::NotFoundError(quoted)));
  const std::string shown = body["error"]["message"];
  EXPECT_LT(shown.size(), speech::kShownMessageBytes + 32);
  EXPECT_EQ(shown.substr(0, 15), "unknown model \"");
  EXPECT_NE(shown.find("… (" + std::to_string(quoted.size()) + " bytes)"), std::string::npos) << shown.substr(shown.size() - 40);
  // Not cut inside a character: "é" is two bytes, the limit falls between them.
  const std::string accents = std::string(speech::kShownMessageBytes - 1, 'a') + "é";
  const std::string cut = ShownMessage(absl::InvalidArgumentError(accents + "tail"));
  EXPECT_EQ(cut.substr(0, speech::kShownMessageBytes - 1), std::string(speech::kShownMessageBytes - 1, 'a'));
  EXPECT_EQ(cut.substr(speech::kShownMessageBytes - 1, 3), "…");
}

TEST(Errors, WebSocketCloseCodes) {
  EXPECT_EQ(WebSocketCloseCode(absl::OkStatus()), 1000);
  EXPECT_EQ(WebSocketCloseCode(absl::InvalidArgumentError("x")), 1007);
  EXPECT_EQ(WebSocketCloseCode(absl::NotFoundError("x")), 1008);
  EXPECT_EQ(WebSocketCloseCode(absl::OutOfRangeError("x")), 1009);
  EXPECT_EQ(WebSocketCloseCode(absl::ResourceExhaustedError("x")), 1013);
  EXPECT_EQ(WebSocketCloseCode(absl::InternalError("x")), 1011);
}

}  // namespace
}  // namespace voxgate::gateway
