// The report as a terminal reads it (text), as one JSON document, or as CSV rows for other
// tools. CSV: one header, one row per item, the `section` column says which kind of row it is
// (total, route, engine, pool, slowest, burst, anomaly, note); columns a kind does not use are
// empty (docs/OPERATIONS.md lists which are used by which).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "logs/report.h"

namespace voxgate::logs {

std::string FormatReportText(const Report& report);
nlohmann::json ReportToJson(const Report& report);
std::string FormatReportCsv(const Report& report);

// RFC 3339 UTC with microseconds.
std::string FormatTime(int64_t time_us);

}  // namespace voxgate::logs
