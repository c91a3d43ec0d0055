// Text limits for chat payloads: lengths as the receivers count them, and truncation that never
// splits a UTF-8 sequence and marks the cut with an ellipsis.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace voxgate::alerts::internal {

// Characters as JavaScript counts them (UTF-16 code units: an emoji is 2), which is at least what
// Discord and Slack count, so a text within this length is within their limits.
size_t TextLength(std::string_view utf8);

// At most `max_chars` (TextLength); a cut text ends with "…" (which counts as one).
std::string Truncate(std::string_view utf8, size_t max_chars);

// At most `max_bytes` bytes of UTF-8, cut at a character boundary, ending with "…" when cut.
std::string TruncateBytes(std::string_view utf8, size_t max_bytes);

// Slack mrkdwn: &, < and > escaped (so text cannot form <!channel> or a link).
std::string SlackEscape(std::string_view text);

}  // namespace voxgate::alerts::internal
