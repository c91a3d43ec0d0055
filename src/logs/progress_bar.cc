#include "logs/progress_bar.h"

#include <algorithm>
#include <chrono>
#include <string>

namespace voxgate::logs {

namespace {
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
}

ProgressBar::ProgressBar(std::FILE* out, uint64_t total_bytes, const core::Clock& clock)
    : out_(out), total_(total_bytes), clock_(clock), start_(clock.Now()) {}

void ProgressBar::Update(uint64_t bytes) {
  const auto now = clock_.Now();
  if (redraws_ > 0 && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw(bytes);
}

void ProgressBar::Draw(uint64_t bytes) {
  ++redraws_;
  const double seconds = std::chrono::duration<double>(clock_.Now() - start_).count();
  const double mb = static_cast<double>(bytes) / 1e6;
  const double rate = seconds > 0 ? mb / seconds : 0;
  if (total_ > 0) {
    constexpr int kWidth = 30;
    const double done = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
    const int filled = static_cast<int>(kWidth * done);
    std::fprintf(out_, "\r\033[K[%s%s] %5.1f%%  %.0f/%.0f MB  %.0f MB/s", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), 100 * done, mb, static_cast<double>(total_) / 1e6, rate);
  } else {
    std::fprintf(out_, "\r\033[K%.0f MB read  %.0f MB/s", mb, rate);
  }
  std::fflush(out_);
}

void ProgressBar::Finish() {
  if (redraws_ == 0) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
}

}  // namespace voxgate::logs
