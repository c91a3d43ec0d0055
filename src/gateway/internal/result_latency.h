// The latencies a streaming client feels: time to the first partial result (from the first
// audio sent), and for each final result the time from when the audio at its end was sent to
// when the result came (final-result latency after end of speech). Fed on the connection's
// strand; observes voxgate_stream_first_partial_seconds and voxgate_stream_final_latency_seconds.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::internal {

class ResultLatency {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ResultLatency(std::string route) : route_(std::move(route)) {}

  // The stream's audio now reaches `stream_seconds` (model-rate seconds from its start).
  void OnAudioSent(double stream_seconds) {
    const auto now = Clock::now();
    if (!first_audio_) first_audio_ = now;
    if (sent_.size() == kMaxMarks) sent_.pop_front();  // a long stretch without finals: forget the oldest
    sent_.emplace_back(stream_seconds, now);
  }

  void OnResult(const speech::RecognitionResult& r) {
    const auto now = Clock::now();
    if (!r.is_final) {
      if (!first_partial_ && first_audio_ && !r.transcript.empty()) {
        first_partial_ = std::chrono::duration<double>(now - *first_audio_).count();
        Histogram("voxgate_stream_first_partial_seconds", "From a stream's first audio to its first partial result.")
            .Observe(*first_partial_);
      }
      return;
    }
    // The first write that reached the result's end is when the client had said it all.
    while (!sent_.empty() && sent_.front().first < r.end_seconds) sent_.pop_front();
    if (sent_.empty() || r.transcript.empty()) return;
    const double latency = std::chrono::duration<double>(now - sent_.front().second).count();
    Histogram("voxgate_stream_final_latency_seconds", "From the audio at a final result's end being sent to the result.")
        .Observe(latency);
    final_latency_sum_ += latency;
    finals_++;
  }

  void AddFields(nlohmann::json& fields) const {
    if (first_partial_) fields["first_partial_s"] = *first_partial_;
    if (finals_ > 0) fields["final_latency_s"] = final_latency_sum_ / finals_;
  }

 private:
  static constexpr size_t kMaxMarks = 4096;

  core::Histogram& Histogram(const char* name, const char* help) const {
    return core::Metrics().GetHistogram(name, help, core::LatencyBuckets(), {{"route", route_}});
  }

  const std::string route_;
  std::deque<std::pair<double, Clock::time_point>> sent_;
  std::optional<Clock::time_point> first_audio_;
  std::optional<double> first_partial_;
  double final_latency_sum_ = 0;
  int finals_ = 0;
};

}  // namespace voxgate::gateway::internal
