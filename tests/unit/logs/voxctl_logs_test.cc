// The real `voxctl logs analyze` binary on a file, on stdin, and on a generated log whose
// burst and drift it must find (bench/generate_logs.cc says what it puts in).
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "unit/logs/log_lines.h"

namespace voxgate::logs {
namespace {

using ::testing::HasSubstr;

struct Ran {
  int status = -1;
  std::string out;
};

std::string BinDir() {
  const char* dir = std::getenv("VOXGATE_BIN_DIR");
  return dir != nullptr ? dir : VOXGATE_DEFAULT_BIN_DIR;
}

Ran Shell(const std::string& command) {
  Ran run;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class VoxctlLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("voxctl-logs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> lines;
    for (int i = 0; i < 100; ++i) {
      testing::Access a;
      a.time_us = testing::kT0 + i * 1000000LL;
      a.latency_s = 0.01 * (i + 1);
      a.status = i % 10 == 0 ? 503 : 200;
      lines.push_back(a.Line());
    }
    lines.push_back("not json at all");
    Write("app.log", testing::JsonLines(lines));
    lines.pop_back();
    Write("export.json", testing::GcloudExport(lines));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Voxctl() const { return BinDir() + "/voxctl"; }

  std::filesystem::path dir_;
};

TEST_F(VoxctlLogs, FileToJson) {
  const Ran run = Shell(Voxctl() + " logs analyze " + Path("app.log") + " --format json --top 2");
  ASSERT_EQ(run.status, 0) << run.out;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["input"], Path("app.log"));
  EXPECT_EQ(j["form"], "json-lines");
  EXPECT_EQ(j["totals"]["lines"], 101);
  EXPECT_EQ(j["totals"]["skipped"]["not_json"], 1);
  EXPECT_EQ(j["routes"][0]["requests"], 100);
  EXPECT_EQ(j["routes"][0]["server_errors"], 10);
  ASSERT_EQ(j["slowest"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["slowest"][0]["latency_s"].get<double>(), 1.0);
}

TEST_F(VoxctlLogs, GcloudExportOnStdinToCsv) {
  const Ran run = Shell(Voxctl() + " logs analyze - --format csv < " + Path("export.json"));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_THAT(run.out, ::testing::StartsWith("section,name,pool,"));
  EXPECT_THAT(run.out, HasSubstr("\nroute,/v1/audio/transcriptions,,,,,100,10,0,0.1,"));
  EXPECT_THAT(run.out, HasSubstr("\ntotal,lines,"));
}

TEST_F(VoxctlLogs, TextByDefaultAndClearErrors) {
  const Ran text = Shell(Voxctl() + " logs analyze " + Path("app.log") + " 2>&1");
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_THAT(text.out, HasSubstr("lines 101: 100 access, 1 skipped (1 not JSON)"));
  EXPECT_THAT(text.out, ::testing::Not(HasSubstr("\033[K")));  // no progress bar when stderr is no terminal
  const Ran missing = Shell(Voxctl() + " logs analyze " + Path("nothing.log") + " 2>&1");
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.out, HasSubstr("nothing.log: No such file or directory"));
  const Ran bad = Shell(Voxctl() + " logs analyze " + Path("app.log") + " --format xml 2>&1");
  EXPECT_NE(bad.status, 0);
  for (const char* option : {"--window", "--anomaly-window"}) {  // counted in microseconds: no overflow
    const Ran huge = Shell(Voxctl() + " logs analyze " + Path("app.log") + " " + option + " 288230376151711744 2>&1");
    EXPECT_NE(huge.status, 0) << option;
    EXPECT_THAT(huge.out, HasSubstr("not in range 1 to 315360000")) << option;
  }
  // Values that would wrap around or compare as nothing are refused, and say what is allowed.
  for (const auto& [flag, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--top -1", "not in range 0 to 100000"},
           {"--max-names 0", "not in range 1 to 1000000"},
           {"--min-samples -5", "not in range 1 to"},
           {"--burst-factor nan", "must be a number from 0"},
           {"--burst-factor -1", "must be a number from 0"},
           {"--rtf-factor inf", "must be a number from 1"},
           {"--error-ratio-delta 2", "must be a number from 0"}}) {
    const Ran refused = Shell(Voxctl() + " logs analyze " + Path("app.log") + " " + flag + " 2>&1");
    EXPECT_NE(refused.status, 0) << flag;
    EXPECT_THAT(refused.out, HasSubstr(expected)) << flag;
  }
  // With no error event at all, the report still names the threshold a burst would need.
  const Ran quiet = Shell("printf '' | " + Voxctl() + " logs analyze - --format json 2>&1");
  ASSERT_EQ(quiet.status, 0) << quiet.out;
  EXPECT_THAT(quiet.out, HasSubstr("\"threshold\": 10"));
}

TEST_F(VoxctlLogs, FindsTheBurstAndDriftTheGeneratorPutsIn) {
  const std::string generator = BinDir() + "/voxgate-bench-generate-logs";
  for (const char* form : {"lines", "gcloud"}) {
    const Ran run = Shell(generator + " --size-mb 12 --rate 5 --format " + form + " 2>/dev/null | " + Voxctl() +
                          " logs analyze - --format json");
    ASSERT_EQ(run.status, 0) << run.out.substr(0, 2000);
    const auto j = nlohmann::json::parse(run.out);
    EXPECT_EQ(j["totals"]["skipped"]["total"], 0) << form;
    ASSERT_EQ(j["bursts"]["list"].size(), 1u) << form << ": " << j["bursts"].dump();
    const auto& burst = j["bursts"]["list"][0];
    EXPECT_EQ(burst["top_route"], "/v1/audio/transcriptions");
    EXPECT_THAT(burst["top_message"].get<std::string>(), ::testing::AnyOf("pool asr-es has no healthy engine",
                                                                          "engine unavailable: connection refused"));
    // The drift, and (fair enough) the burst's errors as asr-es engines' error-ratio anomalies.
    bool drift = false;
    for (const auto& a : j["anomalies"]["list"]) {
      const bool is_drift = a["engine"] == "unix:/run/voxgate/asr-en-us-2.sock" && a["metric"] == "rtf";
      const bool is_burst = a["pool"] == "asr-es" && a["metric"] == "error_ratio" &&
                            a["start"].get<std::string>() < burst["end"].get<std::string>() &&
                            a["end"].get<std::string>() > burst["start"].get<std::string>();
      EXPECT_TRUE(is_drift || is_burst) << form << ": " << a.dump();
      drift = drift || (is_drift && a["against"] == "baseline");
    }
    EXPECT_TRUE(drift) << form << ": " << j["anomalies"].dump();
  }
}

}  // namespace
}  // namespace voxgate::logs
