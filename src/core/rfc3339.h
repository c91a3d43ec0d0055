// RFC 3339 timestamps, as Cloud Logging, Alertmanager and Cloud Monitoring write them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace voxgate::core {

// "2026-12-01T10:00:00.123456Z", "...+01:00", up to nanoseconds (digits past microseconds are
// dropped) to microseconds since the epoch; nullopt when it is not one.
std::optional<int64_t> ParseRfc3339(std::string_view text);
// Microseconds since the epoch as "2026-12-01T10:00:00.123Z" (UTC), with fraction_digits (0-6)
// after the seconds.
std::string FormatRfc3339(int64_t micros, int fraction_digits);

}  // namespace voxgate::core
