#ifndef VOXGATE_AUDIO_PCM_H_
#define VOXGATE_AUDIO_PCM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace voxgate::audio {

// Every rate a client may send or an engine may ask for. Below 8 kHz speech is unintelligible;
// above 192 kHz a value is far more likely a corrupt header than a real recording.
inline constexpr int kMinSampleRateHertz = 8000;
inline constexpr int kMaxSampleRateHertz = 192000;

// OK if `hertz` is in [kMinSampleRateHertz, kMaxSampleRateHertz], else INVALID_ARGUMENT with a
// message fit for a client ("sample rate 0 Hz is out of range (8000..192000)").
absl::Status CheckSampleRate(int64_t hertz);

// Mono signed 16-bit audio: the one format that flows between the gateway and the engines.
struct Pcm {
  int sample_rate_hertz = 0;
  std::vector<int16_t> samples;

  double DurationSeconds() const;
};

// Appends the mean of each frame of `interleaved` (frames of `channels` samples, rounded half
// up) to `out`. The file decoder and the stream parsers all downmix through this one function so
// that the same stereo file gives the same mono samples whichever way it arrives.
void AppendDownmixed(std::span<const int16_t> interleaved, int channels,
                     std::vector<int16_t>& out);

// Turns a byte stream of interleaved little-endian s16 frames into mono samples, however the
// stream is split: a frame cut across two messages (an odd-length WebSocket frame, say) is kept
// until its remaining bytes arrive instead of shifting every later sample by one byte.
class PcmS16leParser {
 public:
  static constexpr int kMaxChannels = 8;

  // `channels` must be in [1, kMaxChannels]; callers validate client input with a clear error
  // first (WavStreamParser does), so a bad value here is a programming error and is clamped.
  explicit PcmS16leParser(int channels = 1);

  // Appends the mono samples of every frame completed by `bytes` to `out`.
  void Append(std::string_view bytes, std::vector<int16_t>& out);

  // Bytes of an incomplete frame held back for the next Append (0 at a frame boundary).
  size_t pending_bytes() const { return carry_size_; }
  int channels() const { return channels_; }

 private:
  int channels_;
  std::array<uint8_t, 2 * kMaxChannels> carry_{};
  size_t carry_size_ = 0;
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_PCM_H_
