#ifndef VOXGATE_AUDIO_DECODE_H_
#define VOXGATE_AUDIO_DECODE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audio/pcm.h"

namespace voxgate::audio {

// Decodes an audio file held in memory a block at a time, to mono s16 at the file's own rate
// (channels are averaged). A compressed file may hold hundreds of times its size in audio (an
// hour of silence is a few hundred kilobytes of FLAC), so callers that bound memory read it in
// blocks instead of decoding it whole.
//
// The bytes are untrusted client input: damaged or unknown data gives INVALID_ARGUMENT with a
// message for the client, and a file that breaks partway (or whose header claims more audio than
// it holds) yields the audio before the break. The bytes must outlive the reader. Move-only.
class AudioFileReader {
 public:
  // Any format libsndfile reads: WAV, FLAC, Ogg/Vorbis, AIFF...
  static absl::StatusOr<AudioFileReader> Open(std::string_view bytes);
  // Headerless interleaved little-endian s16 at `sample_rate_hertz` (a trailing partial frame is
  // dropped).
  static absl::StatusOr<AudioFileReader> OpenRawS16le(std::string_view bytes, int sample_rate_hertz,
                                                      int channels = 1);

  AudioFileReader(AudioFileReader&&) noexcept;
  AudioFileReader& operator=(AudioFileReader&&) noexcept;
  ~AudioFileReader();

  int sample_rate_hertz() const;
  // The length the header gives, in frames; nullopt where the format does not say. PCM formats'
  // lengths are already cut to what the file holds; a compressed file's header may still lie.
  std::optional<uint64_t> header_frames() const;

  // Samples (of all channels) decoded per call at most: big enough to amortise the call, small
  // enough to stay in cache. A call reads at most kBlockFrames / channels frames.
  static constexpr size_t kBlockFrames = 16384;
  // Appends up to `max_frames` (at least 1, at most a block) mono samples to `out` and returns
  // how many: 0 at the end. INVALID_ARGUMENT if the file ends before its first frame.
  absl::StatusOr<size_t> Read(size_t max_frames, std::vector<int16_t>& out);

 private:
  struct State;
  explicit AudioFileReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Decodes a whole file (AudioFileReader::Open, read to the end). `max_samples` bounds memory:
// longer audio is refused ("audio longer than N seconds") as soon as the header or the decoded
// data shows it, before the rest is decoded.
absl::StatusOr<Pcm> DecodeAudioFile(std::string_view bytes, size_t max_samples);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_DECODE_H_
