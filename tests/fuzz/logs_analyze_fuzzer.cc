// Fuzzes `voxctl logs analyze`'s input side: framing (JSON lines or a gcloud array, with small
// reads and a small record limit so every boundary is crossed), parsing, the analysis, and
// every output format (whose JSON must always serialise: no invalid UTF-8 may reach it). And
// differentially: the fast parser gives what nlohmann's gives, for every line.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "logs/analyze.h"
#include "logs/internal/parse.h"
#include "logs/report_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace logs = voxgate::logs;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  logs::AnalyzerOptions options;
  options.top = 3;
  options.max_names = 4;
  options.max_windows = 4;
  options.max_anomaly_cells = 8;
  options.max_messages = 4;
  options.anomaly_min_samples = 1;
  options.anomaly_min_errors = 1;
  options.burst_min_errors = 1;
  const size_t max_read = size > 0 ? 1 + data[0] % 16 : 1;
  const auto report = logs::AnalyzeString(input, options, /*max_record=*/256, max_read);
  const auto& t = report.totals;
  if (t.bytes != size) __builtin_trap();
  if (t.skipped != t.not_json + t.not_object + t.oversized + t.truncated + t.stray) __builtin_trap();
  if (report.slowest.size() > options.top) __builtin_trap();
  (void)logs::FormatReportText(report);
  (void)logs::FormatReportCsv(report);
  (void)logs::ReportToJson(report).dump();  // throws (and so fails) on invalid UTF-8

  logs::LogEntry fast, reference;
  for (size_t start = 0; start <= input.size();) {
    const size_t end = std::min(input.find('\n', start), input.size());
    const std::string_view line = input.substr(start, end - start);
    if (logs::ParseLogEntry(line, &fast) != logs::internal::ParseLogEntryWithNlohmann(line, &reference) ||
        !(fast == reference)) {
      __builtin_trap();
    }
    start = end + 1;
  }
  return 0;
}
