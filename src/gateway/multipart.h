// multipart/form-data (RFC 7578) parsing for uploads. Parts are views into the body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::gateway {

struct MultipartPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string_view data;
};

// The boundary from a Content-Type header value, e.g. `multipart/form-data; boundary=xyz`.
absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts. At most `max_parts` parts are accepted.
absl::StatusOr<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                          size_t max_parts = 64);

}  // namespace voxgate::gateway
