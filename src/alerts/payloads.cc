#include "alerts/payloads.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "alerts/internal/text.h"

namespace voxgate::alerts {

using internal::TextLength;
using internal::Truncate;
using nlohmann::json;

namespace {

json AlertDocument(const Alert& a, int64_t now_ms) {
  json labels = a.labels, annotations = a.annotations;
  return {{"status", a.FiringAt(now_ms) ? "firing" : "resolved"},
          {"labels", std::move(labels)},
          {"annotations", std::move(annotations)},
          {"starts_at", FormatRfc3339(a.starts_at_ms)},
          {"ends_at", a.FiringAt(now_ms) ? "" : FormatRfc3339(a.ends_at_ms)},
          {"generator_url", a.generator_url},
          {"fingerprint", Fingerprint(a.labels)},
          {"source", a.source}};
}

// Entries every alert has with the same value.
LabelSet Common(const std::vector<const LabelSet*>& sets) {
  if (sets.empty()) return {};
  LabelSet common = *sets[0];
  for (size_t i = 1; i < sets.size(); ++i) {
    for (auto it = common.begin(); it != common.end();) {
      auto other = sets[i]->find(it->first);
      it = (other == sets[i]->end() || other->second != it->second) ? common.erase(it) : std::next(it);
    }
  }
  return common;
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string LabelsText(const json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (k == "alertname" || !v.is_string()) continue;
    absl::StrAppend(&out, out.empty() ? "" : ", ", k, "=", v.get<std::string>());
  }
  return out;
}

bool IsWebUrl(const std::string& url) {
  return url.size() <= 2048 && (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) &&
         url.find_first_of(" <>|\"") == std::string::npos;
}

// "[FIRING:2] HighLatency (pool=asr-en)"
std::string GroupTitle(const json& n) {
  const json& alerts = n["alerts"];
  size_t firing = 0;
  for (const auto& a : alerts) firing += Str(a, "status") == "firing";
  const bool is_firing = Str(n, "status") == "firing";
  std::string title = absl::StrCat("[", is_firing ? "FIRING:" : "RESOLVED:", is_firing ? firing : alerts.size(), "]");
  const json& group = n["group_labels"];
  std::string name = group.is_object() ? Str(group, "alertname") : "";
  if (name.empty()) name = Str(n["common_labels"], "alertname");
  if (!name.empty()) absl::StrAppend(&title, " ", name);
  if (std::string rest = LabelsText(group); !rest.empty()) absl::StrAppend(&title, " (", rest, ")");
  return title;
}

std::string AlertText(const json& a) {
  const json& ann = a["annotations"];
  std::string summary = Str(ann, "summary"), description = Str(ann, "description");
  if (summary.empty()) summary = Str(ann, "message");
  if (!summary.empty() && !description.empty() && description != summary) return absl::StrCat(summary, "\n\n", description);
  return summary.empty() ? description : summary;
}

struct Field {
  std::string name, value;
  bool is_inline;
};

struct EmbedParts {
  std::string title, description, url, timestamp, footer, author;
  int colour = 0;
  std::vector<Field> fields;
};

size_t PartsLength(const EmbedParts& e) {
  size_t n = TextLength(e.title) + TextLength(e.description) + TextLength(e.footer) + TextLength(e.author);
  for (const auto& f : e.fields) n += TextLength(f.name) + TextLength(f.value);
  return n;
}

// Each field within its limits and at most 25 fields (the last says how many were left out).
void LimitFields(std::vector<Field>& fields) {
  for (auto& f : fields) {
    f.name = Truncate(f.name.empty() ? "-" : f.name, DiscordLimits::kFieldName);
    f.value = Truncate(f.value.empty() ? "-" : f.value, DiscordLimits::kFieldValue);  // Discord refuses empty values
  }
  if (fields.size() > DiscordLimits::kFields) {
    const size_t left_out = fields.size() - (DiscordLimits::kFields - 1);
    fields.resize(DiscordLimits::kFields - 1);
    fields.push_back({"…", absl::StrCat(left_out, " more not shown"), false});
  }
}

// Fits an embed into `budget` characters: a shorter title and footer, the description cut to
// half of what is left when there are fields, then fields while they fit.
void FitEmbed(EmbedParts& e, size_t budget) {
  if (PartsLength(e) <= budget) return;
  e.author = Truncate(e.author, 32);
  e.footer = Truncate(e.footer, std::min<size_t>(120, budget / 6));
  e.title = Truncate(e.title, std::min<size_t>(DiscordLimits::kTitle, budget / 6));
  const size_t fixed = TextLength(e.title) + TextLength(e.footer) + TextLength(e.author);
  size_t left = budget > fixed ? budget - fixed : 0;
  e.description = Truncate(e.description, e.fields.empty() ? left : std::max<size_t>(left / 2, std::min<size_t>(left, 64)));
  left -= std::min(left, TextLength(e.description));
  std::vector<Field> kept;
  for (auto& f : e.fields) {
    const size_t name = TextLength(f.name), value = TextLength(f.value);
    if (name + value <= left) {
      left -= name + value;
      kept.push_back(std::move(f));
      continue;
    }
    if (name < left && left - name >= 8) {
      f.value = Truncate(f.value, left - name);
      left -= name + TextLength(f.value);
      kept.push_back(std::move(f));
    }
    break;
  }
  e.fields = std::move(kept);
}

json EmbedJson(const EmbedParts& e) {
  json embed = {{"title", e.title}, {"color", e.colour}};
  if (!e.description.empty()) embed["description"] = e.description;
  if (!e.url.empty()) embed["url"] = e.url;
  if (!e.timestamp.empty()) embed["timestamp"] = e.timestamp;
  if (!e.footer.empty()) embed["footer"] = {{"text", e.footer}};
  if (!e.author.empty()) embed["author"] = {{"name", e.author}};
  if (!e.fields.empty()) {
    json fields = json::array();
    for (const auto& f : e.fields) fields.push_back({{"name", f.name}, {"value", f.value}, {"inline", f.is_inline}});
    embed["fields"] = std::move(fields);
  }
  return embed;
}

}  // namespace

json NotificationDocument(const NotificationInput& in) {
  json alerts = json::array();
  std::vector<const LabelSet*> labels, annotations;
  size_t listed = 0, total = in.firing.size() + in.resolved.size();
  for (const auto* list : {&in.firing, &in.resolved}) {
    for (const Alert& a : *list) {
      labels.push_back(&a.labels);
      annotations.push_back(&a.annotations);
      if (listed++ < kMaxAlertsPerNotification) alerts.push_back(AlertDocument(a, in.now_ms));
    }
  }
  json group_labels = in.group_labels, common_labels = Common(labels), common_annotations = Common(annotations);
  return {{"version", "1"},
          {"id", in.id},
          {"status", in.firing.empty() ? "resolved" : "firing"},
          {"destination", in.destination},
          {"group_key", in.group_key},
          {"group_labels", std::move(group_labels)},
          {"common_labels", std::move(common_labels)},
          {"common_annotations", std::move(common_annotations)},
          {"created_at", FormatRfc3339(in.now_ms)},
          {"truncated_alerts", total - std::min(total, kMaxAlertsPerNotification)},
          {"alerts", std::move(alerts)}};
}

int DiscordColour(const std::string& severity, bool resolved) {
  if (resolved) return 0x2ECC71;
  if (severity == "critical" || severity == "page" || severity == "emergency" || severity == "alert") return 0xE01E2B;
  if (severity == "error" || severity == "high") return 0xE8710A;
  if (severity == "warning" || severity == "warn" || severity == "medium") return 0xF5B400;
  return 0x3A7BD5;
}

json DiscordPayload(const json& n, const std::string& username) {
  const json& alerts = n["alerts"];
  const size_t total_alerts = alerts.size() + n.value("truncated_alerts", size_t{0});
  const std::string footer = absl::StrCat("voxgate alert-relay · ", Str(n, "destination"), " · id ", Str(n, "id"));
  std::vector<EmbedParts> embeds;
  const size_t shown = total_alerts > DiscordLimits::kEmbeds ? DiscordLimits::kEmbeds - 1 : alerts.size();
  for (size_t i = 0; i < shown && i < alerts.size(); ++i) {
    const json& a = alerts[i];
    const bool resolved = Str(a, "status") == "resolved";
    const json& labels = a["labels"];
    EmbedParts e;
    std::string name = Str(labels, "alertname");
    e.title = Truncate(absl::StrCat(resolved ? "[RESOLVED] " : "[FIRING] ", name.empty() ? "alert" : name), DiscordLimits::kTitle);
    e.description = Truncate(AlertText(a), DiscordLimits::kDescription);
    e.colour = DiscordColour(Str(labels, "severity"), resolved);
    if (std::string url = Str(a, "generator_url"); IsWebUrl(url)) e.url = url;
    e.timestamp = Str(a, resolved ? "ends_at" : "starts_at");
    e.footer = Truncate(footer, DiscordLimits::kFooter);
    e.author = Truncate(Str(a, "source"), DiscordLimits::kAuthor);
    if (labels.is_object()) {
      for (const auto& [k, v] : labels.items()) {
        if (k != "alertname" && v.is_string()) e.fields.push_back({k, v.get<std::string>(), true});
      }
    }
    const json& ann = a["annotations"];
    if (ann.is_object()) {
      for (const auto& [k, v] : ann.items()) {
        if (k != "summary" && k != "description" && v.is_string()) e.fields.push_back({k, v.get<std::string>(), false});
      }
    }
    LimitFields(e.fields);
    embeds.push_back(std::move(e));
  }
  if (total_alerts > shown) {
    EmbedParts more;
    more.title = absl::StrCat("… and ", total_alerts - shown, " more alerts");
    more.description = "Every alert of this notification is in the relay's outbox and in the generic webhook's JSON.";
    more.colour = DiscordColour("", Str(n, "status") == "resolved");
    more.footer = Truncate(footer, DiscordLimits::kFooter);
    embeds.push_back(std::move(more));
  }
  size_t total = 0;
  for (const auto& e : embeds) total += PartsLength(e);
  if (total > DiscordLimits::kTotal) {
    for (auto& e : embeds) FitEmbed(e, DiscordLimits::kTotal / embeds.size());
  }
  json list = json::array();
  for (const auto& e : embeds) list.push_back(EmbedJson(e));
  return {{"username", Truncate(username.empty() ? "voxgate" : username, DiscordLimits::kUsername)},
          {"content", Truncate(GroupTitle(n), DiscordLimits::kContent)},
          {"embeds", std::move(list)},
          {"allowed_mentions", {{"parse", json::array()}}}};
}

json SlackPayload(const json& n) {
  using internal::SlackEscape;
  const json& alerts = n["alerts"];
  const size_t total_alerts = alerts.size() + n.value("truncated_alerts", size_t{0});
  const std::string title = GroupTitle(n);
  std::string text = SlackEscape(title);
  if (!alerts.empty()) {
    if (std::string first = AlertText(alerts[0]); !first.empty()) absl::StrAppend(&text, ": ", SlackEscape(first));
  }
  json blocks = json::array();
  blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", Truncate(title, SlackLimits::kHeader)}, {"emoji", false}}}});
  // Header, the alerts, "and N more", the context line.
  const size_t max_sections = SlackLimits::kBlocks - 3;
  const size_t shown = std::min(alerts.size(), total_alerts > max_sections + 1 ? max_sections : max_sections + 1);
  for (size_t i = 0; i < shown; ++i) {
    const json& a = alerts[i];
    const bool resolved = Str(a, "status") == "resolved";
    const json& labels = a["labels"];
    std::string name = Str(labels, "alertname");
    std::string section = absl::StrCat("*", resolved ? "[RESOLVED] " : "[FIRING] ", SlackEscape(name.empty() ? "alert" : name), "*");
    if (std::string sev = Str(labels, "severity"); !sev.empty()) absl::StrAppend(&section, " · ", SlackEscape(sev));
    if (std::string url = Str(a, "generator_url"); IsWebUrl(url)) absl::StrAppend(&section, " · <", url, "|source>");
    if (std::string body = AlertText(a); !body.empty()) absl::StrAppend(&section, "\n", SlackEscape(body));
    if (std::string l = LabelsText(labels); !l.empty()) absl::StrAppend(&section, "\n`", SlackEscape(l), "`");
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", Truncate(section, SlackLimits::kSectionText)}}}});
  }
  if (total_alerts > shown) {
    blocks.push_back({{"type", "context"},
                      {"elements", json::array({{{"type", "mrkdwn"}, {"text", absl::StrCat("… and ", total_alerts - shown, " more alerts")}}})}});
  }
  const std::string footer = absl::StrCat("voxgate alert-relay · ", SlackEscape(Str(n, "destination")), " · id ", Str(n, "id"));
  blocks.push_back({{"type", "context"}, {"elements", json::array({{{"type", "mrkdwn"}, {"text", Truncate(footer, SlackLimits::kContextText)}}})}});
  return {{"text", Truncate(text, SlackLimits::kText)}, {"blocks", std::move(blocks)}};
}

}  // namespace voxgate::alerts
