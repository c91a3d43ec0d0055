// The reference parser behind ParseLogEntry's fast path, for the tests and the fuzzer that
// check the two agree on every input.
#pragma once

#include <string_view>

#include "logs/log_entry.h"

namespace voxgate::logs::internal {

// ParseLogEntry through nlohmann's SAX parser only.
ParseResult ParseLogEntryWithNlohmann(std::string_view json, LogEntry* entry);

}  // namespace voxgate::logs::internal
