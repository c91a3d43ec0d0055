#include "cli/load_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "cli/client.h"

namespace voxgate::cli {

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

LoadBenchResult RunLoadBench(const LoadBenchOptions& options, const audio::Pcm& pcm) {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::vector<double> latencies;
  LoadBenchResult result;
  result.streams = options.streams;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.streams; ++i) {
    threads.emplace_back([&, i] {
      // Stagger the starts so utterance ends do not all line up.
      std::this_thread::sleep_for(std::chrono::milliseconds(37 * i));
      Clock::time_point start{};
      StreamEvents events;
      events.on_progress = [&](double sent) {
        if (start == Clock::time_point{}) start = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sent / options.speed));
      };
      events.on_final = [&](const std::string& text, double, double end) {
        if (text.empty() || start == Clock::time_point{}) return;
        const auto spoken_end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(end / options.speed));
        const double latency = std::chrono::duration<double>(Clock::now() - spoken_end).count();
        std::lock_guard lock(mu);
        latencies.push_back(latency);
      };
      auto status = StreamRecognize(options.server_url, options.language, pcm, options.speed, events);
      if (!status.ok()) {
        std::lock_guard lock(mu);
        result.failed_streams++;
        result.errors.push_back("stream " + std::to_string(i) + ": " + std::string(status.message()));
      }
    });
  }
  for (auto& t : threads) t.join();
  result.finals = static_cast<int>(latencies.size());
  result.p50 = Quantile(latencies, 0.50);
  result.p95 = Quantile(latencies, 0.95);
  result.p99 = Quantile(latencies, 0.99);
  result.max = latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
  return result;
}

}  // namespace voxgate::cli
