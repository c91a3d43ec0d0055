// WavStreamParser on arbitrary bytes split at a point the input picks: must never crash, and
// must give the same samples and status however the stream is split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "audio/wav_stream_parser.h"

namespace {

struct Result {
  absl::Status status;
  std::vector<int16_t> samples;
};

Result Parse(std::string_view bytes, size_t piece) {
  voxgate::audio::WavStreamParser parser;
  Result result;
  while (result.status.ok() && !bytes.empty()) {
    const size_t n = piece < bytes.size() ? piece : bytes.size();
    result.status = parser.Append(bytes.substr(0, n), result.samples);
    bytes.remove_prefix(n);
  }
  if (result.status.ok()) result.status = parser.Finish();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the piece size (1..256); the rest is the stream.
  const size_t piece = size_t{data[0]} + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Result whole = Parse(bytes, bytes.size() + 1);
  const Result split = Parse(bytes, piece);
  // Errors stop at the first bad piece, so a split stream may have taken fewer samples; the
  // verdict and, on success, every sample must match.
  if (whole.status != split.status) std::abort();
  if (whole.status.ok() && whole.samples != split.samples) std::abort();
  return 0;
}
