#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <thread>

#include "core/metrics.h"

namespace voxgate::core {
namespace {

// Points stdout (the log writer's output) at a pipe for the test's lifetime. gtest prints to
// stdout too, so assertions come after Stop().
class StdoutCapture {
 public:
  // hold: nothing reads the pipe until Release(), so the writer blocks once the pipe is full.
  explicit StdoutCapture(bool hold = false) : hold_(hold) {
    FlushLogs();
    std::fflush(stdout);
    if (pipe(fds_) != 0) std::abort();
    saved_ = dup(STDOUT_FILENO);
    dup2(fds_[1], STDOUT_FILENO);
    close(fds_[1]);
    reader_ = std::thread([this] {
      char buf[65536];
      while (hold_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ssize_t n;
      while ((n = read(fds_[0], buf, sizeof buf)) > 0) text_.append(buf, static_cast<size_t>(n));
    });
  }
  void Release() { hold_.store(false); }
  ~StdoutCapture() { Stop(); }

  // The lines written so far, as JSON objects.
  std::vector<nlohmann::json> Stop() {
    if (saved_ >= 0) {
      Release();
      FlushLogs();
      dup2(saved_, STDOUT_FILENO);  // closes the pipe's last write end: the reader sees EOF
      close(saved_);
      saved_ = -1;
      reader_.join();
      close(fds_[0]);
    }
    std::vector<nlohmann::json> lines;
    std::istringstream in(text_);
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
  std::atomic<bool> hold_;
  std::thread reader_;
  std::string text_;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(SetLogLevels({{"default", "info"}}), ""); }
  void TearDown() override {
    std::map<std::string, std::string> reset = {{"default", "info"}};
    SetLogLevels(reset);
    SetLogLabels(nlohmann::json::object());
    SetLogTraceProject("");
  }
};

TEST_F(LogTest, Rfc3339UtcWithMicroseconds) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1795428000123456LL));
  EXPECT_EQ(FormatRfc3339Utc(t), "2026-11-23T10:00:00.123456Z");
}

TEST_F(LogTest, SeverityNamesAreCloudLoggingNames) {
  EXPECT_EQ(SeverityName(Severity::kWarning), "WARNING");
  EXPECT_EQ(SeverityName(Severity::kCritical), "CRITICAL");
  EXPECT_EQ(ParseSeverity("Warning"), Severity::kWarning);
  EXPECT_EQ(ParseSeverity("off"), Severity::kOff);
  EXPECT_EQ(ParseSeverity("verbose"), std::nullopt);
}

// The schema Cloud Logging reads, field by field (golden).
TEST_F(LogTest, LineHasTheCloudLoggingFields) {
  StdoutCapture capture;
  SetLogLabels({{"tier", "endpoint"}});
  SetLogTraceProject("my-project");
  nlohmann::json fields = {{"request_id", "r1"}};
  AddTraceFields(fields, {"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true});
  LogInfo("hello", fields);
  LogWarning("careful", {{"n", 3}}); const int warning_line = __LINE__;
  auto lines = capture.Stop();
  ASSERT_EQ(lines.size(), 2u);

  nlohmann::json info = lines[0];
  EXPECT_TRUE(std::regex_match(info["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  info.erase("time");
  EXPECT_EQ(info, nlohmann::json::parse(R"({
    "severity": "INFO", "message": "hello", "request_id": "r1",
    "logging.googleapis.com/labels": {"tier": "endpoint", "module": "other"},
    "logging.googleapis.com/trace": "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736",
    "logging.googleapis.com/spanId": "00f067aa0ba902b7",
    "logging.googleapis.com/trace_sampled": true})"));

  const nlohmann::json& warning = lines[1];
  EXPECT_EQ(warning["severity"], "WARNING");
  EXPECT_EQ(warning["n"], 3);
  const auto& where = warning["logging.googleapis.com/sourceLocation"];
  EXPECT_EQ(where["file"], "tests/unit/core/log_test.cc");
  EXPECT_EQ(where["line"], std::to_string(warning_line));
  EXPECT_NE(where["function"].get<std::string>().find("TestBody"), std::string::npos);
  EXPECT_FALSE(info.contains("logging.googleapis.com/sourceLocation"));  // only on warnings and up
}

TEST_F(LogTest, TraceWithoutProjectIsTheBareTraceId) {
  nlohmann::json fields;
  AddTraceFields(fields, {"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", false});
  EXPECT_EQ(fields["logging.googleapis.com/trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(fields["logging.googleapis.com/trace_sampled"], false);
  nlohmann::json none;
  AddTraceFields(none, {});
  EXPECT_TRUE(none.is_null());
}

TEST_F(LogTest, InvalidUtf8DoesNotThrow) {
  StdoutCapture capture;
  EXPECT_NO_THROW(LogInfo("bad \xff\xfe bytes", {{"field", "\xc3"}}));
  auto lines = capture.Stop();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST_F(LogTest, LevelsPerModule) {
  EXPECT_EQ(SetLogLevels({{"default", "warning"}, {"pool", "debug"}}), "");
  EXPECT_TRUE(LogEnabledFor(Severity::kDebug, "pool"));
  EXPECT_FALSE(LogEnabledFor(Severity::kInfo, "gateway"));
  EXPECT_TRUE(LogEnabledFor(Severity::kWarning, "gateway"));
  EXPECT_FALSE(LogEnabledFor(Severity::kInfo, "other"));
  EXPECT_EQ(LogLevels(), nlohmann::json::parse(R"({"default": "warning", "modules": {"pool": "debug"}})"));

  StdoutCapture capture;
  LogInfo("skipped at warning");
  LogError("kept");
  auto lines = capture.Stop();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["message"], "kept");

  EXPECT_EQ(SetLogLevels({{"pool", "off"}}), "");
  EXPECT_FALSE(LogEnabledFor(Severity::kCritical, "pool"));
}

TEST_F(LogTest, BadLevelsAreRefusedWholeWithTheReason) {
  EXPECT_EQ(SetLogLevels({{"pool", "debug"}, {"gatway", "info"}}).substr(0, 28), "unknown log module \"gatway\" ");
  EXPECT_EQ(SetLogLevels({{"pool", "loud"}}),
            "log level for pool: expected debug, info, warning, error, critical or off, got \"loud\"");
  EXPECT_FALSE(LogEnabledFor(Severity::kDebug, "pool"));  // nothing of the refused changes applied
}

TEST_F(LogTest, LevelSpec) {
  std::string error;
  EXPECT_EQ(ParseLogLevelSpec("warning,pool=debug,", error),
            (std::map<std::string, std::string>{{"default", "warning"}, {"pool", "debug"}}));
  EXPECT_EQ(error, "");
  ParseLogLevelSpec("info,pool=", error);
  EXPECT_EQ(error, "expected MODULE=LEVEL, got \"pool=\"");
}

TEST_F(LogTest, SinksGetLinesAtOrAboveTheirSeverityAndNotTheirOwn) {
  StdoutCapture capture;
  auto seen = std::make_shared<std::vector<std::string>>();
  AddLogSink(Severity::kError, [seen](const nlohmann::json& line) {
    seen->push_back(line["message"]);
    LogError("from the sink");  // must not come back to the sink
  });
  LogWarning("below");
  LogError("at");
  Log(Severity::kCritical, "above");
  auto lines = capture.Stop();
  EXPECT_EQ(*seen, (std::vector<std::string>{"at", "above"}));
  EXPECT_EQ(lines.size(), 5u);
}

// A writer stuck on a full pipe never blocks the caller: lines beyond the queue are dropped,
// counted, exported as a metric and reported once the writer moves again.
TEST_F(LogTest, FullOutputDropsAndCountsInsteadOfBlocking) {
  const uint64_t before = DroppedLogLines();
  StdoutCapture capture(/*hold=*/true);
  const std::string padding(200, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) LogInfo("flood", {{"i", i}, {"padding", padding}});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t dropped = DroppedLogLines() - before;
  capture.Release();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the writer reports drops once a second
  LogInfo("after");
  auto lines = capture.Stop();
  EXPECT_LT(seconds, 10) << "logging blocked on the stuck writer";
  EXPECT_GT(dropped, 0u);
  const std::string metrics = Metrics().RenderText();
  EXPECT_NE(metrics.find("voxgate_log_lines_dropped_total " + std::to_string(DroppedLogLines())), std::string::npos);
  uint64_t reported = 0, floods = 0;
  for (const auto& l : lines) {
    if (l["message"] == "log lines dropped: the log writer could not keep up") reported += l["dropped"].get<uint64_t>();
    if (l["message"] == "flood") floods++;
  }
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(floods + dropped, 20000u);
  EXPECT_EQ(lines.back()["message"], "after");
}

}  // namespace
}  // namespace voxgate::core
