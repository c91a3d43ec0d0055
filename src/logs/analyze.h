// `voxctl logs analyze [FILE|-]`: a voxgate log (JSON lines or a gcloud export) in, a report out.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "logs/record_reader.h"
#include "logs/report.h"

namespace voxgate::logs {

// Reads every record of `source` (form detected) and analyses it. `on_read` gets the bytes
// read so far after every read.
absl::StatusOr<Report> AnalyzeSource(ByteSource& source, const AnalyzerOptions& options,
                                     const std::function<void(uint64_t)>& on_read = {},
                                     size_t max_record = RecordReader::kDefaultMaxRecord);
// The same on a log in memory (tests, the fuzzer); `max_read` bounds each read.
Report AnalyzeString(std::string_view log, const AnalyzerOptions& options = {},
                     size_t max_record = RecordReader::kDefaultMaxRecord, size_t max_read = SIZE_MAX);

struct AnalyzeCommand {
  std::string input = "-";      // a file, or "-" for stdin
  std::string format = "text";  // text, json or csv
  bool progress = true;         // a progress bar on stderr, when stderr is a terminal
  AnalyzerOptions options;
};

// Writes the report of command.input to `out`; an unreadable input or unknown format is an error.
absl::Status RunAnalyzeCommand(const AnalyzeCommand& command, std::ostream& out);

}  // namespace voxgate::logs
