#include "audio/wav_stream_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "audio/decode.h"
#include "unit/audio/test_util.h"

namespace voxgate::audio {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace ::voxgate::audio::testing;

constexpr size_t kNoLimit = 192000 * 3600;

// Feeds `bytes` in pieces whose sizes `next_size` picks; fails the test on any error.
template <typename NextSize>
std::vector<int16_t> Stream(std::string_view bytes, NextSize next_size, int* rate = nullptr) {
  WavStreamParser parser;
  std::vector<int16_t> out;
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(next_size(), bytes.size());
    const absl::Status status = parser.Append(bytes.substr(0, n), out);
    EXPECT_TRUE(status.ok()) << status;
    if (!status.ok()) break;
    bytes.remove_prefix(n);
  }
  EXPECT_TRUE(parser.Finish().ok()) << parser.Finish();
  if (rate) *rate = parser.sample_rate_hertz();
  return out;
}

std::vector<int16_t> StreamWhole(std::string_view bytes) {
  return Stream(bytes, [&] { return bytes.size(); });
}

absl::Status StreamError(std::string_view bytes) {
  WavStreamParser parser;
  std::vector<int16_t> out;
  for (char c : bytes) {  // byte by byte: errors must not depend on where a piece ends
    if (absl::Status s = parser.Append(std::string_view(&c, 1), out); !s.ok()) return s;
  }
  return parser.Finish();
}

TEST(WavStreamParserTest, MatchesTheFileDecoderHoweverTheFileIsSplit) {
  std::vector<fs::path> files = SpeechFiles();
  if (files.empty()) GTEST_SKIP() << "needs " << kPocketsphinxData;
  if (!SoxFiles::Get().stereo_mixed.empty()) files.push_back(SoxFiles::Get().stereo_mixed);
  std::mt19937 random(7);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file);
    const std::string bytes = ReadFile(file);
    absl::StatusOr<Pcm> decoded = DecodeAudioFile(bytes, kNoLimit);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    int rate = 0;
    EXPECT_EQ(Stream(bytes, [] { return 1; }, &rate), decoded->samples);
    EXPECT_EQ(rate, decoded->sample_rate_hertz);
    EXPECT_EQ(Stream(bytes, [] { return 7; }), decoded->samples);
    EXPECT_EQ(Stream(bytes, [&] { return random() % 5000; }), decoded->samples);
  }
}

TEST(WavStreamParserTest, StereoIsTheMeanOfTheChannels) {
  const std::string wav = Wav(FmtBody(1, 2, 16000, 16), S16le({100, 200, -3, -4, 32767, 32767}));
  EXPECT_THAT(StreamWhole(wav), ElementsAre(150, -3, 32767));
}

TEST(WavStreamParserTest, SkipsChunksBeforeDataWhereverThePiecesEnd) {
  const std::vector<int16_t> samples = {1, -1, 300, -300, 32767, -32768};
  // A LIST, an odd-sized chunk (padded), an empty one and a fact chunk before the data.
  const std::string extra = Chunk("LIST", std::string("INFOISFT\x07\0\0\0voxgate\0", 20)) +
                            Chunk("xyzw", "abc") + Chunk("junk", "") + Chunk("fact", Le32(6));
  const std::string wav = Wav(FmtBody(1, 1, 22050, 16), S16le(samples), extra);
  absl::StatusOr<Pcm> decoded = DecodeAudioFile(wav, kNoLimit);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->samples, samples);
  for (size_t cut = 0; cut <= wav.size(); ++cut) {
    size_t call = 0;
    int rate = 0;
    EXPECT_EQ(Stream(wav, [&] { return call++ == 0 ? cut : wav.size(); }, &rate), samples)
        << "cut at " << cut;
    EXPECT_EQ(rate, 22050);
  }
}

TEST(WavStreamParserTest, ExtensiblePcmIsPcm) {
  std::string fmt = FmtBody(0xFFFE, 1, 16000, 16) + Le16(22) + Le16(16) + Le32(4);
  fmt += Le16(1) + std::string("\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);
  EXPECT_THAT(StreamWhole(Wav(fmt, S16le({5, 6}))), ElementsAre(5, 6));
}

TEST(WavStreamParserTest, StreamingWriterDataSizesMeanUntilTheEnd) {
  const std::vector<int16_t> samples = {10, 20, 30, 40};
  for (int64_t size : {int64_t{0}, int64_t{0xFFFFFFFF}}) {
    EXPECT_EQ(StreamWhole(Wav(FmtBody(1, 1, 16000, 16), S16le(samples), "", size)), samples);
  }
}

TEST(WavStreamParserTest, NothingAfterASizedDataChunkIsAudio) {
  const std::string wav =
      Wav(FmtBody(1, 1, 16000, 16), S16le({10, 20, 30}), "", 4) + Chunk("LIST", "abcdef");
  EXPECT_THAT(StreamWhole(wav), ElementsAre(10, 20));
}

TEST(WavStreamParserTest, HeaderIsNotReadyUntilTheDataChunk) {
  const std::string wav = Wav(FmtBody(1, 2, 16000, 16), S16le({1, 2, 3}));
  WavStreamParser parser;
  std::vector<int16_t> out;
  ASSERT_TRUE(parser.Append(std::string_view(wav).substr(0, 43), out).ok());
  EXPECT_FALSE(parser.header_done());
  EXPECT_THAT(Message(parser.Finish()), HasSubstr("ended before its audio data began"));
  ASSERT_TRUE(parser.Append(std::string_view(wav).substr(43, 4), out).ok());
  EXPECT_TRUE(parser.header_done());
  EXPECT_EQ(parser.sample_rate_hertz(), 16000);
  EXPECT_EQ(parser.channels(), 2);
  EXPECT_THAT(out, IsEmpty());  // 3 bytes of the first stereo frame
  ASSERT_TRUE(parser.Append(std::string_view(wav).substr(47, 1), out).ok());
  EXPECT_THAT(out, ElementsAre(2));  // mean of 1 and 2, rounded half up
  ASSERT_TRUE(parser.Append(std::string_view(wav).substr(48), out).ok());
  EXPECT_THAT(out, ElementsAre(2));  // half a frame is dropped
  EXPECT_TRUE(parser.Finish().ok());
}

TEST(WavStreamParserTest, RejectsOtherEncodingsNamingThem) {
  const std::string pcm = S16le({1, 2, 3, 4});
  EXPECT_EQ(StreamError(Wav(FmtBody(1, 1, 16000, 24), pcm)).message(),
            "unsupported WAV format: 24-bit PCM (a streamed WAV must be 16-bit PCM)");
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(3, 1, 16000, 32), pcm))),
              HasSubstr("32-bit float"));
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(0x55, 1, 16000, 0), pcm))), HasSubstr("MP3"));
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(0x1234, 1, 16000, 16), pcm))),
              HasSubstr("format tag 0x1234"));
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(1, 9, 16000, 16), pcm))),
              HasSubstr("9 channels"));
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(1, 0, 16000, 16), pcm))),
              HasSubstr("0 channels"));

  if (SoxFiles::Get().source.empty()) return;
  EXPECT_THAT(Message(StreamError(ReadFile(SoxFiles::Get().pcm24))), HasSubstr("24-bit PCM"));
  EXPECT_THAT(Message(StreamError(ReadFile(SoxFiles::Get().float32))),
              HasSubstr("32-bit float"));
  EXPECT_THAT(Message(StreamError(ReadFile(SoxFiles::Get().mulaw))), HasSubstr("mu-law"));
}

TEST(WavStreamParserTest, RejectsBrokenHeaders) {
  const std::string pcm = S16le({1, 2});
  EXPECT_EQ(StreamError("ID3\x03 this is an mp3").message(),
            "not a WAV stream: it does not start with a RIFF/WAVE header");
  EXPECT_EQ(StreamError(Wav(FmtBody(1, 1, 0, 16), pcm)).message(),
            "sample rate 0 Hz is out of range (8000..192000)");
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(1, 1, 10'000'000, 16), pcm))),
              HasSubstr("10000000 Hz is out of range"));
  EXPECT_THAT(Message(StreamError(Wav(FmtBody(1, 1, 16000, 16).substr(0, 14), pcm))),
              HasSubstr("fmt chunk of 14 bytes"));
  std::string bad_align = FmtBody(1, 2, 16000, 16);
  bad_align[12] = 3;
  EXPECT_THAT(Message(StreamError(Wav(bad_align, pcm))), HasSubstr("block align 3"));
  const std::string data_first = "RIFF" + Le32(0) + "WAVE" + Chunk("data", pcm);
  EXPECT_THAT(Message(StreamError(data_first)),
              HasSubstr("data chunk comes before the fmt chunk"));
}

TEST(WavStreamParserTest, BoundsTheHeaderSize) {
  const std::string pcm = S16le({1, 2});
  const std::string fits = Chunk("LIST", std::string(64 * 1024 - 12 - 24 - 8, 'x'));
  EXPECT_THAT(StreamWhole(Wav(FmtBody(1, 1, 16000, 16), pcm, fits)), ElementsAre(1, 2));

  const std::string too_big = Chunk("LIST", std::string(64 * 1024 - 12 - 24 - 8 + 1, 'x'));
  EXPECT_EQ(StreamError(Wav(FmtBody(1, 1, 16000, 16), pcm, too_big)).message(),
            "WAV header is longer than 65536 bytes before the data chunk");
  // Refused from the chunk header alone, before any of its 4 GB could arrive.
  WavStreamParser parser;
  std::vector<int16_t> out;
  const std::string head = "RIFF" + Le32(0) + "WAVE" + "LIST" + Le32(0xFFFFFFF0);
  EXPECT_THAT(Message(parser.Append(head, out)), HasSubstr("longer than 65536"));
}

TEST(WavStreamParserTest, ErrorsAreFinal) {
  WavStreamParser parser;
  std::vector<int16_t> out;
  EXPECT_FALSE(parser.Append(std::string("RIFX\0\0\0\0WAVE", 12), out).ok());
  const std::string good = Wav(FmtBody(1, 1, 16000, 16), S16le({1, 2}));
  EXPECT_THAT(Message(parser.Append(good, out)), HasSubstr("not a WAV stream"));
  EXPECT_FALSE(parser.Finish().ok());
  EXPECT_THAT(out, IsEmpty());
}

}  // namespace
}  // namespace voxgate::audio
