// A progress bar on stderr for long reads: bytes read of the file's size (or just bytes read,
// for a pipe), redrawn at most every 100 ms so it costs nothing at hundreds of MB/s.
#pragma once

#include <cstdint>
#include <cstdio>

#include "core/clock.h"

namespace voxgate::logs {

class ProgressBar {
 public:
  // total_bytes 0: unknown (stdin).
  ProgressBar(std::FILE* out, uint64_t total_bytes, const core::Clock& clock);
  void Update(uint64_t bytes);
  // Clears the bar's line.
  void Finish();
  int redraws() const { return redraws_; }

 private:
  void Draw(uint64_t bytes);

  std::FILE* out_;
  uint64_t total_;
  const core::Clock& clock_;
  core::TimePoint start_;
  core::TimePoint last_draw_{};
  int redraws_ = 0;
};

}  // namespace voxgate::logs
