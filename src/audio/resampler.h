#ifndef VOXGATE_AUDIO_RESAMPLER_H_
#define VOXGATE_AUDIO_RESAMPLER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "audio/pcm.h"

struct soxr;  // soxr.h stays out of this header

namespace voxgate::audio {

// Streaming mono s16 sample-rate converter (libsoxr, high quality, no dither so that replaying
// the same audio gives the same samples). Feed chunks of any size to Process() and call Flush()
// at end of stream for the tail held in the filter; the concatenated output does not depend on
// how the input was chunked. When the two rates are equal it copies samples and holds nothing.
// Not thread-safe; one per stream. Move-only.
class Resampler {
 public:
  // INVALID_ARGUMENT if either rate is outside [kMinSampleRateHertz, kMaxSampleRateHertz].
  static absl::StatusOr<Resampler> Create(int from_hertz, int to_hertz);

  // Returns the output that `input` completes; the filter delays some of it to a later call.
  std::vector<int16_t> Process(std::span<const int16_t> input);

  // Ends the stream: returns the remaining output and resets, ready for a new stream.
  std::vector<int16_t> Flush();

  int from_hertz() const { return from_hertz_; }
  int to_hertz() const { return to_hertz_; }

 private:
  struct SoxrDeleter {
    void operator()(soxr* handle) const;
  };

  Resampler(int from_hertz, int to_hertz, std::unique_ptr<soxr, SoxrDeleter> soxr);

  // Runs soxr until it has taken all of `input` (null input: the end-of-stream flush).
  std::vector<int16_t> Run(const int16_t* input, size_t size);

  int from_hertz_;
  int to_hertz_;
  std::unique_ptr<soxr, SoxrDeleter> soxr_;  // null for a pass-through
};

// Resamples a whole clip in one go (Process + Flush). Returns `pcm` itself when the rate already
// matches; INVALID_ARGUMENT if either rate is out of range.
absl::StatusOr<Pcm> ResampleTo(const Pcm& pcm, int to_hertz);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_RESAMPLER_H_
