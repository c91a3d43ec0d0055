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
  auto body = nlohmann::json::parse(ErrorBody(absl::ResourceExhaustedError("over capacity")));
  EXPECT_EQ(body["error"]["code"], "over_capacity");
  EXPECT_EQ(body["error"]["type"], "server_error");
  EXPECT_EQ(body["error"]["message"], "over capacity");
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
