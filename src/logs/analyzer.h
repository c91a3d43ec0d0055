// The analysis of `voxctl logs analyze`: fed one record at a time, in any order, in memory
// bounded by AnalyzerOptions whatever the size of the log.
#pragma once

#include <memory>
#include <string_view>

#include "logs/log_entry.h"
#include "logs/record_reader.h"
#include "logs/report.h"

namespace voxgate::logs {

class Analyzer {
 public:
  explicit Analyzer(AnalyzerOptions options = {});
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Parses one record (a line or an export's object) and adds it; what is not a JSON object is
  // counted as skipped.
  void AddRecord(std::string_view record);
  void Add(const LogEntry& entry);
  // The report; `reader` contributes bytes read and what it skipped before parsing.
  Report Finish(const ReaderCounts& reader);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::logs
