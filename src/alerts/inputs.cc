#include "alerts/inputs.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "alerts/internal/text.h"

namespace voxgate::alerts {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& path, const std::string& what) { return absl::InvalidArgumentError(path + ": " + what); }

absl::StatusOr<json> ParseJson(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("the body is not valid JSON");
  return doc;
}

// A JSON object of strings (labels, annotations). Oversized ones are cut, not refused: a sender
// such as Alertmanager does not resend a notification answered 4xx, so refusing one alert would
// lose the others sent with it. Cut the same way each time, an alert keeps its identity: values
// to kMaxLabelBytes (annotations kMaxAnnotationBytes), and the first kMaxLabelsPerAlert names.
absl::Status ReadStringMap(const json& value, const std::string& path, bool labels, LabelSet& out) {
  if (value.is_null()) return absl::OkStatus();
  if (!value.is_object()) return Invalid(path, "expected an object of strings");
  for (const auto& [k, v] : value.items()) {  // in name order
    if (out.size() == kMaxLabelsPerAlert) break;
    if (k.empty() || k.size() > kMaxLabelBytes) return Invalid(path, absl::StrCat("a name must have 1 to ", kMaxLabelBytes, " bytes"));
    if (!v.is_string()) return Invalid(path + "." + k, "expected a string");
    out[k] = internal::TruncateBytes(v.get_ref<const std::string&>(), labels ? kMaxLabelBytes : kMaxAnnotationBytes);
  }
  return absl::OkStatus();
}

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// A number or numeric string of Unix seconds (Cloud Monitoring's started_at/ended_at).
bool UnixSeconds(const json& v, int64_t& out_ms) {
  double seconds = 0;
  if (v.is_number()) {
    seconds = v.get<double>();
  } else if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789.") != std::string::npos) return false;
    seconds = std::atof(s.c_str());
  } else {
    return false;
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) return false;
  out_ms = static_cast<int64_t>(seconds * 1000);
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

absl::StatusOr<ParsedInput> ParseAlertmanager(std::string_view body, int64_t now_ms) {
  auto doc = ParseJson(body);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return absl::InvalidArgumentError("expected a JSON object (an Alertmanager webhook notification)");
  if (auto v = doc->find("version"); v != doc->end() && !(v->is_string() && *v == "4")) {
    return Invalid("version", "expected \"4\" (the Alertmanager webhook format this relay reads)");
  }
  auto list = doc->find("alerts");
  if (list == doc->end() || !list->is_array()) return Invalid("alerts", "required: a list of alerts");
  if (list->size() > kMaxAlertsPerInput) return Invalid("alerts", absl::StrCat("more than ", kMaxAlertsPerInput, " alerts"));
  const std::string external_url = StringField(*doc, "externalURL");
  ParsedInput out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& a = (*list)[i];
    const std::string path = absl::StrCat("alerts[", i, "]");
    if (!a.is_object()) return Invalid(path, "expected an object");
    Alert alert;
    alert.source = "alertmanager";
    if (auto s = ReadStringMap(a.value("labels", json()), path + ".labels", true, alert.labels); !s.ok()) return s;
    if (alert.labels.empty()) return Invalid(path + ".labels", "required: an alert is identified by its labels");
    if (auto s = ReadStringMap(a.value("annotations", json()), path + ".annotations", false, alert.annotations); !s.ok()) return s;
    std::string status = "firing";
    if (auto v = a.find("status"); v != a.end()) {
      if (!v->is_string() || (*v != "firing" && *v != "resolved")) return Invalid(path + ".status", "expected \"firing\" or \"resolved\"");
      status = v->get<std::string>();
    }
    for (const auto& [key, field] : {std::pair{"startsAt", &alert.starts_at_ms}, std::pair{"endsAt", &alert.ends_at_ms}}) {
      auto v = a.find(key);
      if (v == a.end() || v->is_null()) continue;
      if (!v->is_string() || !ParseRfc3339(v->get<std::string>(), *field)) {
        return Invalid(path + "." + key, "expected an RFC 3339 time, e.g. 2026-12-01T10:00:00Z");
      }
    }
    if (alert.starts_at_ms == 0) alert.starts_at_ms = now_ms;
    // Alertmanager sends a firing alert's expected end (now + resolve_timeout); the relay keeps
    // it firing until a resolved notification comes, as Alertmanager itself re-sends firing ones.
    if (status == "firing") {
      alert.ends_at_ms = 0;
    } else if (alert.ends_at_ms == 0 || alert.ends_at_ms > now_ms) {
      alert.ends_at_ms = now_ms;
    }
    alert.generator_url = StringField(a, "generatorURL");
    if (alert.generator_url.empty()) alert.generator_url = external_url;
    if (alert.generator_url.size() > kMaxLabelBytes * 2) alert.generator_url.clear();
    out.alerts.push_back(std::move(alert));
  }
  return out;
}

absl::StatusOr<ParsedInput> ParseCloudMonitoring(std::string_view body, int64_t now_ms) {
  auto doc = ParseJson(body);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return absl::InvalidArgumentError("expected a JSON object (a Cloud Monitoring notification)");
  if (auto v = doc->find("version"); v != doc->end() && !(v->is_string() && (*v == "1.2" || *v == "1.1"))) {
    return Invalid("version", "expected \"1.2\" (the Cloud Monitoring webhook schema this relay reads)");
  }
  auto it = doc->find("incident");
  if (it == doc->end() || !it->is_object()) return Invalid("incident", "required: the incident object");
  const json& inc = *it;
  Alert alert;
  alert.source = "cloud_monitoring";
  const std::string id = StringField(inc, "incident_id");
  if (id.empty() || id.size() > kMaxLabelBytes) return Invalid("incident.incident_id", "required: a non-empty string");
  const std::string state = Lower(StringField(inc, "state"));
  if (state != "open" && state != "closed") return Invalid("incident.state", "expected \"open\" or \"closed\"");
  std::string policy = StringField(inc, "policy_name");
  if (policy.empty()) policy = "Cloud Monitoring incident";
  alert.labels["alertname"] = internal::TruncateBytes(policy, kMaxLabelBytes);
  alert.labels["incident_id"] = id;
  std::string severity = Lower(StringField(inc, "severity"));
  if (auto ul = inc.find("policy_user_labels"); ul != inc.end() && ul->is_object()) {
    if (auto s = ul->find("severity"); s != ul->end() && s->is_string()) severity = Lower(s->get<std::string>());
  }
  if (severity.empty() || severity == "no severity") severity = "warning";
  alert.labels["severity"] = internal::TruncateBytes(severity, 64);
  for (const char* key : {"condition_name", "scoping_project_id", "resource_type_display_name", "resource_display_name"}) {
    if (std::string v = StringField(inc, key); !v.empty()) alert.labels[key] = internal::TruncateBytes(v, kMaxLabelBytes);
  }
  if (auto r = inc.find("resource"); r != inc.end() && r->is_object()) {
    if (std::string type = StringField(*r, "type"); !type.empty()) alert.labels["resource_type"] = internal::TruncateBytes(type, kMaxLabelBytes);
    if (auto rl = r->find("labels"); rl != r->end() && rl->is_object()) {
      for (const auto& [k, v] : rl->items()) {
        if (alert.labels.size() >= kMaxLabelsPerAlert) break;
        if (v.is_string() && !k.empty() && k.size() <= 128) alert.labels["resource_" + k] = internal::TruncateBytes(v.get<std::string>(), kMaxLabelBytes);
      }
    }
  }
  if (std::string summary = StringField(inc, "summary"); !summary.empty()) alert.annotations["summary"] = internal::TruncateBytes(summary, kMaxAnnotationBytes);
  if (auto d = inc.find("documentation"); d != inc.end() && d->is_object()) {
    if (std::string content = StringField(*d, "content"); !content.empty()) alert.annotations["description"] = internal::TruncateBytes(content, kMaxAnnotationBytes);
  }
  for (const char* key : {"observed_value", "threshold_value"}) {
    if (std::string v = StringField(inc, key); !v.empty()) alert.annotations[key] = internal::TruncateBytes(v, 256);
  }
  alert.generator_url = StringField(inc, "url");
  if (alert.generator_url.size() > kMaxLabelBytes * 2) alert.generator_url.clear();
  if (auto v = inc.find("started_at"); v != inc.end() && !v->is_null() && !UnixSeconds(*v, alert.starts_at_ms)) {
    return Invalid("incident.started_at", "expected Unix seconds");
  }
  if (alert.starts_at_ms == 0) alert.starts_at_ms = now_ms;
  if (state == "closed") {
    if (auto v = inc.find("ended_at"); v != inc.end() && !v->is_null() && !UnixSeconds(*v, alert.ends_at_ms)) {
      return Invalid("incident.ended_at", "expected Unix seconds");
    }
    if (alert.ends_at_ms == 0 || alert.ends_at_ms > now_ms) alert.ends_at_ms = now_ms;
  }
  ParsedInput out;
  out.alerts.push_back(std::move(alert));
  return out;
}

namespace {

// The relay's known conditions: the event that fires one and the event that resolves it.
struct KnownEvent {
  const char* event;
  const char* alertname;
  const char* severity;
  bool firing;
};
constexpr KnownEvent kKnownEvents[] = {
    {"engine_unhealthy", "VoxgateEngineUnhealthy", "warning", true},
    {"engine_healthy", "VoxgateEngineUnhealthy", "warning", false},
    {"engine_removed", "VoxgateEngineUnhealthy", "warning", false},
    {"pool_no_healthy_engine", "VoxgatePoolNoHealthyEngine", "critical", true},
    {"pool_healthy", "VoxgatePoolNoHealthyEngine", "critical", false},
};

// Fields that say where a line comes from (labels of the alert) rather than what it says.
constexpr const char* kIdentityFields[] = {"pool", "engine", "model_version"};
constexpr const char* kLabelsKey = "logging.googleapis.com/labels";

}  // namespace

std::optional<Alert> AlertFromLogLine(const json& in, const EventOptions& options, int64_t now_ms) {
  if (!in.is_object()) return std::nullopt;
  // A Cloud Logging LogEntry carries the line's own fields in jsonPayload.
  json line = in;
  if (auto p = in.find("jsonPayload"); p != in.end() && p->is_object()) {
    line = *p;
    if (auto s = in.find("severity"); s != in.end()) line["severity"] = *s;
    if (auto t = in.find("timestamp"); t != in.end()) line["time"] = *t;
    if (auto l = in.find("labels"); l != in.end() && l->is_object()) line[kLabelsKey] = *l;
  }
  json labels_in = line.value(kLabelsKey, json::object());
  if (!labels_in.is_object()) labels_in = json::object();
  const std::string module = StringField(labels_in, "module");
  if (module == "alerts") return std::nullopt;  // the relay's own lines: never a loop
  const std::string severity_name = StringField(line, "severity");
  const core::Severity severity = core::ParseSeverity(severity_name).value_or(core::Severity::kInfo);
  const std::string event = StringField(line, "event");
  const KnownEvent* known = nullptr;
  for (const auto& k : kKnownEvents) {
    if (event == k.event) known = &k;
  }
  if (known == nullptr && static_cast<int>(severity) < static_cast<int>(options.min_severity)) return std::nullopt;

  Alert alert;
  alert.source = "voxgate";
  alert.starts_at_ms = now_ms;
  if (std::string t = StringField(line, "time"); !t.empty()) {
    int64_t ms = 0;
    if (ParseRfc3339(t, ms) && ms > 0) alert.starts_at_ms = ms;
  }
  for (const char* key : kIdentityFields) {
    if (std::string v = StringField(line, key); !v.empty()) alert.labels[key] = internal::TruncateBytes(v, kMaxLabelBytes);
  }
  if (std::string tier = StringField(labels_in, "tier"); !tier.empty()) alert.labels["tier"] = internal::TruncateBytes(tier, 64);
  const std::string message = StringField(line, "message");
  if (known != nullptr) {
    alert.labels["alertname"] = known->alertname;
    alert.labels["severity"] = known->severity;
    // A resolution stamped ahead of the relay's clock (clocks of pods differ) resolves now; left
    // in the future it would fire the alert it resolves until then.
    if (!known->firing) alert.ends_at_ms = std::max(std::min(alert.starts_at_ms, now_ms), int64_t{1});
  } else {
    alert.one_shot = true;
    alert.labels["alertname"] = event.empty() ? "VoxgateLog" : internal::TruncateBytes(event, 128);
    alert.labels["severity"] = Lower(std::string(core::SeverityName(severity)));
    if (!module.empty()) alert.labels["module"] = internal::TruncateBytes(module, 64);
    // The message is part of the identity, so the same error repeated is one alert (deduplicated).
    alert.labels["message"] = internal::TruncateBytes(message, 256);
    alert.ends_at_ms = alert.starts_at_ms + options.resolve_timeout_ms;
  }
  if (!message.empty()) alert.annotations["summary"] = internal::TruncateBytes(message, kMaxAnnotationBytes);
  for (const auto& [k, v] : line.items()) {
    if (alert.annotations.size() >= kMaxLabelsPerAlert) break;
    if (k == "message" || k == "severity" || k == "time" || k == "event" || k.rfind("logging.googleapis.com", 0) == 0) continue;
    if (alert.labels.count(k)) continue;
    if (v.is_string()) {
      alert.annotations[k] = internal::TruncateBytes(v.get<std::string>(), 1024);
    } else if (v.is_number() || v.is_boolean()) {
      alert.annotations[k] = v.dump();
    }
  }
  if (std::string trace = StringField(line, "logging.googleapis.com/trace"); !trace.empty()) {
    alert.annotations["trace"] = internal::TruncateBytes(trace, 256);
  }
  return alert;
}

absl::StatusOr<ParsedInput> ParseLogLines(std::string_view body, const EventOptions& options, int64_t now_ms) {
  ParsedInput out;
  auto add = [&](const json& line, const std::string& where) -> absl::Status {
    if (!line.is_object()) return Invalid(where, "expected a JSON object (a voxgate log line)");
    if (out.alerts.size() >= kMaxAlertsPerInput) return Invalid(where, absl::StrCat("more than ", kMaxAlertsPerInput, " alerts in one request"));
    if (auto alert = AlertFromLogLine(line, options, now_ms)) {
      out.alerts.push_back(std::move(*alert));
    } else {
      out.ignored++;
    }
    return absl::OkStatus();
  };
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return absl::InvalidArgumentError("the body is empty: send JSON log lines, one per line");
  if (body[first] == '[') {
    auto doc = ParseJson(body);
    if (!doc.ok()) return doc.status();
    if (!doc->is_array()) return absl::InvalidArgumentError("expected a JSON array of log entries");
    for (size_t i = 0; i < doc->size(); ++i) {
      if (auto s = add((*doc)[i], absl::StrCat("[", i, "]")); !s.ok()) return s;
    }
    return out;
  }
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view text = body.substr(pos, end - pos);
    pos = end + 1;
    line_no++;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json line = json::parse(text.begin(), text.end(), nullptr, false);
    if (line.is_discarded()) return Invalid(absl::StrCat("line ", line_no), "not valid JSON");
    if (auto s = add(line, absl::StrCat("line ", line_no)); !s.ok()) return s;
  }
  return out;
}

}  // namespace voxgate::alerts
