#include "gateway/errors.h"

#include <algorithm>
#include <cctype>
#include <string_view>

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
  if (s.code() != absl::StatusCode::kResourceExhausted && s.code() != absl::StatusCode::kUnavailable &&
      s.code() != absl::StatusCode::kAborted) {
    return 0;
  }
  // The tier that refused says when in its message ("...; retry after 5 s"): the message is what
  // crosses every tier (gRPC carries no status payloads), so the header agrees with the text.
  constexpr std::string_view kHint = "retry after ";
  const std::string_view message(s.message().data(), s.message().size());
  const size_t at = message.rfind(kHint);
  if (at == std::string_view::npos) return 1;
  int seconds = 0;
  size_t i = at + kHint.size();
  for (; i < message.size() && std::isdigit(static_cast<unsigned char>(message[i])); ++i) {
    seconds = std::min(seconds * 10 + (message[i] - '0'), 3600);
  }
  const bool in_seconds = message.substr(i, 2) == " s";
  return in_seconds ? std::clamp(seconds, 1, 3600) : 1;
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
