// How an absl::Status reaches a client: an HTTP status with a JSON error body (OpenAI's error
// shape, so its SDKs show the message), or a WebSocket close code.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace voxgate::gateway {

int HttpStatusFor(const absl::Status& status);
// A short machine-readable code, e.g. "invalid_argument", "over_capacity".
std::string ErrorCode(const absl::Status& status);
// {"error": {"message": ..., "type": ..., "code": ...}}
std::string ErrorBody(const absl::Status& status);
// Seconds a client should wait before retrying, or 0 when retrying will not help.
int RetryAfterSeconds(const absl::Status& status);
// RFC 6455 close code: 1007 bad data, 1008 policy (bad config), 1009 too big, 1011 server error,
// 1013 try again later (capacity, draining).
int WebSocketCloseCode(const absl::Status& status);

}  // namespace voxgate::gateway
