#include "logs/analyze.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "logs/analyzer.h"
#include "logs/progress_bar.h"
#include "logs/report_format.h"

namespace voxgate::logs {
namespace {

const char* FormName(InputForm form) { return form == InputForm::kJsonArray ? "gcloud-json" : "json-lines"; }

}  // namespace

absl::StatusOr<Report> AnalyzeSource(ByteSource& source, const AnalyzerOptions& options,
                                     const std::function<void(uint64_t)>& on_read, size_t max_record) {
  RecordReader reader(source, max_record);
  if (on_read) reader.set_on_read(on_read);
  Analyzer analyzer(options);
  std::string_view record;
  while (true) {
    auto more = reader.Next(&record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    analyzer.AddRecord(record);
  }
  Report report = analyzer.Finish(reader.counts());
  report.form = FormName(reader.form());
  return report;
}

Report AnalyzeString(std::string_view log, const AnalyzerOptions& options, size_t max_record, size_t max_read) {
  StringSource source(log, max_read);
  // Memory never fails to read.
  return *AnalyzeSource(source, options, {}, max_record);
}

absl::Status RunAnalyzeCommand(const AnalyzeCommand& command, std::ostream& out) {
  if (command.format != "text" && command.format != "json" && command.format != "csv") {
    return absl::InvalidArgumentError("--format must be text, json or csv, not " + command.format);
  }
  int fd = STDIN_FILENO;
  if (command.input != "-") {
    fd = ::open(command.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(command.input + ": " + std::strerror(errno));
  }
  struct stat st {};
  const uint64_t size = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  if (size > 0) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::optional<ProgressBar> progress;
  if (command.progress && ::isatty(STDERR_FILENO)) progress.emplace(stderr, size, core::SystemClock());
  FdSource source(fd);
  auto report = AnalyzeSource(source, command.options, progress ? [&](uint64_t bytes) { progress->Update(bytes); }
                                                                 : std::function<void(uint64_t)>());
  if (progress) progress->Finish();
  if (fd != STDIN_FILENO) ::close(fd);
  if (!report.ok()) return absl::Status(report.status().code(), command.input + ": " + std::string(report.status().message()));
  report->input = command.input;
  if (command.format == "json") {
    out << ReportToJson(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (command.format == "csv") {
    out << FormatReportCsv(*report);
  } else {
    out << FormatReportText(*report);
  }
  out.flush();
  if (!out) return absl::InternalError("cannot write the report");
  return absl::OkStatus();
}

}  // namespace voxgate::logs
