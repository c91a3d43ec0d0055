// UploadAudio (an upload decoded and resampled a block at a time, as the endpoint reads it) on
// arbitrary bytes: a status or audio, never a crash or hang, never more than the limit, and the
// same samples as decoding the file whole and resampling it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "audio/decode.h"
#include "audio/resampler.h"
#include "gateway/upload_audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr double kMaxSeconds = 60;
  constexpr int kRate = 16000;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<voxgate::gateway::UploadAudio> clip = voxgate::gateway::UploadAudio::FromFile(bytes, kRate, kMaxSeconds);
  if (!clip.ok()) {
    if (clip.status().message().empty()) std::abort();
    return 0;
  }
  std::vector<int16_t> blocks;
  absl::Status status;
  for (;;) {
    absl::StatusOr<std::vector<int16_t>> block = clip->Next();
    if (!block.ok()) {
      status = block.status();
      break;
    }
    if (block->empty()) break;
    blocks.insert(blocks.end(), block->begin(), block->end());
    if (blocks.size() > (kMaxSeconds + 1) * kRate) std::abort();  // past the limit, unrefused
  }
  if (!status.ok()) {
    if (status.message().empty()) std::abort();
    return 0;
  }
  absl::StatusOr<voxgate::audio::Pcm> whole =
      voxgate::audio::DecodeAudioFile(bytes, static_cast<size_t>(kMaxSeconds * voxgate::audio::kMaxSampleRateHertz));
  if (!whole.ok()) std::abort();  // a clip read to its end decodes whole too
  absl::StatusOr<voxgate::audio::Pcm> resampled = voxgate::audio::ResampleTo(*whole, kRate);
  if (!resampled.ok() || resampled->samples != blocks) std::abort();
  return 0;
}
