#include "logs/log_entry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "logs/internal/parse.h"
#include "unit/logs/log_lines.h"

namespace voxgate::logs {
namespace {

using testing::Access;
using testing::kT0;

void ExpectAccessFields(const LogEntry& e) {
  EXPECT_EQ(e.severity, Severity::kError);
  ASSERT_TRUE(e.time_us.has_value());
  EXPECT_EQ(*e.time_us, kT0 + 123456);
  EXPECT_EQ(e.message, "request");
  EXPECT_TRUE(e.IsAccess());
  EXPECT_EQ(e.status, 503);
  EXPECT_EQ(e.outcome(), Outcome::kServerError);
  ASSERT_TRUE(e.latency_s.has_value());
  EXPECT_DOUBLE_EQ(*e.latency_s, 1.25);
  EXPECT_EQ(e.route, "/v1/recognize");
  EXPECT_EQ(e.pool, "asr-es");
  EXPECT_EQ(e.engine, "10.0.0.5:50051");
  EXPECT_EQ(e.trace, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(e.tier, "all-in-one");
  EXPECT_EQ(e.error, "no healthy engine");
  EXPECT_EQ(e.error_code, "unavailable");
  EXPECT_EQ(e.request_id, "r-9");
  EXPECT_DOUBLE_EQ(*e.rtf, 0.31);
  EXPECT_DOUBLE_EQ(*e.audio_seconds, 4.5);
  EXPECT_DOUBLE_EQ(*e.queue_s, 0.02);
  EXPECT_DOUBLE_EQ(*e.engine_s, 1.2);
  EXPECT_FALSE(e.bad_field);
}

Access Sample() {
  Access a;
  a.time_us = kT0 + 123456;
  a.route = "/v1/recognize";
  a.pool = "asr-es";
  a.engine = "10.0.0.5:50051";
  a.status = 503;
  a.latency_s = 1.25;
  a.rtf = 0.31;
  a.audio_seconds = 4.5;
  a.queue_s = 0.02;
  a.engine_s = 1.2;
  a.trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  a.request_id = "r-9";
  return a;
}

TEST(ParseLogEntry, VoxgateAccessLine) {
  LogEntry e;
  ASSERT_EQ(ParseLogEntry(Sample().Line(), &e), ParseResult::kOk);
  ExpectAccessFields(e);
}

TEST(ParseLogEntry, GcloudLogEntryOfTheSameLine) {
  LogEntry e;
  const std::string entry = testing::ToLogEntry(Sample().Json(), 1).dump(2);
  ASSERT_EQ(ParseLogEntry(entry, &e), ParseResult::kOk);
  ExpectAccessFields(e);
}

TEST(ParseLogEntry, BareTraceIdAndTextPayload) {
  LogEntry e;
  ASSERT_EQ(ParseLogEntry(R"({"trace":"abc","textPayload":"engine started","severity":"NOTICE"})", &e), ParseResult::kOk);
  EXPECT_EQ(e.trace, "abc");
  EXPECT_EQ(e.message, "engine started");
  EXPECT_EQ(e.severity, Severity::kNotice);
  EXPECT_FALSE(e.IsAccess());
}

TEST(ParseLogEntry, WrongTypesAreFlaggedAndLeftUnset) {
  LogEntry e;
  ASSERT_EQ(ParseLogEntry(R"({"message":"request","rtf":"fast","route":7,"httpRequest":{"status":"500","latency":true},)"
                          R"("time":"yesterday","hops":[1,2],"audio_seconds":-3,"engine":{"a":1},"pool":null})",
                          &e),
            ParseResult::kOk);
  EXPECT_TRUE(e.bad_field);
  EXPECT_FALSE(e.rtf.has_value());
  EXPECT_TRUE(e.route.empty());
  EXPECT_FALSE(e.status.has_value());
  EXPECT_FALSE(e.latency_s.has_value());
  EXPECT_FALSE(e.time_us.has_value());
  EXPECT_FALSE(e.audio_seconds.has_value());
  EXPECT_TRUE(e.engine.empty());
  EXPECT_TRUE(e.IsAccess());  // still an access line, counted without what it lacks
}

TEST(ParseLogEntry, UnknownFieldsAndNestingAreIgnored) {
  LogEntry e;
  std::string deep = "{\"message\":\"x\",\"extra\":" + std::string(10000, '[') + std::string(10000, ']') +
                     ",\"nested\":{\"severity\":\"ERROR\",\"route\":\"/no\"},\"severity\":\"INFO\"}";
  ASSERT_EQ(ParseLogEntry(deep, &e), ParseResult::kOk);
  EXPECT_EQ(e.severity, Severity::kInfo);
  EXPECT_TRUE(e.route.empty());
  EXPECT_FALSE(e.bad_field);
}

TEST(ParseLogEntry, NumericSeverityAndOutcomeFromStatus) {
  LogEntry e;
  ASSERT_EQ(ParseLogEntry(R"({"severity":500,"httpRequest":{"status":502,"latency":"0.5s"}})", &e), ParseResult::kOk);
  EXPECT_EQ(e.severity, Severity::kError);
  EXPECT_EQ(e.outcome(), Outcome::kServerError);
  ASSERT_EQ(ParseLogEntry(R"({"httpRequest":{"status":404}})", &e), ParseResult::kOk);
  EXPECT_EQ(e.outcome(), Outcome::kClientError);
  ASSERT_EQ(ParseLogEntry(R"({"httpRequest":{"status":200},"outcome":"client_gone"})", &e), ParseResult::kOk);
  EXPECT_EQ(e.outcome(), Outcome::kClientGone);
}

TEST(ParseLogEntry, WhatIsNotAnObjectIsSaidSo) {
  LogEntry e;
  EXPECT_EQ(ParseLogEntry("Segmentation fault (core dumped)", &e), ParseResult::kNotJson);
  EXPECT_EQ(ParseLogEntry(R"({"severity":"INFO","message":"cut of)", &e), ParseResult::kNotJson);
  EXPECT_EQ(ParseLogEntry(R"({"a":1} trailing)", &e), ParseResult::kNotJson);
  EXPECT_EQ(ParseLogEntry("", &e), ParseResult::kNotJson);
  EXPECT_EQ(ParseLogEntry("42", &e), ParseResult::kNotObject);
  EXPECT_EQ(ParseLogEntry(R"(["a"])", &e), ParseResult::kNotObject);
  EXPECT_EQ(ParseLogEntry("\"text\"", &e), ParseResult::kNotObject);
  EXPECT_EQ(ParseLogEntry("{}", &e), ParseResult::kOk);
}

TEST(ParseLogEntry, ReusedEntryKeepsNothingOfTheLastLine) {
  LogEntry e;
  ASSERT_EQ(ParseLogEntry(Sample().Line(), &e), ParseResult::kOk);
  ASSERT_EQ(ParseLogEntry(R"({"message":"hello"})", &e), ParseResult::kOk);
  EXPECT_EQ(e.severity, Severity::kNone);
  EXPECT_FALSE(e.time_us || e.status || e.latency_s || e.rtf);
  EXPECT_TRUE(e.route.empty() && e.engine.empty() && e.trace.empty());
  EXPECT_FALSE(e.IsAccess());
}

TEST(ParseRfc3339, FormsCloudLoggingAndVoxgateWrite) {
  EXPECT_EQ(ParseRfc3339("2026-12-01T10:00:00Z"), kT0);
  EXPECT_EQ(ParseRfc3339("2026-12-01T10:00:00.123456Z"), kT0 + 123456);
  EXPECT_EQ(ParseRfc3339("2026-12-01T10:00:00.123456789Z"), kT0 + 123456);  // nanoseconds: cut to micros
  EXPECT_EQ(ParseRfc3339("2026-12-01T10:00:00.5Z"), kT0 + 500000);
  EXPECT_EQ(ParseRfc3339("2026-12-01T11:30:00+01:30"), kT0);
  EXPECT_EQ(ParseRfc3339("2026-12-01T08:00:00-02:00"), kT0);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59Z"), -1000000);
  for (const char* bad : {"", "2026-12-01", "2026-12-01T10:00:00", "2026-13-01T10:00:00Z", "2026-12-01T10:00:00.Z",
                          "2026-12-01T10:00:00Zjunk", "2026-12-01T10:00:00+0100", "yesterday at noon..."}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatTime(kT0 + 123456), "2026-12-01T10:00:00.123456Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(ParseDurationSeconds, CloudLoggingDurations) {
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("0.123456s"), 0.123456);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("3s"), 3);
  EXPECT_DOUBLE_EQ(*ParseDurationSeconds("1.5"), 1.5);
  for (const char* bad : {"", "s", "fast", "-1s", "1.5ms", "nan", "inf"}) EXPECT_FALSE(ParseDurationSeconds(bad)) << bad;
}

}  // namespace
}  // namespace voxgate::logs

namespace voxgate::logs {
namespace {

// The fast path must give exactly what nlohmann gives, or leave the record to nlohmann.
void ExpectSameAsNlohmann(const std::string& json) {
  LogEntry fast, reference;
  const ParseResult a = ParseLogEntry(json, &fast);
  const ParseResult b = internal::ParseLogEntryWithNlohmann(json, &reference);
  EXPECT_EQ(a, b) << json;
  EXPECT_TRUE(fast == reference) << json;
}

TEST(ParseLogEntry, FastPathAgreesWithNlohmann) {
  const std::vector<std::string> inputs = {
      Sample().Line(),
      testing::ToLogEntry(Sample().Json(), 1).dump(2),
      R"({"message":"caf\u00e9 \"quoted\" line\nbreak","route":"/v1/\u0041"})",
      "{\"message\":\"caf\xc3\xa9\",\"severity\":\"INFO\"}",
      R"({"severity":100,"rtf":1e400,"audio_seconds":1e-400,"httpRequest":{"status":123456789012345678901}})",
      R"({"rtf":-0,"audio_seconds":-0.0,"httpRequest":{"status":-1,"latency":0.5}})",
      R"({"rtf":0.1,"queue_s":1E2,"engine_s":2.5e-3,"hops":{"queue_s":12345678901234567890}})",
      R"({"httpRequest":{"status":999999999999999999}})",
      R"({"httpRequest":{"status":1000000000000000000}})",
      R"({"a":01})", R"({"a":1.})", R"({"a":.5})", R"({"a":-})", R"({"a":1e})", R"({"a":+1})",
      R"({"a":tru})", R"({"a":nul})", R"({"a":[1,]})", R"({"a":{,}})", R"({"a" 1})", R"({"a":1,})",
      R"({"a":[]})", R"({"a":{}})", R"({ "a" : [ 1 , { "b" : null } ] , "severity" : "ERROR" } )",
      "\xEF\xBB\xBF{\"severity\":\"INFO\"}",
      "{\"message\":\"tab\there\"}",
      "{\"message\":\"del\x7f\"}",
      "{\"message\":\"nul\0\"}",
      R"({"severity":"INFO"}{"severity":"ERROR"})",
      R"({"severity":"INFO"} x)",
      std::string(100, '[') + std::string(100, ']'),
      "{\"x\":" + std::string(100, '[') + std::string(100, ']') + ",\"severity\":\"WARNING\"}",
      R"({"time":"2026-12-01T10:00:00Z","time":"bad","severity":"INFO","severity":"ERROR"})",
      "", " ", "{", "}", "[", "\"{}\"", "null", "-1", "{}   \n",
  };
  for (const auto& json : inputs) ExpectSameAsNlohmann(json);
}

}  // namespace
}  // namespace voxgate::logs
