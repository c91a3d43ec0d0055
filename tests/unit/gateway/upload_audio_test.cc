#include "gateway/upload_audio.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "audio/decode.h"
#include "audio/encoder.h"
#include "audio/resampler.h"

namespace voxgate::gateway {
namespace {

using ::testing::HasSubstr;

// A tone of `seconds` at `hertz`, as a file in `format` (the streaming encoders write no length).
std::string ToneFile(audio::OutputFormat format, int hertz, double seconds) {
  std::vector<int16_t> samples(static_cast<size_t>(seconds * hertz));
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(8000 * std::sin(i * 0.05));
  auto encoder = audio::AudioEncoder::Create(format, hertz);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  std::string file = *(*encoder)->Encode(samples);
  return file + *(*encoder)->Finish();
}

std::string RawS16le(const std::vector<int16_t>& samples) {
  return std::string(reinterpret_cast<const char*>(samples.data()), samples.size() * 2);
}

// Every block of the clip, concatenated; fails the test on an error.
std::vector<int16_t> ReadAll(UploadAudio& clip, size_t max_block) {
  std::vector<int16_t> all;
  for (int blocks = 0; blocks < 1000; ++blocks) {
    absl::StatusOr<std::vector<int16_t>> block = clip.Next();
    EXPECT_TRUE(block.ok()) << block.status();
    if (!block.ok() || block->empty()) return all;
    EXPECT_LE(block->size(), max_block);
    all.insert(all.end(), block->begin(), block->end());
  }
  ADD_FAILURE() << "no end";
  return all;
}

TEST(UploadAudioTest, BlocksMakeTheWholeClipResampled) {
  const std::string flac = ToneFile(audio::OutputFormat::kFlac, 44100, 12.3);
  absl::StatusOr<UploadAudio> clip = UploadAudio::FromFile(flac, 16000, 3600);
  ASSERT_TRUE(clip.ok()) << clip.status();
  // A block is about kBlockSeconds at 16 kHz, plus what the filter held from the block before.
  const std::vector<int16_t> blocks = ReadAll(*clip, static_cast<size_t>(UploadAudio::kBlockSeconds * 16000) + 1000);
  EXPECT_DOUBLE_EQ(clip->seconds(), static_cast<double>(static_cast<size_t>(12.3 * 44100)) / 44100);

  absl::StatusOr<audio::Pcm> whole = audio::DecodeAudioFile(flac, 44100 * 20);
  ASSERT_TRUE(whole.ok()) << whole.status();
  absl::StatusOr<audio::Pcm> resampled = audio::ResampleTo(*whole, 16000);
  ASSERT_TRUE(resampled.ok()) << resampled.status();
  EXPECT_EQ(blocks, resampled->samples);
  EXPECT_TRUE(clip->Next()->empty());  // and stays at its end
}

TEST(UploadAudioTest, RawPcmAtTheModelRatePassesThrough) {
  std::vector<int16_t> samples(16000 * 7);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(i % 3000);
  const std::string raw = RawS16le(samples);  // the clip reads it in place
  absl::StatusOr<UploadAudio> clip = UploadAudio::FromRawS16le(raw, 16000, 16000, 3600);
  ASSERT_TRUE(clip.ok()) << clip.status();
  EXPECT_EQ(ReadAll(*clip, 16000 * 5), samples);
  EXPECT_DOUBLE_EQ(clip->seconds(), 7);
}

TEST(UploadAudioTest, AHeaderOverTheLimitIsRefusedBeforeDecoding) {
  absl::StatusOr<UploadAudio> clip =
      UploadAudio::FromRawS16le(RawS16le(std::vector<int16_t>(8000 * 11)), 8000, 16000, 10);
  EXPECT_EQ(clip.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(clip.status().message(), HasSubstr("holds 11 s of audio; the limit is 10 s"));
}

TEST(UploadAudioTest, AudioOverTheLimitWithNoLengthInItsHeaderIsRefusedBeforeAnyIsRecognized) {
  const std::string flac = ToneFile(audio::OutputFormat::kFlac, 16000, 12);
  ASSERT_FALSE(audio::AudioFileReader::Open(flac)->header_frames().has_value());  // streamed: no length
  absl::StatusOr<UploadAudio> clip = UploadAudio::FromFile(flac, 16000, 11.9);
  EXPECT_EQ(clip.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(clip.status().message(), "audio is longer than the limit of 11.9 s");
  EXPECT_TRUE(UploadAudio::FromFile(flac, 16000, 12).ok());
}

TEST(UploadAudioTest, NotAudioIsAClearError) {
  absl::StatusOr<UploadAudio> clip = UploadAudio::FromFile("this is not audio at all", 16000, 3600);
  EXPECT_EQ(clip.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(clip.status().message(), HasSubstr("could not decode audio file"));
  EXPECT_EQ(UploadAudio::FromRawS16le("\x01", 16000, 16000, 3600)->Next().status().message(),
            "audio file has 0 frames");
}

}  // namespace
}  // namespace voxgate::gateway
