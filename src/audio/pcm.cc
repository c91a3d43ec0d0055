#include "audio/pcm.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace voxgate::audio {
namespace {

// Explicit little-endian decoding: correct on any host byte order, and compilers turn it into a
// single load on little-endian machines anyway.
int16_t LoadS16le(const uint8_t* p) {
  return static_cast<int16_t>(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace

absl::Status CheckSampleRate(int64_t hertz) {
  if (hertz < kMinSampleRateHertz || hertz > kMaxSampleRateHertz) {
    return absl::InvalidArgumentError(absl::StrCat("sample rate ", hertz, " Hz is out of range (",
                                                   kMinSampleRateHertz, "..",
                                                   kMaxSampleRateHertz, ")"));
  }
  return absl::OkStatus();
}

double Pcm::DurationSeconds() const {
  if (sample_rate_hertz <= 0) return 0.0;
  return static_cast<double>(samples.size()) / sample_rate_hertz;
}

void AppendDownmixed(std::span<const int16_t> interleaved, int channels,
                     std::vector<int16_t>& out) {
  if (channels <= 1) {
    out.insert(out.end(), interleaved.begin(), interleaved.end());
    return;
  }
  // No reserve(size + frames) here: callers append a few frames at a time, and an exact reserve
  // on every call would defeat the vector's geometric growth and copy the whole stream each time.
  const size_t frames = interleaved.size() / static_cast<size_t>(channels);
  for (size_t f = 0; f < frames; ++f) {
    int64_t sum = 0;
    for (int c = 0; c < channels; ++c) sum += interleaved[f * channels + c];
    // round(sum / channels), halves up, in integers: floor((2 * sum + channels) / (2 * channels)).
    // The mean of int16 values is an int16 value, so no clamping is needed.
    out.push_back(static_cast<int16_t>(FloorDiv(2 * sum + channels, 2 * int64_t{channels})));
  }
}

PcmS16leParser::PcmS16leParser(int channels) : channels_(std::clamp(channels, 1, kMaxChannels)) {}

void PcmS16leParser::Append(std::string_view bytes, std::vector<int16_t>& out) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t size = bytes.size();
  const size_t frame_bytes = 2 * static_cast<size_t>(channels_);
  std::array<int16_t, kMaxChannels> frame;

  if (carry_size_ > 0) {
    const size_t take = std::min(frame_bytes - carry_size_, size);
    std::copy_n(data, take, carry_.begin() + carry_size_);
    carry_size_ += take;
    data += take;
    size -= take;
    if (carry_size_ < frame_bytes) return;
    for (int c = 0; c < channels_; ++c) frame[c] = LoadS16le(&carry_[2 * c]);
    AppendDownmixed(std::span(frame.data(), channels_), channels_, out);
    carry_size_ = 0;
  }

  const size_t whole = size / frame_bytes * frame_bytes;
  if (channels_ == 1) {
    const size_t first = out.size();
    out.resize(first + whole / 2);
    for (size_t i = 0; i < whole / 2; ++i) out[first + i] = LoadS16le(data + 2 * i);
  } else {
    std::vector<int16_t> interleaved(whole / 2);
    for (size_t i = 0; i < interleaved.size(); ++i) interleaved[i] = LoadS16le(data + 2 * i);
    AppendDownmixed(interleaved, channels_, out);
  }

  carry_size_ = size - whole;
  std::copy_n(data + whole, carry_size_, carry_.begin());
}

}  // namespace voxgate::audio
