// A client's JSON text that must be one object, refused with what was wrong with it.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace voxgate::gateway {

// `what` names the text ("the body"); `example` shows the object wanted. Not JSON: INVALID_ARGUMENT
// saying where and why (invalid UTF-8, a truncated text, ...); JSON but not an object: the example.
absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what, std::string_view example);

}  // namespace voxgate::gateway
