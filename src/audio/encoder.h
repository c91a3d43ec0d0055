#ifndef VOXGATE_AUDIO_ENCODER_H_
#define VOXGATE_AUDIO_ENCODER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace voxgate::audio {

// The audio formats synthesized speech can be sent in (OpenAI's `response_format`, less the
// ones we do not encode: mp3 and aac).
enum class OutputFormat { kWav, kPcm, kFlac, kOpus };

// "wav", "pcm", "flac" or "opus" (exactly, as OpenAI spells them); anything else is
// INVALID_ARGUMENT with a message for the client that lists the supported formats.
absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// The name ParseOutputFormat takes ("wav", ...), for logs and metrics.
std::string_view FormatName(OutputFormat format);

// The HTTP Content-Type of a response in `format`: audio/wav, audio/pcm (raw s16le, as
// OpenAI-compatible servers send it), audio/flac, audio/ogg (Ogg Opus).
std::string_view ContentType(OutputFormat format);

// Turns mono s16 audio, arriving chunk by chunk, into the bytes of one response in a format, as
// soon as the format allows: the output is written to a client as it comes (chunked transfer
// encoding), so no encoder ever goes back to patch a header. Concatenating every Encode result
// and then the Finish result gives the whole file, however the audio was chunked.
//
//   wav:  a 44-byte header whose sizes say "unknown length", then s16le samples.
//   pcm:  s16le samples, nothing else.
//   flac: 16-bit FLAC (libFLAC, level 5); each frame of 4096 samples comes out when complete.
//   opus: Ogg Opus (libopusenc, 32 kbit/s, tuned for speech, resampled to 48 kHz); a page comes
//         out every 200 ms of audio.
//
// One per response; not thread-safe. After an error, or after Finish, every call fails.
class AudioEncoder {
 public:
  // INVALID_ARGUMENT if `sample_rate_hertz` is outside [kMinSampleRateHertz,
  // kMaxSampleRateHertz]; INTERNAL if the codec library refuses to start.
  static absl::StatusOr<std::unique_ptr<AudioEncoder>> Create(OutputFormat format,
                                                              int sample_rate_hertz);

  virtual ~AudioEncoder() = default;

  // Takes the next `samples` and returns the bytes that are ready now: possibly none (the codec
  // is still filling a frame or page), possibly more than this chunk (the header comes out with
  // the first call).
  virtual absl::StatusOr<std::string> Encode(std::span<const int16_t> samples) = 0;

  // Ends the stream: returns everything still held (the last frame, the end-of-stream page).
  // Call once, after the last Encode.
  virtual absl::StatusOr<std::string> Finish() = 0;
};

// A whole streamed WAV (whose header says "unknown length") with its real sizes filled in, as a
// file on disk should have; other bytes come back as they are.
std::string WithWavSizes(std::string wav);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_ENCODER_H_
