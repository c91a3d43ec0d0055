// `voxctl status`: the admin listener's /v1/status JSON as a table an operator can read.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace voxgate::cli {

absl::StatusOr<std::string> FormatStatusTable(const std::string& status_json);

}  // namespace voxgate::cli
