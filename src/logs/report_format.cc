#include "logs/report_format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "core/utf8.h"


namespace voxgate::logs {
namespace {

using Json = nlohmann::json;

Json NumberOrNull(double v) { return std::isnan(v) ? Json(nullptr) : Json(v); }

Json PercentilesJson(const Percentiles& p) {
  return {{"count", p.count}, {"p50", NumberOrNull(p.p50)}, {"p90", NumberOrNull(p.p90)},
          {"p99", NumberOrNull(p.p99)}, {"max", NumberOrNull(p.max)}};
}

Json GroupJson(const GroupReport& g, bool with_pool) {
  Json j = {{"name", g.name},
            {"requests", g.requests},
            {"server_errors", g.server_errors},
            {"client_errors", g.client_errors},
            {"client_gone", g.client_gone},
            {"error_ratio", g.error_ratio},
            {"audio_seconds", g.audio_seconds},
            {"latency_s", PercentilesJson(g.latency)},
            {"rtf", PercentilesJson(g.rtf)},
            {"queue_s", PercentilesJson(g.queue)},
            {"engine_s", PercentilesJson(g.engine)}};
  if (with_pool) j["pool"] = g.pool;
  return j;
}

Json TimeOrNull(const std::optional<int64_t>& t) { return t ? Json(FormatTime(*t)) : Json(nullptr); }

std::string Printf(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Text from the log (messages, routes, the file name) made safe for a terminal: C0 and C1
// control characters and DEL would move the cursor, recolour or retitle it (ESC sequences), so
// they are written as \x1b (C1, U+0080..U+009F, as \u009b) and bytes that are not UTF-8 as \xff.
std::string Printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += s[i++];
      continue;
    }
    const core::CodePoint cp = core::DecodeUtf8(s, i);
    if (cp.length == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
    } else if (cp.value <= 0x9f) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp.value));
      out += buf;
      i += cp.length;
    } else {
      out.append(s, i, cp.length);
      i += cp.length;
    }
  }
  return out;
}

// Seconds as a person reads them: 850us, 12.3ms, 1.25s.
std::string Seconds(double s) {
  if (std::isnan(s)) return "-";
  if (s == 0) return "0";
  // Thresholds at what rounds up to the next unit, so 0.9999 ms reads 1.00ms, not 1000us.
  if (s < 0.0009995) return Printf("%.0fus", s * 1e6);
  if (s < 0.009995) return Printf("%.2fms", s * 1e3);
  if (s < 0.09995) return Printf("%.1fms", s * 1e3);
  if (s < 0.9995) return Printf("%.0fms", s * 1e3);
  if (s < 9.995) return Printf("%.2fs", s);
  if (s < 99.95) return Printf("%.1fs", s);
  if (s < 1e7) return Printf("%.0fs", s);
  return Printf("%.3gs", s);  // absurd, but from the log: 1e+308s, not 309 digits cut off
}

// Audio processed: hours once there are many.
std::string AudioSeconds(double s) {
  if (s <= 0) return "-";
  if (s < 3600) return Seconds(s);
  return Printf(s < 360000 ? "%.1fh" : "%.0fh", s / 3600);
}

std::string Ratio(double v) { return std::isnan(v) ? "-" : Printf(v < 10 ? "%.3f" : v < 1e7 ? "%.1f" : "%.3g", v); }
std::string Percent(double v) { return Printf("%.2f%%", 100 * v); }
std::string Count(uint64_t n) { return std::to_string(n); }

std::string Duration(int64_t us) {
  const int64_t s = us / 1000000;
  char buf[64];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh%02lldm", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600), static_cast<long long>(s % 3600 / 60));
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

// A table whose columns are as wide as their widest cell; columns with no value at all ("-"
// in every row) are left out.
std::string Table(std::vector<std::vector<std::string>> rows) {
  if (rows.size() < 2) return "";
  for (auto& row : rows) {
    for (auto& cell : row) cell = Printable(cell);
  }
  const size_t columns = rows[0].size();
  std::vector<bool> keep(columns, false);
  for (size_t c = 0; c < columns; ++c) {
    for (size_t r = 1; r < rows.size(); ++r) keep[c] = keep[c] || (rows[r][c] != "-" && !rows[r][c].empty());
  }
  keep[0] = true;
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < columns; ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      if (!keep[c]) continue;
      line += row[c];
      line.append(widths[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string GroupTableText(const char* title, const std::vector<GroupReport>& groups, bool with_pool) {
  if (groups.empty()) return "";
  std::vector<std::vector<std::string>> rows = {{title,      "POOL",     "REQUESTS", "5XX",     "4XX",     "5XX%",
                                                 "P50",      "P90",      "P99",      "MAX",     "RTF P50", "RTF P90",
                                                 "RTF P99",  "QUEUE P50", "QUEUE P99", "ENGINE P50", "ENGINE P99",
                                                 "AUDIO"}};
  for (const auto& g : groups) {
    rows.push_back({g.name, with_pool ? (g.pool.empty() ? "-" : g.pool) : "-", Count(g.requests),
                    Count(g.server_errors), Count(g.client_errors), Percent(g.error_ratio), Seconds(g.latency.p50),
                    Seconds(g.latency.p90), Seconds(g.latency.p99), Seconds(g.latency.max), Ratio(g.rtf.p50),
                    Ratio(g.rtf.p90), Ratio(g.rtf.p99), Seconds(g.queue.p50), Seconds(g.queue.p99),
                    Seconds(g.engine.p50), Seconds(g.engine.p99), AudioSeconds(g.audio_seconds)});
  }
  return "\n" + Table(std::move(rows));
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvNumber(double v) { return std::isnan(v) ? "" : Printf("%.9g", v); }

// Text that a spreadsheet would take for a formula (= + - @, or a tab or CR before one; OWASP's
// "CSV injection") gets a leading ' so that it is shown as text. Numbers do not come here.
std::string CsvText(std::string s) {
  if (!s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos) s.insert(0, 1, '\'');
  return s;
}

const std::vector<std::string> kCsvColumns = {
    "section",     "name",        "pool",        "engine",      "start",       "end",         "requests",
    "server_errors", "client_errors", "error_ratio", "latency_p50", "latency_p90", "latency_p99", "latency_max",
    "rtf_p50",     "rtf_p90",     "rtf_p99",     "rtf_max",     "queue_p50",   "queue_p90",   "queue_p99",
    "engine_p50",  "engine_p90",  "engine_p99",  "audio_seconds", "status",    "count",       "value",
    "reference",   "trace",       "detail"};

// One CSV row, filled by column name.
class CsvRow {
 public:
  explicit CsvRow(std::string section) : cells_(kCsvColumns.size()) { Set("section", std::move(section)); }
  CsvRow& Set(const std::string& column, std::string value) { return Put(column, CsvText(std::move(value))); }
  CsvRow& Set(const std::string& column, const char* value) { return Set(column, std::string(value)); }
  CsvRow& Set(const std::string& column, double value) { return Put(column, CsvNumber(value)); }
  CsvRow& Set(const std::string& column, uint64_t value) { return Put(column, std::to_string(value)); }
  std::string Line() const {
    std::string line;
    for (size_t i = 0; i < cells_.size(); ++i) line += (i ? "," : "") + CsvField(cells_[i]);
    return line + "\n";
  }

 private:
  CsvRow& Put(const std::string& column, std::string cell) {
    const auto it = std::find(kCsvColumns.begin(), kCsvColumns.end(), column);
    cells_[static_cast<size_t>(it - kCsvColumns.begin())] = std::move(cell);
    return *this;
  }

  std::vector<std::string> cells_;
};

void CsvPercentiles(CsvRow& row, const std::string& prefix, const Percentiles& p, bool with_max) {
  row.Set(prefix + "_p50", p.p50).Set(prefix + "_p90", p.p90).Set(prefix + "_p99", p.p99);
  if (with_max) row.Set(prefix + "_max", p.max);
}

}  // namespace

std::string FormatTime(int64_t time_us) {
  // H. Hinnant's civil_from_days, so that any time (even a bogus year) formats without gmtime.
  const int64_t micros = ((time_us % 1000000) + 1000000) % 1000000;
  const int64_t seconds = (time_us - micros) / 1000000;
  const int64_t day_seconds = ((seconds % 86400) + 86400) % 86400;
  const int64_t z = (seconds - day_seconds) / 86400 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day), static_cast<long long>(day_seconds / 3600),
                static_cast<long long>(day_seconds % 3600 / 60), static_cast<long long>(day_seconds % 60),
                static_cast<long long>(micros));
  return buf;
}

Json ReportToJson(const Report& r) {
  const Totals& t = r.totals;
  Json severity = Json::object();
  for (int i = 0; i < kSeverityCount; ++i) {
    if (t.by_severity[static_cast<size_t>(i)] > 0) {
      severity[std::string(SeverityName(static_cast<Severity>(i)))] = t.by_severity[static_cast<size_t>(i)];
    }
  }
  Json time_range = {{"first", TimeOrNull(t.first_time_us)}, {"last", TimeOrNull(t.last_time_us)}};
  time_range["seconds"] = t.first_time_us ? Json(static_cast<double>(*t.last_time_us - *t.first_time_us) / 1e6) : Json(nullptr);
  Json j = {{"input", r.input},
            {"form", r.form},
            {"totals",
             {{"bytes", t.bytes},
              {"lines", t.lines},
              {"access_lines", t.access_lines},
              {"skipped",
               {{"total", t.skipped},
                {"not_json", t.not_json},
                {"not_object", t.not_object},
                {"oversized", t.oversized},
                {"truncated", t.truncated},
                {"not_object_in_array", t.stray}}},
              {"bad_field_lines", t.bad_field_lines},
              {"filtered_out", t.filtered_out},
              {"without_time", t.without_time},
              {"server_errors", t.server_errors},
              {"client_errors", t.client_errors},
              {"error_events", t.error_events},
              {"severity", severity},
              {"time_range", time_range}}}};
  for (const auto& [key, groups] : {std::pair{"routes", &r.routes}, {"engines", &r.engines}, {"pools", &r.pools}}) {
    Json list = Json::array();
    for (const auto& g : *groups) list.push_back(GroupJson(g, groups == &r.engines));
    j[key] = std::move(list);
  }
  Json slowest = Json::array();
  for (const auto& s : r.slowest) {
    slowest.push_back({{"time", TimeOrNull(s.time_us)},
                       {"route", s.route},
                       {"engine", s.engine},
                       {"pool", s.pool},
                       {"latency_s", s.latency_s},
                       {"status", s.status ? Json(*s.status) : Json(nullptr)},
                       {"trace", s.trace},
                       {"request_id", s.request_id}});
  }
  j["slowest"] = std::move(slowest);
  Json bursts = Json::array();
  for (const auto& b : r.bursts) {
    bursts.push_back({{"start", FormatTime(b.start_us)},
                      {"end", FormatTime(b.end_us)},
                      {"errors", b.errors},
                      {"requests", b.requests},
                      {"top_message", b.top_message},
                      {"top_message_count", b.top_message_count},
                      {"top_route", b.top_route},
                      {"top_route_count", b.top_route_count}});
  }
  j["bursts"] = {{"window_s", r.burst_window_s},
                 {"baseline_per_window", r.burst_baseline},
                 {"threshold", r.burst_threshold},
                 {"factor", r.options.burst_factor},
                 {"min_errors", r.options.burst_min_errors},
                 {"list", std::move(bursts)}};
  Json anomalies = Json::array();
  for (const auto& a : r.anomalies) {
    anomalies.push_back({{"engine", a.engine},
                         {"pool", a.pool},
                         {"metric", a.metric},
                         {"against", a.against},
                         {"start", FormatTime(a.start_us)},
                         {"end", FormatTime(a.end_us)},
                         {"windows", a.windows},
                         {"samples", a.samples},
                         {"value", a.value},
                         {"reference", a.reference}});
  }
  j["anomalies"] = {{"window_s", r.anomaly_window_s},
                    {"min_samples", r.options.anomaly_min_samples},
                    {"min_errors", r.options.anomaly_min_errors},
                    {"rtf_factor", r.options.rtf_factor},
                    {"error_ratio_delta", r.options.error_ratio_delta},
                    {"list", std::move(anomalies)}};
  j["notes"] = r.notes;
  return j;
}

std::string FormatReportText(const Report& r) {
  const Totals& t = r.totals;
  std::string out = "voxgate logs: " + Printable(r.input) + " (" + r.form + ", " + Count(t.bytes) + " bytes)\n";
  out += "lines " + Count(t.lines) + ": " + Count(t.access_lines) + " access, " + Count(t.skipped) + " skipped";
  std::vector<std::string> why;
  for (const auto& [n, what] : {std::pair{t.not_json, "not JSON"}, {t.not_object, "not an object"},
                                {t.oversized, "over the size limit"}, {t.truncated, "cut off at the end"},
                                {t.stray, "non-object array elements"}}) {
    if (n > 0) why.push_back(Count(n) + " " + what);
  }
  if (!why.empty()) {
    out += " (";
    for (size_t i = 0; i < why.size(); ++i) out += (i ? ", " : "") + why[i];
    out += ")";
  }
  if (t.bad_field_lines > 0) out += ", " + Count(t.bad_field_lines) + " with a field of the wrong type";
  if (t.filtered_out > 0) out += ", " + Count(t.filtered_out) + " of other tiers";
  out += "\n";
  if (t.first_time_us) {
    out += "time  " + FormatTime(*t.first_time_us) + " .. " + FormatTime(*t.last_time_us) + " (" +
           Duration(*t.last_time_us - *t.first_time_us) + ")";
    if (t.without_time > 0) out += ", " + Count(t.without_time) + " lines without a time";
    out += "\n";
  }
  out += "severity ";
  for (int i = 0; i < kSeverityCount; ++i) {
    const uint64_t n = t.by_severity[static_cast<size_t>(i)];
    if (n > 0) out += " " + std::string(SeverityName(static_cast<Severity>(i))) + " " + Count(n);
  }
  out += "\nrequests " + Count(t.access_lines) + ": " + Count(t.server_errors) + " server errors (" +
         Percent(t.access_lines ? static_cast<double>(t.server_errors) / static_cast<double>(t.access_lines) : 0) +
         "), " + Count(t.client_errors) + " client errors; " + Count(t.error_events) +
         " error events (5xx or ERROR and worse)\n";

  out += GroupTableText("ROUTE", r.routes, false);
  out += GroupTableText("ENGINE", r.engines, true);
  out += GroupTableText("POOL", r.pools, false);

  if (!r.slowest.empty()) {
    std::vector<std::vector<std::string>> rows = {{"SLOWEST", "TIME", "ROUTE", "ENGINE", "STATUS", "LATENCY", "TRACE"}};
    int rank = 0;
    for (const auto& s : r.slowest) {
      rows.push_back({"#" + std::to_string(++rank), s.time_us ? FormatTime(*s.time_us) : "-", s.route,
                      s.engine.empty() ? "-" : s.engine, s.status ? std::to_string(*s.status) : "-",
                      Seconds(s.latency_s), s.trace.empty() ? "-" : s.trace});
    }
    out += "\n" + Table(std::move(rows));
  }

  out += "\nerror bursts: " + std::to_string(r.burst_window_s) + " s windows with >= " +
         Printf("%.0f", r.burst_threshold) + " error events (median " + Printf("%g", r.burst_baseline) +
         " per window)";
  if (r.bursts.empty()) {
    out += ": none\n";
  } else {
    out += "\n";
    std::vector<std::vector<std::string>> rows = {{"START", "END", "ERRORS", "REQUESTS", "TOP ROUTE", "TOP MESSAGE"}};
    for (const auto& b : r.bursts) {
      rows.push_back({FormatTime(b.start_us), FormatTime(b.end_us), Count(b.errors), Count(b.requests),
                      b.top_route.empty() ? "-" : b.top_route + " (" + Count(b.top_route_count) + ")",
                      b.top_message.empty() ? "-" : b.top_message + " (" + Count(b.top_message_count) + ")"});
    }
    out += Table(std::move(rows));
  }

  const AnalyzerOptions& o = r.options;
  out += "\nanomalies: " + std::to_string(r.anomaly_window_s) + " s windows, >= " + Count(o.anomaly_min_samples) +
         " samples; rtf >= " + Printf("%g", o.rtf_factor) + "x, or 5xx ratio >= +" +
         Printf("%g", 100 * o.error_ratio_delta) + " points with >= " + Count(o.anomaly_min_errors) + " errors";
  if (r.anomalies.empty()) {
    out += ": none\n";
  } else {
    out += "\n";
    std::vector<std::vector<std::string>> rows = {
        {"ENGINE", "POOL", "METRIC", "AGAINST", "START", "END", "VALUE", "REFERENCE", "SAMPLES"}};
    for (const auto& a : r.anomalies) {
      const bool rtf = a.metric == "rtf";
      rows.push_back({a.engine, a.pool.empty() ? "-" : a.pool, a.metric, a.against, FormatTime(a.start_us),
                      FormatTime(a.end_us), rtf ? Ratio(a.value) : Percent(a.value),
                      rtf ? Ratio(a.reference) : Percent(a.reference), Count(a.samples)});
    }
    out += Table(std::move(rows));
  }
  for (const auto& note : r.notes) out += "note: " + Printable(note) + "\n";
  return out;
}

std::string FormatReportCsv(const Report& r) {
  std::string out;
  for (size_t i = 0; i < kCsvColumns.size(); ++i) out += (i ? "," : "") + kCsvColumns[i];
  out += "\n";
  const Totals& t = r.totals;
  const auto total = [&](const std::string& name, uint64_t value) {
    out += CsvRow("total").Set("name", name).Set("value", value).Line();
  };
  total("bytes", t.bytes);
  total("lines", t.lines);
  total("access_lines", t.access_lines);
  total("skipped", t.skipped);
  total("not_json", t.not_json);
  total("not_object", t.not_object);
  total("oversized", t.oversized);
  total("truncated", t.truncated);
  total("not_object_in_array", t.stray);
  total("bad_field_lines", t.bad_field_lines);
  total("filtered_out", t.filtered_out);
  total("without_time", t.without_time);
  total("server_errors", t.server_errors);
  total("client_errors", t.client_errors);
  total("error_events", t.error_events);
  for (int i = 0; i < kSeverityCount; ++i) {
    const uint64_t n = t.by_severity[static_cast<size_t>(i)];
    if (n > 0) total("severity_" + std::string(SeverityName(static_cast<Severity>(i))), n);
  }
  if (t.first_time_us) {
    out += CsvRow("total")
               .Set("name", "time_range")
               .Set("start", FormatTime(*t.first_time_us))
               .Set("end", FormatTime(*t.last_time_us))
               .Set("value", static_cast<double>(*t.last_time_us - *t.first_time_us) / 1e6)
               .Line();
  }
  for (const auto& [section, groups] : {std::pair{"route", &r.routes}, {"engine", &r.engines}, {"pool", &r.pools}}) {
    for (const auto& g : *groups) {
      CsvRow row(section);
      row.Set("name", g.name)
          .Set("pool", g.pool)
          .Set("requests", g.requests)
          .Set("server_errors", g.server_errors)
          .Set("client_errors", g.client_errors)
          .Set("error_ratio", g.error_ratio)
          .Set("audio_seconds", g.audio_seconds);
      CsvPercentiles(row, "latency", g.latency, true);
      CsvPercentiles(row, "rtf", g.rtf, true);
      CsvPercentiles(row, "queue", g.queue, false);
      CsvPercentiles(row, "engine", g.engine, false);
      out += row.Line();
    }
  }
  for (const auto& s : r.slowest) {
    out += CsvRow("slowest")
               .Set("start", s.time_us ? FormatTime(*s.time_us) : "")
               .Set("name", s.route)
               .Set("engine", s.engine)
               .Set("pool", s.pool)
               .Set("status", s.status ? std::to_string(*s.status) : "")
               .Set("value", s.latency_s)
               .Set("trace", s.trace)
               .Set("detail", s.request_id)
               .Line();
  }
  for (const auto& b : r.bursts) {
    out += CsvRow("burst")
               .Set("start", FormatTime(b.start_us))
               .Set("end", FormatTime(b.end_us))
               .Set("count", b.errors)
               .Set("requests", b.requests)
               .Set("name", b.top_route)
               .Set("detail", b.top_message)
               .Set("reference", r.burst_baseline)
               .Line();
  }
  for (const auto& a : r.anomalies) {
    out += CsvRow("anomaly")
               .Set("name", a.metric + " vs " + a.against)
               .Set("engine", a.engine)
               .Set("pool", a.pool)
               .Set("start", FormatTime(a.start_us))
               .Set("end", FormatTime(a.end_us))
               .Set("count", a.samples)
               .Set("value", a.value)
               .Set("reference", a.reference)
               .Set("detail", std::to_string(a.windows) + " windows")
               .Line();
  }
  for (const auto& note : r.notes) out += CsvRow("note").Set("detail", note).Line();
  return out;
}

}  // namespace voxgate::logs
