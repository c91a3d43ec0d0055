#include "gateway/errors.h"

#include <nlohmann/json.hpp>


namespace voxgate::gateway {

std::string ErrorBody(const absl::Status& s) {
  const int http = HttpStatusFor(s);
  nlohmann::json body = {{"error",
                          {{"message", ShownMessage(s)},
                           {"type", http < 500 ? "invalid_request_error" : "server_error"},
                           {"code", ErrorCode(s)}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int RetryAfterSeconds(const absl::Status& s) {
  return s.code() == absl::StatusCode::kResourceExhausted || s.code() == absl::StatusCode::kUnavailable ||
                 s.code() == absl::StatusCode::kAborted
             ? 1
             : 0;
}

int WebSocketCloseCode(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kCancelled: return 1000;
    case absl::StatusCode::kInvalidArgument: return 1007;
    case absl::StatusCode::kOutOfRange: return 1009;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnavailable: return 1013;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss: return 1011;
    default: return 1008;
  }
}

}  // namespace voxgate::gateway
