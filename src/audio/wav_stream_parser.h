#ifndef VOXGATE_AUDIO_WAV_STREAM_PARSER_H_
#define VOXGATE_AUDIO_WAV_STREAM_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "audio/pcm.h"

namespace voxgate::audio {

// Parses a WAV file that arrives in pieces (a WebSocket client streaming a file as it reads it)
// and turns its audio into mono s16 samples as they arrive. Pieces may split anywhere, the
// header included. Chunks before "data" (LIST, fact, ...) are skipped, up to kMaxHeaderBytes so
// that a client cannot make the server buffer or wait forever. Only 16-bit PCM is accepted (the
// decoder for whole files handles the rest); 1 to PcmS16leParser::kMaxChannels channels are
// averaged to mono exactly as DecodeAudioFile does. A data size of 0 or 0xFFFFFFFF (what
// streaming writers put there, and RF64) means "until the end of the stream"; anything after a
// sized data chunk is ignored. Not thread-safe; one per stream.
class WavStreamParser {
 public:
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;

  // Consumes `bytes` and appends any samples they complete to `out_samples`. Errors
  // (INVALID_ARGUMENT, with a message for the client) are final: later calls return them again.
  absl::Status Append(std::string_view bytes, std::vector<int16_t>& out_samples);

  // Call at end of stream: INVALID_ARGUMENT if the stream ended before the audio began. A
  // trailing partial frame is dropped, as file decoders do.
  absl::Status Finish() const;

  // True once the data chunk has begun; sample_rate_hertz() and channels() are valid from then.
  bool header_done() const { return state_ == State::kData || state_ == State::kAfterData; }
  int sample_rate_hertz() const { return sample_rate_hertz_; }
  int channels() const { return pcm_ ? pcm_->channels() : 0; }

 private:
  enum class State { kRiffHeader, kChunkHeader, kFmtBody, kSkip, kData, kAfterData };

  // Handles a complete fixed-size header item (the RIFF header, a chunk header, the fmt body).
  absl::Status OnHeaderItem();
  absl::Status OnChunkHeader();
  absl::Status OnFmt();

  State state_ = State::kRiffHeader;
  absl::Status status_;
  std::string item_;        // bytes of the header item being assembled
  size_t item_size_ = 12;   // its full size
  uint64_t skip_left_ = 0;  // bytes of an ignored chunk still to come
  size_t header_bytes_ = 0;  // bytes taken by the RIFF header and chunks before "data"
  bool data_unbounded_ = false;
  uint64_t data_left_ = 0;
  int sample_rate_hertz_ = 0;
  std::optional<PcmS16leParser> pcm_;  // set by the fmt chunk
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_WAV_STREAM_PARSER_H_
