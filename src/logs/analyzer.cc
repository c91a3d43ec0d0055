#include "logs/analyzer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "logs/internal/counters.h"
#include "logs/log_histogram.h"

namespace voxgate::logs {
namespace {

using internal::FloorDiv;

constexpr int64_t kMicros = 1000000;
constexpr size_t kMaxNameLength = 200;

struct Group {
  std::string pool;
  uint64_t requests = 0, server_errors = 0, client_errors = 0, client_gone = 0;
  double audio_seconds = 0;
  LogHistogram latency, rtf, queue, engine;

  void Add(const LogEntry& e, Outcome outcome) {
    ++requests;
    if (outcome == Outcome::kServerError) ++server_errors;
    if (outcome == Outcome::kClientError) ++client_errors;
    if (outcome == Outcome::kClientGone) ++client_gone;
    if (e.audio_seconds) audio_seconds += *e.audio_seconds;
    if (e.latency_s) latency.Add(*e.latency_s);
    if (e.rtf) rtf.Add(*e.rtf);
    if (e.queue_s) queue.Add(*e.queue_s);
    if (e.engine_s) engine.Add(*e.engine_s);
  }
};

Percentiles PercentilesOf(const LogHistogram& h) {
  Percentiles p;
  p.count = h.count();
  if (p.count == 0) return p;
  p.p50 = h.Quantile(0.5);
  p.p90 = h.Quantile(0.9);
  p.p99 = h.Quantile(0.99);
  p.max = h.max();
  return p;
}

// Names (routes, engines, pools) to their stats, at most `max` names; the rest share "(other)".
class GroupTable {
 public:
  static constexpr size_t kOther = SIZE_MAX;
  explicit GroupTable(size_t max) : max_(max) {}

  size_t Index(std::string_view name) {
    name = internal::Truncate(name, kMaxNameLength);
    if (auto it = index_.find(name); it != index_.end()) return it->second;
    if (groups_.size() >= max_) return kOther;
    index_.emplace(std::string(name), groups_.size());
    names_.emplace_back(name);
    groups_.emplace_back();
    return groups_.size() - 1;
  }
  Group& At(size_t index) { return index == kOther ? other_ : groups_[index]; }
  const Group& At(size_t index) const { return index == kOther ? other_ : groups_[index]; }
  size_t size() const { return groups_.size(); }
  const std::string& Name(size_t index) const { return names_[index]; }
  uint64_t folded_requests() const { return other_.requests; }

  std::vector<GroupReport> Report() const {
    std::vector<GroupReport> out;
    for (size_t i = 0; i < groups_.size(); ++i) out.push_back(ReportOf(names_[i], groups_[i]));
    std::sort(out.begin(), out.end(), [](const GroupReport& a, const GroupReport& b) {
      return std::tie(b.requests, a.name) < std::tie(a.requests, b.name);
    });
    if (other_.requests > 0) out.push_back(ReportOf(kOtherName, other_));
    return out;
  }

 private:
  static GroupReport ReportOf(const std::string& name, const Group& g) {
    GroupReport r;
    r.name = name;
    r.pool = g.pool;
    r.requests = g.requests;
    r.server_errors = g.server_errors;
    r.client_errors = g.client_errors;
    r.client_gone = g.client_gone;
    r.error_ratio = g.requests == 0 ? 0 : static_cast<double>(g.server_errors) / static_cast<double>(g.requests);
    r.audio_seconds = g.audio_seconds;
    r.latency = PercentilesOf(g.latency);
    r.rtf = PercentilesOf(g.rtf);
    r.queue = PercentilesOf(g.queue);
    r.engine = PercentilesOf(g.engine);
    return r;
  }

  size_t max_;
  internal::StringMap<size_t> index_;
  std::vector<std::string> names_;
  std::vector<Group> groups_;
  Group other_;
};

struct BurstWindow {
  uint64_t requests = 0, errors = 0;
  internal::TopCounter messages, routes;

  void Merge(const BurstWindow& o) {
    requests += o.requests;
    errors += o.errors;
    messages.Merge(o.messages);
    routes.Merge(o.routes);
  }
};

// One engine in one anomaly window.
struct Cell {
  uint32_t engine = 0;
  uint64_t requests = 0, errors = 0, rtf_n = 0;
  double rtf_sum = 0;

  void Merge(const Cell& o) {
    requests += o.requests;
    errors += o.errors;
    rtf_n += o.rtf_n;
    rtf_sum += o.rtf_sum;
  }
};

// Slower first; ties broken so that the same lines in any order give the same list.
bool Slower(const SlowRequest& a, const SlowRequest& b) {
  return std::tie(b.latency_s, a.time_us, a.request_id, a.trace) < std::tie(a.latency_s, b.time_us, b.request_id, b.trace);
}

}  // namespace

class Analyzer::Impl {
 public:
  explicit Impl(AnalyzerOptions options)
      : options_(std::move(options)),
        burst_width_us_(std::max<int64_t>(1, options_.burst_window_s) * kMicros),
        anomaly_width_us_(std::max<int64_t>(1, options_.anomaly_window_s) * kMicros),
        routes_(options_.max_names),
        engines_(options_.max_names),
        pools_(options_.max_names),
        strings_(options_.max_messages) {}

  void AddRecord(std::string_view record) {
    switch (ParseLogEntry(record, &scratch_)) {
      case ParseResult::kOk: Add(scratch_); break;
      case ParseResult::kNotJson: ++totals_.not_json; break;
      case ParseResult::kNotObject: ++totals_.not_object; break;
    }
  }

  void Add(const LogEntry& e) {
    Totals& t = totals_;
    if (!options_.tier.empty() && e.tier != options_.tier) {
      ++t.filtered_out;
      return;
    }
    ++t.by_severity[static_cast<size_t>(e.severity)];
    if (e.bad_field) ++t.bad_field_lines;
    if (e.time_us) {
      t.first_time_us = t.first_time_us ? std::min(*t.first_time_us, *e.time_us) : *e.time_us;
      t.last_time_us = t.last_time_us ? std::max(*t.last_time_us, *e.time_us) : *e.time_us;
    } else {
      ++t.without_time;
    }
    const bool access = e.IsAccess();
    const Outcome outcome = access ? e.outcome() : Outcome::kNone;
    const bool server_error = outcome == Outcome::kServerError;
    const bool error_event = server_error || IsErrorSeverity(e.severity);
    if (error_event) ++t.error_events;
    size_t engine = GroupTable::kOther;
    if (access) {
      ++t.access_lines;
      if (server_error) ++t.server_errors;
      if (outcome == Outcome::kClientError) ++t.client_errors;
      const std::string_view route = e.RouteName().empty() ? std::string_view("(none)") : e.RouteName();
      routes_.At(routes_.Index(route)).Add(e, outcome);
      if (!e.EngineName().empty()) {
        engine = engines_.Index(e.EngineName());
        Group& g = engines_.At(engine);
        if (g.pool.empty() && engine != GroupTable::kOther) g.pool = internal::Truncate(e.PoolName(), kMaxNameLength);
        g.Add(e, outcome);
      }
      if (!e.PoolName().empty()) pools_.At(pools_.Index(e.PoolName())).Add(e, outcome);
      if (e.latency_s) OfferSlow(e);
    }
    if (!e.time_us) return;
    if (access || error_event) {
      BurstWindow& w = BurstAt(*e.time_us);
      if (access) ++w.requests;
      if (error_event) {
        ++w.errors;
        w.messages.Add(strings_.Id(ErrorMessage(e)));
        if (access) w.routes.Add(strings_.Id(e.RouteName()));
      }
    }
    if (engine != GroupTable::kOther) {
      Cell& c = CellAt(*e.time_us, static_cast<uint32_t>(engine));
      ++c.requests;
      if (server_error) ++c.errors;
      if (e.rtf) {
        ++c.rtf_n;
        c.rtf_sum += *e.rtf;
      }
    }
  }

  Report Finish(const ReaderCounts& reader) {
    Report report;
    report.options = options_;
    Totals& t = totals_;
    t.bytes = reader.bytes;
    t.lines = reader.records;
    t.oversized = reader.oversized;
    t.truncated = reader.truncated;
    t.stray = reader.stray;
    t.skipped = t.not_json + t.not_object + t.oversized + t.truncated + t.stray;
    report.totals = t;
    report.routes = routes_.Report();
    report.engines = engines_.Report();
    report.pools = pools_.Report();
    report.slowest = slowest_;
    std::sort(report.slowest.begin(), report.slowest.end(), Slower);
    FindBursts(&report);
    FindAnomalies(&report);
    Notes(&report);
    return report;
  }

 private:
  std::string_view ErrorMessage(const LogEntry& e) {
    if (!e.IsAccess()) return e.message;
    if (!e.error.empty()) return e.error;
    if (!e.error_code.empty()) return e.error_code;
    if (e.status) {
      status_text_ = "HTTP " + std::to_string(*e.status);
      return status_text_;
    }
    return e.message;
  }

  void OfferSlow(const LogEntry& e) {
    if (options_.top == 0) return;
    const auto heap_order = [](const SlowRequest& a, const SlowRequest& b) { return Slower(a, b); };
    if (slowest_.size() == options_.top) {
      // Cheap reject on latency alone before any string is copied.
      if (*e.latency_s < slowest_.front().latency_s) return;
    }
    SlowRequest r;
    r.time_us = e.time_us;
    r.route = internal::Truncate(e.RouteName(), kMaxNameLength);
    r.engine = internal::Truncate(e.EngineName(), kMaxNameLength);
    r.pool = internal::Truncate(e.PoolName(), kMaxNameLength);
    r.trace = internal::Truncate(e.trace, kMaxNameLength);
    r.request_id = internal::Truncate(e.request_id, kMaxNameLength);
    r.status = e.status;
    r.latency_s = *e.latency_s;
    if (slowest_.size() == options_.top) {
      if (!Slower(r, slowest_.front())) return;
      std::pop_heap(slowest_.begin(), slowest_.end(), heap_order);
      slowest_.back() = std::move(r);
    } else {
      slowest_.push_back(std::move(r));
    }
    // A heap whose front is the least slow of the kept ones.
    std::push_heap(slowest_.begin(), slowest_.end(), heap_order);
  }

  BurstWindow& BurstAt(int64_t time_us) {
    const int64_t index = FloorDiv(time_us, burst_width_us_);
    if (last_burst_ != nullptr && index == last_burst_index_) return *last_burst_;
    auto [it, inserted] = bursts_.try_emplace(index);
    if (inserted && bursts_.size() > std::max<size_t>(1, options_.max_windows)) {
      // Wider windows instead of forgetting: the analysis stays whole, only coarser.
      std::map<int64_t, BurstWindow> wider;
      for (const auto& [i, w] : bursts_) wider[FloorDiv(i, 2)].Merge(w);
      bursts_.swap(wider);
      burst_width_us_ *= 2;
      last_burst_ = nullptr;
      return BurstAt(time_us);
    }
    last_burst_index_ = index;
    last_burst_ = &it->second;
    return it->second;
  }

  Cell& CellAt(int64_t time_us, uint32_t engine) {
    const int64_t index = FloorDiv(time_us, anomaly_width_us_);
    if (last_cells_ == nullptr || index != last_cells_index_) {
      last_cells_ = &cells_[index];
      last_cells_index_ = index;
    }
    for (Cell& c : *last_cells_) {
      if (c.engine == engine) return c;
    }
    // (One window over the bound on its own is let be: widening would not make it smaller.)
    if (++cell_count_ > options_.max_anomaly_cells && cells_.size() > 1) {
      std::map<int64_t, std::vector<Cell>> wider;
      cell_count_ = 0;
      for (const auto& [i, cells] : cells_) {
        auto& to = wider[FloorDiv(i, 2)];
        for (const Cell& c : cells) {
          auto it = std::find_if(to.begin(), to.end(), [&](const Cell& x) { return x.engine == c.engine; });
          if (it == to.end()) {
            to.push_back(c);
            ++cell_count_;
          } else {
            it->Merge(c);
          }
        }
      }
      cells_.swap(wider);
      anomaly_width_us_ *= 2;
      last_cells_ = nullptr;
      return CellAt(time_us, engine);
    }
    Cell c;
    c.engine = engine;
    last_cells_->push_back(c);
    return last_cells_->back();
  }

  void FindBursts(Report* report) {
    report->burst_window_s = burst_width_us_ / kMicros;
    const double min_errors = static_cast<double>(std::max<uint64_t>(1, options_.burst_min_errors));
    report->burst_threshold = min_errors;  // what a burst would have needed, also with no errors
    if (bursts_.empty()) return;
    const int64_t first = FloorDiv(*totals_.first_time_us, burst_width_us_);
    const int64_t last = FloorDiv(*totals_.last_time_us, burst_width_us_);
    const uint64_t windows = static_cast<uint64_t>(last - first) + 1;
    // The median of error events per window over the whole time covered (windows with no line
    // count as 0): a burst cannot raise its own baseline, as it would a mean.
    std::vector<uint64_t> nonzero;
    for (const auto& [i, w] : bursts_) {
      if (w.errors > 0) nonzero.push_back(w.errors);
    }
    std::sort(nonzero.begin(), nonzero.end());
    const uint64_t zeros = windows - std::min<uint64_t>(windows, nonzero.size());
    const uint64_t rank = (windows + 1) / 2;
    const double median = rank <= zeros ? 0.0 : static_cast<double>(nonzero[std::min<uint64_t>(rank - zeros - 1, nonzero.size() - 1)]);
    const double threshold = std::max(min_errors, options_.burst_factor * median);
    report->burst_baseline = median;
    report->burst_threshold = threshold;
    std::optional<int64_t> open_last;
    BurstWindow merged;
    int64_t open_first = 0;
    const auto close = [&] {
      if (!open_last) return;
      Burst b;
      b.start_us = open_first * burst_width_us_;
      b.end_us = (*open_last + 1) * burst_width_us_;
      b.errors = merged.errors;
      b.requests = merged.requests;
      const auto [message, message_count] = merged.messages.Top();
      const auto [route, route_count] = merged.routes.Top();
      b.top_message = message_count > 0 ? strings_.Name(message) : "";
      b.top_message_count = message_count;
      b.top_route = route_count > 0 ? strings_.Name(route) : "";
      b.top_route_count = route_count;
      report->bursts.push_back(std::move(b));
      open_last.reset();
    };
    for (const auto& [i, w] : bursts_) {
      if (static_cast<double>(w.errors) < threshold) continue;
      if (open_last && i != *open_last + 1) close();
      if (!open_last) {
        open_first = i;
        merged = BurstWindow();
      }
      merged.Merge(w);
      open_last = i;
    }
    close();
  }

  void FindAnomalies(Report* report) {
    report->anomaly_window_s = anomaly_width_us_ / kMicros;
    const uint64_t min_samples = std::max<uint64_t>(1, options_.anomaly_min_samples);
    struct Sums {
      uint64_t requests = 0, errors = 0, rtf_n = 0;
      double rtf_sum = 0;
    };
    // An anomaly being built: consecutive flagged windows of one engine, metric and reference.
    struct Open {
      Anomaly anomaly;
      int64_t last_window = 0;
      double numerator = 0, denominator = 0, reference_weighted = 0;
    };
    std::map<std::tuple<uint32_t, int, int>, Open> open;
    std::vector<Anomaly> done;
    const auto flag = [&](uint32_t engine, int metric, int against, int64_t window, double numerator,
                          double denominator, double reference) {
      const auto key = std::make_tuple(engine, metric, against);
      auto it = open.find(key);
      if (it != open.end() && it->second.last_window != window - 1) {
        done.push_back(it->second.anomaly);
        open.erase(it);
        it = open.end();
      }
      if (it == open.end()) {
        Open o;
        o.anomaly.engine = engines_.Name(engine);
        o.anomaly.pool = engines_.At(engine).pool;
        o.anomaly.metric = metric == 0 ? "rtf" : "error_ratio";
        o.anomaly.against = against == 0 ? "baseline" : "peers";
        o.anomaly.start_us = window * anomaly_width_us_;
        it = open.emplace(key, std::move(o)).first;
      }
      Open& o = it->second;
      o.last_window = window;
      o.numerator += numerator;
      o.denominator += denominator;
      o.reference_weighted += reference * denominator;
      o.anomaly.end_us = (window + 1) * anomaly_width_us_;
      ++o.anomaly.windows;
      o.anomaly.samples = static_cast<uint64_t>(o.denominator);
      o.anomaly.value = o.numerator / o.denominator;
      o.anomaly.reference = o.reference_weighted / o.denominator;
    };

    std::vector<Sums> baseline(engines_.size());
    for (const auto& [window, cells] : cells_) {
      // This window's totals per pool over the engines with enough samples (the peers).
      std::vector<std::pair<const std::string*, Sums>> pools;
      const auto pool_of = [&](const Cell& c) -> Sums& {
        const std::string* name = &engines_.At(c.engine).pool;
        for (auto& [n, s] : pools) {
          if (*n == *name) return s;
        }
        return pools.emplace_back(name, Sums()).second;
      };
      for (const Cell& c : cells) {
        Sums& s = pool_of(c);
        if (c.rtf_n >= min_samples) {
          s.rtf_n += c.rtf_n;
          s.rtf_sum += c.rtf_sum;
        }
        if (c.requests >= min_samples) {
          s.requests += c.requests;
          s.errors += c.errors;
        }
      }
      for (const Cell& c : cells) {
        const Sums& pool = pool_of(c);
        Sums& base = baseline[c.engine];
        bool rtf_flagged = false, errors_flagged = false;
        if (c.rtf_n >= min_samples) {
          const double mean = c.rtf_sum / static_cast<double>(c.rtf_n);
          if (base.rtf_n >= min_samples) {
            const double reference = base.rtf_sum / static_cast<double>(base.rtf_n);
            if (reference > 0 && mean >= options_.rtf_factor * reference) {
              flag(c.engine, 0, 0, window, c.rtf_sum, static_cast<double>(c.rtf_n), reference);
              rtf_flagged = true;
            }
          }
          const uint64_t peers_n = pool.rtf_n - c.rtf_n;
          if (peers_n >= min_samples) {
            const double reference = (pool.rtf_sum - c.rtf_sum) / static_cast<double>(peers_n);
            if (reference > 0 && mean >= options_.rtf_factor * reference) {
              flag(c.engine, 0, 1, window, c.rtf_sum, static_cast<double>(c.rtf_n), reference);
              rtf_flagged = true;
            }
          }
        }
        if (c.requests >= min_samples && c.errors >= options_.anomaly_min_errors) {
          const double ratio = static_cast<double>(c.errors) / static_cast<double>(c.requests);
          if (base.requests >= min_samples) {
            const double reference = static_cast<double>(base.errors) / static_cast<double>(base.requests);
            if (ratio >= reference + options_.error_ratio_delta) {
              flag(c.engine, 1, 0, window, static_cast<double>(c.errors), static_cast<double>(c.requests), reference);
              errors_flagged = true;
            }
          }
          const uint64_t peers_requests = pool.requests - c.requests;
          if (peers_requests >= min_samples) {
            const double reference = static_cast<double>(pool.errors - c.errors) / static_cast<double>(peers_requests);
            if (ratio >= reference + options_.error_ratio_delta) {
              flag(c.engine, 1, 1, window, static_cast<double>(c.errors), static_cast<double>(c.requests), reference);
              errors_flagged = true;
            }
          }
        }
        // Flagged windows stay out of the baseline, so a lasting drift stays flagged.
        if (!rtf_flagged) {
          base.rtf_n += c.rtf_n;
          base.rtf_sum += c.rtf_sum;
        }
        if (!errors_flagged) {
          base.requests += c.requests;
          base.errors += c.errors;
        }
      }
    }
    for (auto& [key, o] : open) done.push_back(std::move(o.anomaly));
    std::sort(done.begin(), done.end(), [](const Anomaly& a, const Anomaly& b) {
      return std::tie(a.start_us, a.engine, a.metric, a.against) < std::tie(b.start_us, b.engine, b.metric, b.against);
    });
    report->anomalies = std::move(done);
  }

  void Notes(Report* report) {
    const auto note = [&](const char* table, const GroupTable& g) {
      if (g.folded_requests() == 0) return;
      report->notes.push_back(std::string(table) + ": more than " + std::to_string(options_.max_names) +
                              " names; " + std::to_string(g.folded_requests()) +
                              " access lines of the others are counted under (other)");
    };
    note("routes", routes_);
    note("engines", engines_);
    note("pools", pools_);
    if (report->burst_window_s != options_.burst_window_s) {
      report->notes.push_back("error-burst windows widened from " + std::to_string(options_.burst_window_s) + " s to " +
                              std::to_string(report->burst_window_s) + " s to bound memory");
    }
    if (report->anomaly_window_s != options_.anomaly_window_s) {
      report->notes.push_back("anomaly windows widened from " + std::to_string(options_.anomaly_window_s) + " s to " +
                              std::to_string(report->anomaly_window_s) + " s to bound memory");
    }
    if (strings_.full()) {
      report->notes.push_back("more than " + std::to_string(options_.max_messages) +
                              " distinct error messages and routes; the rest count as (other) in bursts");
    }
  }

  AnalyzerOptions options_;
  int64_t burst_width_us_;
  int64_t anomaly_width_us_;
  Totals totals_;
  GroupTable routes_, engines_, pools_;
  internal::Interner strings_;
  std::vector<SlowRequest> slowest_;
  std::map<int64_t, BurstWindow> bursts_;
  BurstWindow* last_burst_ = nullptr;
  int64_t last_burst_index_ = 0;
  std::map<int64_t, std::vector<Cell>> cells_;
  std::vector<Cell>* last_cells_ = nullptr;
  int64_t last_cells_index_ = 0;
  size_t cell_count_ = 0;
  LogEntry scratch_;
  std::string status_text_;
};

Analyzer::Analyzer(AnalyzerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Analyzer::~Analyzer() = default;
void Analyzer::AddRecord(std::string_view record) { impl_->AddRecord(record); }
void Analyzer::Add(const LogEntry& entry) { impl_->Add(entry); }
Report Analyzer::Finish(const ReaderCounts& reader) { return impl_->Finish(reader); }

}  // namespace voxgate::logs
