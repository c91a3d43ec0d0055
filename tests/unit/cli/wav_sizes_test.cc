#include <gtest/gtest.h>

#include "audio/encoder.h"
#include "cli/client.h"

namespace voxgate::cli {
namespace {

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

TEST(WithWavSizes, FillsInTheSizesOfAStreamedWav) {
  auto encoder = audio::AudioEncoder::Create(audio::OutputFormat::kWav, 24000);
  ASSERT_TRUE(encoder.ok());
  const std::vector<int16_t> samples(2400, 7);
  std::string wav = *(*encoder)->Encode(samples);
  wav += *(*encoder)->Finish();
  ASSERT_EQ(Le32(wav, 40), 0xFFFFFFFFu);  // streamed: "unknown length"
  const std::string fixed = WithWavSizes(wav);
  EXPECT_EQ(Le32(fixed, 4), wav.size() - 8);
  EXPECT_EQ(Le32(fixed, 40), 2400u * 2);
  EXPECT_EQ(fixed.substr(44), wav.substr(44));
}

TEST(WithWavSizes, LeavesOtherBytesAlone) {
  EXPECT_EQ(WithWavSizes("OggS not a wav"), "OggS not a wav");
  EXPECT_EQ(WithWavSizes(std::string(100, 'x')), std::string(100, 'x'));
}

}  // namespace
}  // namespace voxgate::cli
