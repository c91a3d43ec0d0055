// A small Prometheus metrics registry (no client library is packaged for C++ in Debian).
// Families are created once at start-up; label sets are bounded by the code that uses them
// (service, outcome, engine), never request ids or keys.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace voxgate::core {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(double by = 1);
  double value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Gauge {
 public:
  void Set(double v);
  void Add(double by);
  double value() const;

 private:
  mutable std::mutex mu_;
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Buckets for latencies in seconds (5 ms .. 30 s) and for real-time factors.
std::vector<double> LatencyBuckets();
std::vector<double> RealTimeFactorBuckets();

class MetricsRegistry {
 public:
  // Get-or-create the series `name{labels}`. Pointers stay valid for the registry's lifetime.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                          const Labels& labels = {});
  // A gauge read when scraped (e.g. active streams owned by another object).
  void AddCallbackGauge(const std::string& name, const std::string& help, std::function<double()> read,
                        const Labels& labels = {});
  // A counter read when scraped (e.g. a count kept by code that cannot depend on the registry).
  void AddCallbackCounter(const std::string& name, const std::string& help, std::function<double()> read,
                          const Labels& labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string RenderText() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series& GetSeries(const std::string& name, const std::string& help, Type type, const Labels& labels);

  mutable std::mutex callbacks_mu_;  // held while callbacks run, and to replace one
  mutable std::mutex mu_;            // the families and their series
  std::map<std::string, Family> families_;
};

// The process-wide registry served on the admin listener.
MetricsRegistry& Metrics();

}  // namespace voxgate::core
