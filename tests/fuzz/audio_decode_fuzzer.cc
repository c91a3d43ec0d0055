// DecodeAudioFile on arbitrary bytes: must return a status or audio, never crash, hang or read
// outside the buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audio/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small enough that a header claiming hours of audio is refused instead of filling memory.
  constexpr size_t kMaxSamples = 48000 * 60;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<voxgate::audio::Pcm> pcm = voxgate::audio::DecodeAudioFile(bytes, kMaxSamples);
  if (pcm.ok() && (pcm->samples.empty() || pcm->samples.size() > kMaxSamples ||
                   pcm->sample_rate_hertz < voxgate::audio::kMinSampleRateHertz ||
                   pcm->sample_rate_hertz > voxgate::audio::kMaxSampleRateHertz)) {
    std::abort();
  }
  if (!pcm.ok() && pcm.status().message().empty()) std::abort();
  return 0;
}
