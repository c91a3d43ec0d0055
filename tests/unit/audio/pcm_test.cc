#include "audio/pcm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace voxgate::audio {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PcmTest, DurationSeconds) {
  EXPECT_DOUBLE_EQ((Pcm{16000, std::vector<int16_t>(24000)}.DurationSeconds()), 1.5);
  EXPECT_DOUBLE_EQ(Pcm{}.DurationSeconds(), 0.0);
}

TEST(PcmTest, CheckSampleRate) {
  EXPECT_TRUE(CheckSampleRate(8000).ok());
  EXPECT_TRUE(CheckSampleRate(192000).ok());
  EXPECT_EQ(CheckSampleRate(0).message(), "sample rate 0 Hz is out of range (8000..192000)");
  EXPECT_EQ(CheckSampleRate(192001).code(), absl::StatusCode::kInvalidArgument);
}

TEST(PcmTest, AppendDownmixedAveragesRoundingHalfUp) {
  std::vector<int16_t> out = {7};  // appends, keeps what is there
  AppendDownmixed(std::vector<int16_t>{100, 200, -3, -4, 3, 4, 32767, 32767, -32768, -32768,
                                       -32768, 32767},
                  2, out);
  EXPECT_THAT(out, ElementsAre(7, 150, -3, 4, 32767, -32768, 0));

  out.clear();
  AppendDownmixed(std::vector<int16_t>{1, 1, 2, 9, 9, 9, 9}, 3, out);  // incomplete frame dropped
  EXPECT_THAT(out, ElementsAre(1, 9));
}

TEST(PcmS16leParserTest, DecodesLittleEndian) {
  PcmS16leParser parser;
  std::vector<int16_t> out;
  parser.Append(std::string("\x34\x12\xff\xff\x00\x80\xff\x7f", 8), out);
  EXPECT_THAT(out, ElementsAre(0x1234, -1, -32768, 32767));
  EXPECT_EQ(parser.pending_bytes(), 0u);
}

TEST(PcmS16leParserTest, OddLengthPiecesCarryAByte) {
  PcmS16leParser parser;
  std::vector<int16_t> out;
  parser.Append(std::string("\x34", 1), out);
  EXPECT_THAT(out, IsEmpty());
  EXPECT_EQ(parser.pending_bytes(), 1u);
  parser.Append(std::string("\x12\xff", 2), out);
  EXPECT_THAT(out, ElementsAre(0x1234));
  parser.Append("", out);
  parser.Append(std::string("\xff\x01\x00\x02", 4), out);
  EXPECT_THAT(out, ElementsAre(0x1234, -1, 1));
  EXPECT_EQ(parser.pending_bytes(), 1u);
}

TEST(PcmS16leParserTest, EveryByteSeparatelyGivesTheSameSamples) {
  std::string bytes;
  for (int i = 0; i < 1001; ++i) bytes += static_cast<char>(i * 37);
  std::vector<int16_t> whole, bytewise;
  PcmS16leParser().Append(bytes, whole);
  PcmS16leParser parser;
  for (char c : bytes) parser.Append(std::string_view(&c, 1), bytewise);
  EXPECT_EQ(whole.size(), 500u);
  EXPECT_EQ(bytewise, whole);
}

TEST(PcmS16leParserTest, StereoFramesSplitAnywhere) {
  // Frames (L, R): (100, 200), (-3, -4), (1000, -1000).
  const std::string bytes("\x64\x00\xc8\x00\xfd\xff\xfc\xff\xe8\x03\x18\xfc", 12);
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    PcmS16leParser parser(2);
    std::vector<int16_t> out;
    parser.Append(std::string_view(bytes).substr(0, cut), out);
    parser.Append(std::string_view(bytes).substr(cut), out);
    EXPECT_THAT(out, ElementsAre(150, -3, 0)) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace voxgate::audio
