#include "gateway/upload_audio.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace voxgate::gateway {
namespace {

absl::Status TooLong(double max_seconds) {
  return absl::OutOfRangeError(absl::StrCat("audio is longer than the limit of ", max_seconds, " s"));
}

}  // namespace

UploadAudio::UploadAudio(audio::AudioFileReader reader, audio::Resampler resampler, double max_seconds)
    : reader_(std::move(reader)), resampler_(std::move(resampler)), max_seconds_(max_seconds) {}

absl::StatusOr<UploadAudio> UploadAudio::Start(absl::StatusOr<audio::AudioFileReader> reader, int to_hertz,
                                               double max_seconds) {
  if (!reader.ok()) return reader.status();
  // An honest header lets a long file be refused before any of it reaches an engine.
  if (auto frames = reader->header_frames();
      frames && static_cast<double>(*frames) / reader->sample_rate_hertz() > max_seconds) {
    return absl::OutOfRangeError(absl::StrCat(
        "the file's header says it holds ",
        static_cast<int64_t>(std::ceil(static_cast<double>(*frames) / reader->sample_rate_hertz())),
        " s of audio; the limit is ", max_seconds, " s"));
  }
  auto resampler = audio::Resampler::Create(reader->sample_rate_hertz(), to_hertz);
  if (!resampler.ok()) return resampler.status();
  return UploadAudio(*std::move(reader), *std::move(resampler), max_seconds);
}

absl::StatusOr<UploadAudio> UploadAudio::FromFile(std::string_view bytes, int to_hertz, double max_seconds) {
  absl::StatusOr<audio::AudioFileReader> reader = audio::AudioFileReader::Open(bytes);
  if (reader.ok() && !reader->header_frames()) {
    // No length in the header (a streamed FLAC, say): count the frames first, decoding without
    // keeping anything (a few seconds of CPU for an hour), so that audio over the limit is refused
    // before an engine spends its time on it.
    absl::StatusOr<audio::AudioFileReader> counter = audio::AudioFileReader::Open(bytes);
    const double max_frames = max_seconds * reader->sample_rate_hertz();
    std::vector<int16_t> scratch;
    uint64_t frames = 0;
    while (counter.ok()) {
      scratch.clear();
      absl::StatusOr<size_t> got = counter->Read(audio::AudioFileReader::kBlockFrames, scratch);
      if (!got.ok() || *got == 0) break;  // an error comes again from the clip's first block
      frames += *got;
      if (static_cast<double>(frames) > max_frames) return TooLong(max_seconds);
    }
  }
  return Start(std::move(reader), to_hertz, max_seconds);
}

absl::StatusOr<UploadAudio> UploadAudio::FromRawS16le(std::string_view bytes, int hertz, int to_hertz,
                                                      double max_seconds) {
  return Start(audio::AudioFileReader::OpenRawS16le(bytes, hertz), to_hertz, max_seconds);
}

absl::StatusOr<std::vector<int16_t>> UploadAudio::Next() {
  const auto block = static_cast<size_t>(kBlockSeconds * reader_.sample_rate_hertz());
  std::vector<int16_t> out;
  // The resampler may hold back a whole block's output in principle; only the end may be empty.
  while (out.empty() && !done_) {
    std::vector<int16_t> decoded;
    decoded.reserve(block);
    while (decoded.size() < block && !done_) {
      absl::StatusOr<size_t> got = reader_.Read(block - decoded.size(), decoded);
      if (!got.ok()) return got.status();
      done_ = *got == 0;
    }
    frames_ += decoded.size();
    if (seconds() > max_seconds_) return TooLong(max_seconds_);
    out = resampler_.Process(decoded);
    if (done_) {
      std::vector<int16_t> tail = resampler_.Flush();
      out.insert(out.end(), tail.begin(), tail.end());
    }
  }
  return out;
}

}  // namespace voxgate::gateway
