// Every input the relay reads, good and bad: Alertmanager, Cloud Monitoring, voxgate log lines.
#include "alerts/inputs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace voxgate::alerts {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000'000;

constexpr const char* kAlertmanager = R"({
  "version": "4", "groupKey": "{}:{alertname=\"EngineDown\"}", "truncatedAlerts": 0, "status": "firing",
  "receiver": "voxgate", "groupLabels": {"alertname": "EngineDown"}, "commonLabels": {"alertname": "EngineDown"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "EngineDown", "pool": "asr-en", "severity": "critical"},
     "annotations": {"summary": "engine down"}, "startsAt": "2026-12-01T10:00:00.5Z",
     "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": "abc"},
    {"status": "resolved", "labels": {"alertname": "EngineDown", "pool": "mt"},
     "annotations": {}, "startsAt": "2026-12-01T09:00:00+01:00", "endsAt": "2026-12-01T09:30:00Z"}
  ]})";

TEST(AlertmanagerTest, ParsesFiringAndResolvedAlerts) {
  auto in = ParseAlertmanager(kAlertmanager, kNow);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->alerts.size(), 2u);
  const Alert& a = in->alerts[0];
  EXPECT_EQ(a.labels.at("pool"), "asr-en");
  EXPECT_EQ(a.annotations.at("summary"), "engine down");
  EXPECT_EQ(FormatRfc3339(a.starts_at_ms), "2026-12-01T10:00:00.500Z");
  EXPECT_EQ(a.ends_at_ms, 0);
  EXPECT_TRUE(a.FiringAt(kNow));
  EXPECT_EQ(a.generator_url, "http://prometheus:9090/graph?g0.expr=up");
  EXPECT_EQ(a.source, "alertmanager");
  const Alert& r = in->alerts[1];
  EXPECT_EQ(FormatRfc3339(r.starts_at_ms), "2026-12-01T08:00:00.000Z");  // +01:00 offset applied
  EXPECT_EQ(FormatRfc3339(r.ends_at_ms), "2026-12-01T09:30:00.000Z");
  EXPECT_FALSE(r.FiringAt(kNow));
  EXPECT_EQ(r.generator_url, "http://alertmanager:9093");  // externalURL when the alert has none
}

TEST(AlertmanagerTest, RejectsBadInputNamingWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {R"({"version": "3", "alerts": []})", "version"},
      {R"({"version": "4"})", "alerts: required"},
      {R"({"alerts": [{"labels": {}}]})", "alerts[0].labels: required"},
      {R"({"alerts": [{"labels": {"a": 1}}]})", "alerts[0].labels.a: expected a string"},
      {R"({"alerts": [{"labels": {"a": "b"}, "status": "pending"}]})", "alerts[0].status"},
      {R"({"alerts": [{"labels": {"a": "b"}, "startsAt": "yesterday"}]})", "alerts[0].startsAt: expected an RFC 3339"},
      {R"({"alerts": [{"labels": {"a": "b"}}, 7]})", "alerts[1]: expected an object"},
  };
  for (const auto& [body, message] : cases) {
    auto in = ParseAlertmanager(body, kNow);
    ASSERT_FALSE(in.ok()) << body;
    EXPECT_TRUE(absl::IsInvalidArgument(in.status()));
    EXPECT_THAT(std::string(in.status().message()), HasSubstr(message)) << body;
  }
}

TEST(AlertmanagerTest, LongAnnotationsAreCutNotRefused) {
  const std::string body = R"({"alerts": [{"labels": {"a": "b"}, "annotations": {"description": ")" + std::string(100000, 'x') + R"("}}]})";
  auto in = ParseAlertmanager(body, kNow);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_LE(in->alerts[0].annotations.at("description").size(), kMaxAnnotationBytes);
  EXPECT_THAT(in->alerts[0].annotations.at("description"), ::testing::EndsWith("…"));
}

// Alertmanager does not resend a notification answered 4xx: one oversized alert must not cost
// the others theirs.
TEST(AlertmanagerTest, OversizedLabelsAreCutTheSameWayEachTimeNotRefused) {
  std::string many;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&many, ", \"l", 100 + i, "\": \"v\"");
  const std::string body = absl::StrCat(R"({"alerts": [{"labels": {"alertname": "Fine"}},
      {"labels": {"alertname": "Long", "query": ")", std::string(5000, 'q'), R"("}},
      {"labels": {"alertname": "Many")", many, "}}]}");
  auto in = ParseAlertmanager(body, kNow);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->alerts.size(), 3u);
  EXPECT_LE(in->alerts[1].labels.at("query").size(), kMaxLabelBytes);
  EXPECT_EQ(in->alerts[2].labels.size(), kMaxLabelsPerAlert);
  auto again = ParseAlertmanager(body, kNow);
  EXPECT_EQ(Fingerprint(again->alerts[1].labels), Fingerprint(in->alerts[1].labels)) << "its resolution will match it";
  EXPECT_EQ(Fingerprint(again->alerts[2].labels), Fingerprint(in->alerts[2].labels));
}

constexpr const char* kCloudMonitoringOpen = R"({
  "version": "1.2",
  "incident": {
    "incident_id": "0.opqiw61fsv7p", "scoping_project_id": "voxgate-prod", "scoping_project_number": 12345,
    "url": "https://console.cloud.google.com/monitoring/alerting/incidents/0.opqiw61fsv7p?project=voxgate-prod",
    "started_at": 1764583200, "ended_at": null, "state": "open", "summary": "GPU utilisation above 95% for 10 minutes",
    "apigee_url": "", "observed_value": "0.97",
    "resource": {"type": "k8s_container", "labels": {"cluster_name": "gpu", "container_name": "engine"}},
    "resource_type_display_name": "Kubernetes Container", "resource_display_name": "engine",
    "metric": {"type": "kubernetes.io/container/accelerator/duty_cycle", "displayName": "Accelerator duty cycle"},
    "policy_name": "GPU saturated", "policy_user_labels": {"severity": "critical"},
    "documentation": {"content": "Add engines or shed load.", "mime_type": "text/markdown"},
    "condition": {"name": "projects/voxgate-prod/alertPolicies/1/conditions/2", "displayName": "duty cycle > 95%"},
    "condition_name": "duty cycle > 95%", "threshold_value": "0.95"
  }})";

TEST(CloudMonitoringTest, OpenIncidentFiresAndClosedResolvesTheSameAlert) {
  auto open = ParseCloudMonitoring(kCloudMonitoringOpen, kNow);
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->alerts.size(), 1u);
  const Alert& a = open->alerts[0];
  EXPECT_EQ(a.labels.at("alertname"), "GPU saturated");
  EXPECT_EQ(a.labels.at("severity"), "critical");
  EXPECT_EQ(a.labels.at("incident_id"), "0.opqiw61fsv7p");
  EXPECT_EQ(a.labels.at("resource_cluster_name"), "gpu");
  EXPECT_EQ(a.annotations.at("summary"), "GPU utilisation above 95% for 10 minutes");
  EXPECT_EQ(a.annotations.at("description"), "Add engines or shed load.");
  EXPECT_EQ(a.starts_at_ms, 1764583200000);
  EXPECT_TRUE(a.FiringAt(kNow));
  EXPECT_THAT(a.generator_url, HasSubstr("console.cloud.google.com"));

  std::string closed_body = kCloudMonitoringOpen;
  closed_body.replace(closed_body.find(R"("ended_at": null)"), 16, R"("ended_at": 1764583800)");
  closed_body.replace(closed_body.find(R"("state": "open")"), 15, R"("state": "closed")");
  auto closed = ParseCloudMonitoring(closed_body, kNow);
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(Fingerprint(closed->alerts[0].labels), Fingerprint(a.labels));
  EXPECT_EQ(closed->alerts[0].ends_at_ms, 1764583800000);
  EXPECT_FALSE(closed->alerts[0].FiringAt(kNow));
}

TEST(CloudMonitoringTest, RejectsBadInput) {
  const std::pair<const char*, const char*> cases[] = {
      {"{", "not valid JSON"},
      {R"({"version": "1.2"})", "incident: required"},
      {R"({"incident": {"state": "open"}})", "incident.incident_id"},
      {R"({"incident": {"incident_id": "x", "state": "acknowledged"}})", "incident.state"},
      {R"({"incident": {"incident_id": "x", "state": "open", "started_at": "soon"}})", "incident.started_at"},
      {R"({"version": "2.0", "incident": {}})", "version"},
  };
  for (const auto& [body, message] : cases) {
    auto in = ParseCloudMonitoring(body, kNow);
    ASSERT_FALSE(in.ok()) << body;
    EXPECT_THAT(std::string(in.status().message()), HasSubstr(message)) << body;
  }
}

TEST(LogLinesTest, EngineEventsFireAndResolveOneAlert) {
  EventOptions options;
  auto down = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "WARNING", "message": "engine unreachable; ejected",
      "time": "2026-12-01T10:00:00.123456Z", "pool": "asr-en-us", "engine": "unix:/tmp/x/asr-en-us-0.sock",
      "event": "engine_unhealthy", "logging.googleapis.com/labels": {"tier": "all-in-one", "module": "pool"}})"),
                               options, kNow);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->labels.at("alertname"), "VoxgateEngineUnhealthy");
  EXPECT_EQ(down->labels.at("engine"), "unix:/tmp/x/asr-en-us-0.sock");
  EXPECT_EQ(down->annotations.at("summary"), "engine unreachable; ejected");
  EXPECT_TRUE(down->FiringAt(kNow));
  EXPECT_FALSE(down->one_shot);
  auto up = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "INFO", "message": "engine healthy again",
      "time": "2026-12-01T10:05:00Z", "pool": "asr-en-us", "engine": "unix:/tmp/x/asr-en-us-0.sock",
      "event": "engine_healthy", "logging.googleapis.com/labels": {"tier": "all-in-one", "module": "pool"}})"),
                             options, kNow);
  ASSERT_TRUE(up.has_value()) << "a resolving event counts at any severity";
  EXPECT_EQ(Fingerprint(up->labels), Fingerprint(down->labels));
  EXPECT_FALSE(up->FiringAt(kNow));
  auto gone = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "INFO", "message": "engine no longer discovered",
      "pool": "asr-en-us", "engine": "unix:/tmp/x/asr-en-us-0.sock", "open_streams": 0,
      "event": "engine_removed", "logging.googleapis.com/labels": {"tier": "all-in-one", "module": "pool"}})"),
                               options, kNow);
  ASSERT_TRUE(gone.has_value()) << "an engine that is gone resolves its alert";
  EXPECT_FALSE(gone->FiringAt(kNow));
  auto ahead = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "INFO", "message": "engine in rotation",
      "time": "2027-01-15T08:00:03Z", "pool": "asr-en-us", "engine": "unix:/tmp/x/asr-en-us-0.sock",
      "event": "engine_healthy", "logging.googleapis.com/labels": {"tier": "all-in-one", "module": "pool"}})"),
                                options, kNow);
  ASSERT_TRUE(ahead.has_value());
  EXPECT_FALSE(ahead->FiringAt(kNow)) << "a resolution from a clock 3 s ahead resolves now, it does not fire";
  EXPECT_EQ(Fingerprint(gone->labels), Fingerprint(down->labels));
  EXPECT_FALSE(gone->FiringAt(kNow));

  auto none = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "CRITICAL", "message": "no engine", "pool": "mt",
      "event": "pool_no_healthy_engine"})"), options, kNow);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->labels.at("alertname"), "VoxgatePoolNoHealthyEngine");
  EXPECT_EQ(none->labels.at("severity"), "critical");
}

TEST(LogLinesTest, OtherLinesAtOrAboveTheMinimumAreOneShotAlerts) {
  EventOptions options;
  options.min_severity = core::Severity::kError;
  options.resolve_timeout_ms = 60000;
  auto error = AlertFromLogLine(nlohmann::json::parse(R"({"severity": "ERROR", "message": "cannot start", "error": "port in use",
      "time": "2026-12-01T10:00:00Z", "logging.googleapis.com/labels": {"module": "server", "tier": "router"}})"), options, kNow);
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(error->one_shot);
  EXPECT_EQ(error->labels.at("alertname"), "VoxgateLog");
  EXPECT_EQ(error->labels.at("severity"), "error");
  EXPECT_EQ(error->labels.at("module"), "server");
  EXPECT_EQ(error->labels.at("tier"), "router");
  EXPECT_EQ(error->annotations.at("error"), "port in use");
  EXPECT_EQ(error->ends_at_ms - error->starts_at_ms, 60000);
  EXPECT_FALSE(AlertFromLogLine(nlohmann::json::parse(R"({"severity": "WARNING", "message": "slow"})"), options, kNow).has_value());
  EXPECT_FALSE(AlertFromLogLine(nlohmann::json::parse(R"({"severity": "ERROR", "message": "relay's own",
      "logging.googleapis.com/labels": {"module": "alerts"}})"), options, kNow).has_value())
      << "the relay's own lines would loop";
}

TEST(LogLinesTest, PostedLinesAndCloudLoggingExports) {
  EventOptions options;
  auto lines = ParseLogLines("{\"severity\": \"ERROR\", \"message\": \"a\"}\n\n{\"severity\": \"INFO\", \"message\": \"b\"}\n", options, kNow);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(lines->alerts.size(), 1u);
  EXPECT_EQ(lines->ignored, 1u);
  auto exported = ParseLogLines(R"([{"insertId": "1", "severity": "ERROR", "timestamp": "2026-12-01T10:00:00Z",
      "jsonPayload": {"message": "engine crashed", "pool": "asr"}, "labels": {"tier": "pool"}}])", options, kNow);
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->alerts.size(), 1u);
  EXPECT_EQ(exported->alerts[0].labels.at("pool"), "asr");
  EXPECT_EQ(exported->alerts[0].labels.at("tier"), "pool");
  EXPECT_EQ(FormatRfc3339(exported->alerts[0].starts_at_ms), "2026-12-01T10:00:00.000Z");

  auto bad = ParseLogLines("{\"severity\": \"ERROR\", \"message\": \"a\"}\n{oops\n", options, kNow);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("line 2"));
  EXPECT_FALSE(ParseLogLines("   ", options, kNow).ok());
  EXPECT_THAT(std::string(ParseLogLines("[1]", options, kNow).status().message()), HasSubstr("[0]"));
}

TEST(TimeTest, Rfc3339) {
  int64_t ms = 0;
  EXPECT_TRUE(ParseRfc3339("2026-12-01T10:00:00Z", ms));
  EXPECT_EQ(FormatRfc3339(ms), "2026-12-01T10:00:00.000Z");
  EXPECT_TRUE(ParseRfc3339("2026-12-01T10:00:00.123456789-02:30", ms));
  EXPECT_EQ(FormatRfc3339(ms), "2026-12-01T12:30:00.123Z");
  EXPECT_TRUE(ParseRfc3339("0001-01-01T00:00:00Z", ms));
  EXPECT_EQ(ms, 0);
  for (const char* bad : {"", "2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T10:00:00", "2026-12-01T10:00:00.Z", "2026-12-01T10:00:00Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad, ms)) << bad;
  }
}

}  // namespace
}  // namespace voxgate::alerts
