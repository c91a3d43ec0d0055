// An uploaded clip's audio, decoded and resampled to the engines' rate a block at a time. A
// compressed upload may hold hundreds of times its size in audio (an hour of silence is a few
// hundred kilobytes of FLAC, and over 100 MiB decoded), so it is never decoded whole: the
// endpoint's memory per upload is its body and one block.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audio/decode.h"
#include "audio/resampler.h"

namespace voxgate::gateway {

class UploadAudio {
 public:
  // About this much audio per block.
  static constexpr double kBlockSeconds = 5;

  // A file in any format libsndfile reads. INVALID_ARGUMENT if it is not audio; OUT_OF_RANGE if
  // its header says it is longer than `max_seconds`.
  static absl::StatusOr<UploadAudio> FromFile(std::string_view bytes, int to_hertz, double max_seconds);
  // Headerless mono s16le at `hertz`.
  static absl::StatusOr<UploadAudio> FromRawS16le(std::string_view bytes, int hertz, int to_hertz,
                                                  double max_seconds);

  // The next block at `to_hertz`; empty once the clip is all read. OUT_OF_RANGE as soon as more
  // than `max_seconds` has been decoded; INVALID_ARGUMENT for a file with no decodable frame.
  absl::StatusOr<std::vector<int16_t>> Next();

  // Seconds of audio decoded so far.
  double seconds() const { return static_cast<double>(frames_) / reader_.sample_rate_hertz(); }

 private:
  UploadAudio(audio::AudioFileReader reader, audio::Resampler resampler, double max_seconds);
  static absl::StatusOr<UploadAudio> Start(absl::StatusOr<audio::AudioFileReader> reader, int to_hertz,
                                           double max_seconds);

  audio::AudioFileReader reader_;
  audio::Resampler resampler_;
  double max_seconds_;
  uint64_t frames_ = 0;
  bool done_ = false;
};

}  // namespace voxgate::gateway
