#include "logs/report_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "logs/analyze.h"
#include "unit/logs/log_lines.h"

namespace voxgate::logs {
namespace {

using testing::Access;
using testing::EventLine;
using testing::JsonLines;
using testing::kT0;

// RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
      was_quoted = false;
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      was_quoted = false;
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted);
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

// A log with something in every section.
Report RichReport() {
  std::vector<std::string> lines;
  for (int minute = 0; minute < 30; ++minute) {
    for (int i = 0; i < 40; ++i) {
      for (int e = 0; e < 2; ++e) {
        Access a;
        a.time_us = kT0 + minute * 60000000LL + i * 1000000LL + e;
        a.engine = "unix:/tmp/x/asr-" + std::to_string(e) + ".sock";
        a.rtf = e == 1 && minute >= 20 ? 0.6 : 0.2;
        a.latency_s = 0.1 + 0.001 * i;
        a.status = minute == 10 ? 503 : 200;
        a.error = "engine said \"no\", then hung up";
        lines.push_back(a.Line());
      }
    }
  }
  lines.push_back("not json");
  AnalyzerOptions options;
  options.top = 2;
  return AnalyzeString(JsonLines(lines), options);
}

TEST(ReportFormat, JsonParsesBackWithEverySection) {
  const Report report = RichReport();
  ASSERT_FALSE(report.bursts.empty());
  ASSERT_FALSE(report.anomalies.empty());
  const auto j = nlohmann::json::parse(ReportToJson(report).dump(2));
  EXPECT_EQ(j["totals"]["lines"], 2401);
  EXPECT_EQ(j["totals"]["skipped"]["not_json"], 1);
  EXPECT_EQ(j["totals"]["severity"]["ERROR"], 80);
  EXPECT_EQ(j["totals"]["time_range"]["first"], "2026-12-01T10:00:00.000000Z");
  EXPECT_EQ(j["routes"][0]["name"], "/v1/audio/transcriptions");
  EXPECT_EQ(j["routes"][0]["requests"], 2400);
  EXPECT_NEAR(j["routes"][0]["latency_s"]["p50"].get<double>(), 0.12, 0.0013);
  EXPECT_EQ(j["engines"][0]["pool"], "asr-en-us");
  EXPECT_EQ(j["slowest"].size(), 2u);
  EXPECT_EQ(j["slowest"][0]["trace"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(j["bursts"]["list"][0]["start"], "2026-12-01T10:10:00.000000Z");
  EXPECT_EQ(j["bursts"]["list"][0]["top_message"], "engine said \"no\", then hung up");
  // The minute of 503s is a burst, and an error-ratio anomaly of both engines' window against
  // their baselines; then asr-1 slows down.
  ASSERT_EQ(j["anomalies"]["list"].size(), 4u);
  EXPECT_EQ(j["anomalies"]["list"][0]["engine"], "unix:/tmp/x/asr-0.sock");
  EXPECT_EQ(j["anomalies"]["list"][0]["metric"], "error_ratio");
  EXPECT_EQ(j["anomalies"]["list"][0]["value"], 0.2);
  EXPECT_EQ(j["anomalies"]["list"][2]["engine"], "unix:/tmp/x/asr-1.sock");
  EXPECT_EQ(j["anomalies"]["list"][2]["metric"], "rtf");
  EXPECT_EQ(j["anomalies"]["list"][2]["start"], "2026-12-01T10:20:00.000000Z");
  EXPECT_EQ(j["anomalies"]["rtf_factor"], 1.5);
}

TEST(ReportFormat, EmptyPercentilesAreNullInJson) {
  const Report report = AnalyzeString(JsonLines({EventLine(kT0, "INFO", "voxgate listening")}));
  const auto j = ReportToJson(report);
  EXPECT_TRUE(j["routes"].empty());
  EXPECT_EQ(j["totals"]["access_lines"], 0);
  Access no_rtf;
  no_rtf.rtf = -1;
  const Report one = AnalyzeString(JsonLines({no_rtf.Line()}));
  EXPECT_TRUE(ReportToJson(one)["routes"][0]["rtf"]["p50"].is_null());
}

TEST(ReportFormat, CsvIsOneTableEveryRowAsWideAsTheHeader) {
  const Report report = RichReport();
  const auto rows = ParseCsv(FormatReportCsv(report));
  ASSERT_GT(rows.size(), 10u);
  const auto& header = rows[0];
  EXPECT_EQ(header[0], "section");
  const auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  std::map<std::string, int> sections;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    ++sections[rows[i][0]];
    if (rows[i][0] == "burst") {
      EXPECT_EQ(rows[i][column("detail")], "engine said \"no\", then hung up");  // quotes and commas survive
      EXPECT_EQ(rows[i][column("count")], "80");
    }
    if (rows[i][0] == "route") {
      EXPECT_EQ(rows[i][column("requests")], "2400");
    }
    if (rows[i][0] == "total" && rows[i][column("name")] == "not_json") {
      EXPECT_EQ(rows[i][column("value")], "1");
    }
  }
  EXPECT_GT(sections["total"], 10);
  EXPECT_EQ(sections["route"], 1);
  EXPECT_EQ(sections["engine"], 2);
  EXPECT_EQ(sections["pool"], 1);
  EXPECT_EQ(sections["slowest"], 2);
  EXPECT_EQ(sections["burst"], 1);
  EXPECT_GE(sections["anomaly"], 1);
}

TEST(ReportFormat, TextNamesEverySection) {
  const std::string text = FormatReportText(RichReport());
  EXPECT_THAT(text, ::testing::HasSubstr("\nROUTE "));
  EXPECT_THAT(text, ::testing::HasSubstr("\nENGINE "));
  EXPECT_THAT(text, ::testing::HasSubstr("\nSLOWEST "));
  EXPECT_THAT(text, ::testing::HasSubstr("error bursts: 60 s windows with >= 10 error events (median 0 per window)\n"
                                         "START "));
  EXPECT_THAT(text, ::testing::ContainsRegex("\nunix:/tmp/x/asr-1.sock +asr-en-us +rtf +baseline +2026-12-01T10:20"));
}

// A latency is whatever the log says; an absurd one still reads as seconds, whole.
TEST(ReportFormat, AbsurdLatenciesKeepTheirUnit) {
  Report r;
  SlowRequest slow;
  slow.route = "/v1/recognize";
  slow.latency_s = 1e308;
  r.slowest.push_back(slow);
  SlowRequest long_one = slow;
  long_one.latency_s = 86400;
  r.slowest.push_back(long_one);
  const std::string text = FormatReportText(r);
  EXPECT_THAT(text, ::testing::HasSubstr(" 1e+308s\n"));
  EXPECT_THAT(text, ::testing::HasSubstr(" 86400s\n"));
}

// Names and messages straight from a log line, hostile to a spreadsheet and to a terminal.
Report HostileReport() {
  Report r;
  r.input = "logs\x1b]0;owned\x07.json";
  r.form = "json-lines";
  GroupReport route;
  route.name = "=HYPERLINK(\"http://evil.test\",\"click\")";
  route.requests = 3;
  r.routes.push_back(route);
  GroupReport engine;
  engine.name = "-2+3";
  engine.pool = "@SUM(A1)";
  r.engines.push_back(engine);
  SlowRequest slow;
  slow.route = "/v1/\x1b[2J\x1b[31mred";
  slow.engine = "caf\xc3\xa9\x7f";
  slow.trace = "+1";
  slow.request_id = "\tcmd";
  slow.latency_s = 1.5;
  r.slowest.push_back(slow);
  Burst burst;
  burst.start_us = kT0;
  burst.end_us = kT0 + 60000000;
  burst.errors = 12;
  burst.top_message = "\rboom \xc2\x9b" "2J and \xff";
  burst.top_message_count = 12;
  r.bursts.push_back(burst);
  Anomaly anomaly;
  anomaly.engine = "e";
  anomaly.metric = "error_ratio";
  anomaly.against = "baseline";
  anomaly.value = -0.25;  // a number: never prefixed
  anomaly.reference = 0.5;
  anomaly.samples = 20;
  r.anomalies.push_back(anomaly);
  return r;
}

TEST(ReportFormat, CsvTextThatLooksLikeAFormulaIsPrefixedNumbersAreNot) {
  const auto rows = ParseCsv(FormatReportCsv(HostileReport()));
  const auto& header = rows[0];
  const auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  std::map<std::string, std::vector<std::string>> by_section;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    by_section[rows[i][0]] = rows[i];
  }
  EXPECT_EQ(by_section["route"][column("name")], "'=HYPERLINK(\"http://evil.test\",\"click\")");
  EXPECT_EQ(by_section["engine"][column("name")], "'-2+3");
  EXPECT_EQ(by_section["engine"][column("pool")], "'@SUM(A1)");
  EXPECT_EQ(by_section["slowest"][column("trace")], "'+1");
  EXPECT_EQ(by_section["slowest"][column("detail")], "'\tcmd");
  EXPECT_EQ(by_section["slowest"][column("value")], "1.5");
  EXPECT_EQ(by_section["burst"][column("detail")], "'\rboom \xc2\x9b" "2J and \xff");
  EXPECT_EQ(by_section["anomaly"][column("value")], "-0.25") << "numbers stay numbers";
  EXPECT_EQ(by_section["anomaly"][column("name")], "error_ratio vs baseline");
  EXPECT_EQ(by_section["route"][column("requests")], "3");
}

TEST(ReportFormat, TextShowsControlCharactersAsEscapes) {
  const std::string text = FormatReportText(HostileReport());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    ASSERT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7f)) << "a raw control character at " << i << ": " << static_cast<int>(c);
  }
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << "C1 CSI";
  EXPECT_EQ(text.find('\xff'), std::string::npos) << "a byte that is not UTF-8";
  EXPECT_THAT(text, ::testing::HasSubstr("voxgate logs: logs\\x1b]0;owned\\x07.json (json-lines"));
  EXPECT_THAT(text, ::testing::HasSubstr("/v1/\\x1b[2J\\x1b[31mred"));
  EXPECT_THAT(text, ::testing::HasSubstr("caf\xc3\xa9\\x7f")) << "UTF-8 text stays as it is";
  EXPECT_THAT(text, ::testing::HasSubstr("\\x0dboom \\u009b2J and \\xff (12)"));
}

}  // namespace
}  // namespace voxgate::logs
