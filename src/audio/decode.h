#ifndef VOXGATE_AUDIO_DECODE_H_
#define VOXGATE_AUDIO_DECODE_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "audio/pcm.h"

namespace voxgate::audio {

// Decodes a whole audio file held in memory (WAV, FLAC, Ogg/Vorbis, AIFF... anything libsndfile
// reads) to mono s16 at the file's own rate; channels are averaged.
//
// `bytes` is untrusted client input: damaged or unknown data gives INVALID_ARGUMENT with a message
// for the client, and a header that claims more audio than the file holds decodes what is there.
// `max_samples` bounds memory: longer audio is refused ("audio longer than N seconds") as soon as
// the header or the decoded data shows it, before the rest is decoded.
absl::StatusOr<Pcm> DecodeAudioFile(std::string_view bytes, size_t max_samples);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_DECODE_H_
