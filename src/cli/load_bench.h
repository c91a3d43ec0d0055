// `voxctl bench`: concurrent real-time streams against a server, measuring how long each final
// result takes after the end of the speech it covers.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "audio/pcm.h"

namespace voxgate::cli {

struct LoadBenchOptions {
  std::string server_url;
  std::string language = "en-US";
  int streams = 1;
  double speed = 1.0;  // times real time for every stream
};

struct LoadBenchResult {
  int streams = 0;
  int failed_streams = 0;
  int finals = 0;
  // Seconds from the end of an utterance (in the audio, at the pace it was sent) to its final result.
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::vector<std::string> errors;
};

LoadBenchResult RunLoadBench(const LoadBenchOptions& options, const audio::Pcm& pcm);

// The q-quantile (0..1) of `values` by nearest rank; 0 when empty.
double Quantile(std::vector<double> values, double q);

}  // namespace voxgate::cli
