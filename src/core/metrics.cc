#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace voxgate::core {
namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_name = "", const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

void Counter::Increment(double by) {
  std::lock_guard lock(mu_);
  value_ += by;
}
double Counter::value() const {
  std::lock_guard lock(mu_);
  return value_;
}

void Gauge::Set(double v) {
  std::lock_guard lock(mu_);
  value_ = v;
}
void Gauge::Add(double by) {
  std::lock_guard lock(mu_);
  value_ += by;
}
double Gauge::value() const {
  std::lock_guard lock(mu_);
  return value_;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end())) throw std::invalid_argument("histogram bounds must be sorted");
}

void Histogram::Observe(double v) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  std::lock_guard lock(mu_);
  counts_[bucket]++;
  sum_ += v;
  count_++;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot s{bounds_, {}, sum_, count_};
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative_counts.push_back(running += c);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> RealTimeFactorBuckets() { return {0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2}; }

MetricsRegistry::Series& MetricsRegistry::GetSeries(const std::string& name, const std::string& help, Type type,
                                                    const Labels& labels) {
  auto [it, inserted] = families_.try_emplace(name, Family{type, help, {}});
  if (!inserted && it->second.type != type) throw std::logic_error("metric " + name + " registered with two types");
  for (auto& s : it->second.series) {
    if (s->labels == labels) return *s;
  }
  it->second.series.push_back(std::make_unique<Series>());
  it->second.series.back()->labels = labels;
  return *it->second.series.back();
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = GetSeries(name, help, Type::kCounter, labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = GetSeries(name, help, Type::kGauge, labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                                         const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& s = GetSeries(name, help, Type::kHistogram, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help, std::function<double()> read,
                                       const Labels& labels) {
  std::lock_guard callbacks(callbacks_mu_);
  std::lock_guard lock(mu_);
  GetSeries(name, help, Type::kGauge, labels).read = std::move(read);
}

void MetricsRegistry::AddCallbackCounter(const std::string& name, const std::string& help, std::function<double()> read,
                                         const Labels& labels) {
  std::lock_guard callbacks(callbacks_mu_);
  std::lock_guard lock(mu_);
  GetSeries(name, help, Type::kCounter, labels).read = std::move(read);
}

std::string MetricsRegistry::RenderText() const {
  // Callbacks run without mu_: they take their owners' locks, and their owners update metrics
  // while holding those locks (registry lock inside owner lock, never the other way round).
  // callbacks_mu_ keeps an owner from replacing its callback (as it goes away) while one runs.
  std::lock_guard callbacks(callbacks_mu_);
  struct SeriesView {
    const Labels* labels;  // a series' labels and objects never change once made
    const Counter* counter;
    const Gauge* gauge;
    const Histogram* histogram;
    const std::function<double()>* read;
  };
  struct FamilyView {
    const std::string* name;
    const Family* family;
    std::vector<SeriesView> series;
  };
  std::vector<FamilyView> view;
  {
    std::lock_guard lock(mu_);  // families and series are only ever added; map nodes stay put
    for (const auto& [name, family] : families_) {
      FamilyView f{&name, &family, {}};
      for (const auto& s : family.series) {
        f.series.push_back({&s->labels, s->counter.get(), s->gauge.get(), s->histogram.get(), s->read ? &s->read : nullptr});
      }
      view.push_back(std::move(f));
    }
  }
  std::string out;
  for (const auto& [name_ptr, family, series] : view) {
    const std::string& name = *name_ptr;
    const char* type = family->type == Type::kCounter ? "counter" : family->type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + family->help + "\n# TYPE " + name + " " + type + "\n";
    for (const SeriesView& s : series) {
      const Labels& labels = *s.labels;
      if (s.counter) out += name + FormatLabels(labels) + " " + FormatValue(s.counter->value()) + "\n";
      if (s.gauge) out += name + FormatLabels(labels) + " " + FormatValue(s.gauge->value()) + "\n";
      if (s.read) out += name + FormatLabels(labels) + " " + FormatValue((*s.read)()) + "\n";
      if (s.histogram) {
        const auto snap = s.histogram->snapshot();
        for (size_t i = 0; i < snap.upper_bounds.size(); ++i) {
          out += name + "_bucket" + FormatLabels(labels, "le", FormatValue(snap.upper_bounds[i])) + " " +
                 std::to_string(snap.cumulative_counts[i]) + "\n";
        }
        out += name + "_bucket" + FormatLabels(labels, "le", "+Inf") + " " + std::to_string(snap.count) + "\n";
        out += name + "_sum" + FormatLabels(labels) + " " + FormatValue(snap.sum) + "\n";
        out += name + "_count" + FormatLabels(labels) + " " + std::to_string(snap.count) + "\n";
      }
    }
  }
  return out;
}

MetricsRegistry& Metrics() {
  static MetricsRegistry* registry = new MetricsRegistry();
  return *registry;
}

}  // namespace voxgate::core
