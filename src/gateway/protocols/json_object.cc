#include "gateway/protocols/json_object.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace voxgate::gateway {

absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what, std::string_view example) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: ..." without its tag.
    std::string why = e.what();
    if (const size_t tag_end = why.find("] "); why.starts_with("[json.exception") && tag_end != std::string::npos) why.erase(0, tag_end + 2);
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " is not valid JSON: ", why));
  }
  if (!parsed.is_object()) return absl::InvalidArgumentError(absl::StrCat(std::string(what), " must be a JSON object: ", std::string(example)));
  return parsed;
}

}  // namespace voxgate::gateway
