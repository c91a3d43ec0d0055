// How an absl::Status reaches a client: an HTTP status with a JSON error body (OpenAI's error
// shape, so its SDKs show the message), or a WebSocket close code.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "speech/call_report.h"

namespace voxgate::gateway {

// Shared with the access lines of every tier.
using speech::ErrorCode;
using speech::HttpStatusFor;
using speech::ShownMessage;
// {"error": {"message": ..., "type": ..., "code": ...}}
std::string ErrorBody(const absl::Status& status);
// Seconds a client should wait before retrying, or 0 when retrying will not help.
int RetryAfterSeconds(const absl::Status& status);
// RFC 6455 close code: 1007 bad data, 1008 policy (bad config), 1009 too big, 1011 server error,
// 1013 try again later (capacity, draining).
int WebSocketCloseCode(const absl::Status& status);

}  // namespace voxgate::gateway
