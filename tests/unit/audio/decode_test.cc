#include "audio/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "audio/resampler.h"
#include "unit/audio/test_util.h"

namespace voxgate::audio {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace ::voxgate::audio::testing;

constexpr size_t kNoLimit = 192000 * 3600;

#define SKIP_WITHOUT_SOX_FILES()                                         \
  if (SoxFiles::Get().source.empty()) {                                  \
    GTEST_SKIP() << "needs sox and " << kPocketsphinxData;               \
  }

Pcm Decode(const fs::path& path) {
  absl::StatusOr<Pcm> pcm = DecodeAudioFile(ReadFile(path), kNoLimit);
  EXPECT_TRUE(pcm.ok()) << path << ": " << pcm.status();
  return pcm.ok() ? *std::move(pcm) : Pcm{};
}

// Pearson correlation of two signals over their common length.
double Correlation(const std::vector<int16_t>& a, const std::vector<int16_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y;
  }
  return (n * sab - sa * sb) / std::sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

TEST(DecodeAudioFileTest, RealSpeechMatchesSoxi) {
  const std::vector<fs::path> files = SpeechFiles();
  if (files.empty() || !HaveSox()) GTEST_SKIP() << "needs sox and " << kPocketsphinxData;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file);
    const SoxInfo info = Soxi(file);
    const Pcm pcm = Decode(file);
    EXPECT_EQ(pcm.sample_rate_hertz, info.rate);
    EXPECT_EQ(static_cast<int64_t>(pcm.samples.size()), info.frames);
    EXPECT_DOUBLE_EQ(pcm.DurationSeconds(), static_cast<double>(info.frames) / info.rate);
    // Speech, not silence: the loudest sample is well above the noise floor.
    int peak = 0;
    for (int16_t s : pcm.samples) peak = std::max(peak, std::abs(int{s}));
    EXPECT_GT(peak, 3000);
  }
}

TEST(DecodeAudioFileTest, FlacIsLossless) {
  SKIP_WITHOUT_SOX_FILES();
  const Pcm flac = Decode(SoxFiles::Get().flac);
  EXPECT_EQ(flac.sample_rate_hertz, 16000);
  EXPECT_EQ(flac.samples, Decode(SoxFiles::Get().source).samples);
}

TEST(DecodeAudioFileTest, OggVorbisKeepsDurationAndSignal) {
  SKIP_WITHOUT_SOX_FILES();
  const Pcm source = Decode(SoxFiles::Get().source);
  const Pcm ogg = Decode(SoxFiles::Get().ogg);
  EXPECT_EQ(ogg.sample_rate_hertz, 16000);
  EXPECT_EQ(static_cast<int64_t>(ogg.samples.size()), Soxi(SoxFiles::Get().ogg).frames);
  EXPECT_EQ(ogg.samples.size(), source.samples.size());
  EXPECT_GT(Correlation(ogg.samples, source.samples), 0.98);
}

TEST(DecodeAudioFileTest, OtherEncodingsOfTheSameSpeech) {
  SKIP_WITHOUT_SOX_FILES();
  const std::vector<int16_t> source = Decode(SoxFiles::Get().source).samples;
  // 24-bit keeps every bit of the 16-bit source; float and mu-law round it.
  EXPECT_EQ(Decode(SoxFiles::Get().pcm24).samples, source);
  const std::vector<int16_t> from_float = Decode(SoxFiles::Get().float32).samples;
  ASSERT_EQ(from_float.size(), source.size());
  for (size_t i = 0; i < source.size(); ++i) ASSERT_NEAR(from_float[i], source[i], 1) << i;
  const std::vector<int16_t> from_mulaw = Decode(SoxFiles::Get().mulaw).samples;
  EXPECT_EQ(from_mulaw.size(), source.size());
  EXPECT_GT(Correlation(from_mulaw, source), 0.99);
}

// A file at another rate decodes at that rate with the same duration, and resampling it back to
// 16 kHz gives (nearly) the samples of the original recording.
void ExpectSameSpeechAfterResampling(const fs::path& file, int rate, const Pcm& source) {
  SCOPED_TRACE(file);
  const Pcm pcm = Decode(file);
  const SoxInfo info = Soxi(file);
  EXPECT_EQ(pcm.sample_rate_hertz, rate);
  EXPECT_EQ(static_cast<int64_t>(pcm.samples.size()), info.frames);
  EXPECT_NEAR(pcm.DurationSeconds(), source.DurationSeconds(), 0.001);

  absl::StatusOr<Pcm> back = ResampleTo(pcm, 16000);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sample_rate_hertz, 16000);
  EXPECT_NEAR(static_cast<double>(back->samples.size()), source.samples.size(), 1);
  // 8 kHz loses the band above 4 kHz, so the match is looser there.
  EXPECT_GT(Correlation(back->samples, source.samples), rate == 8000 ? 0.98 : 0.999);
}

TEST(DecodeAudioFileTest, StereoAt44kDownmixesAndResamplesBack) {
  SKIP_WITHOUT_SOX_FILES();
  EXPECT_EQ(Soxi(SoxFiles::Get().stereo_44k).channels, 2);
  ExpectSameSpeechAfterResampling(SoxFiles::Get().stereo_44k, 44100,
                                  Decode(SoxFiles::Get().source));
}

TEST(DecodeAudioFileTest, At8kResamplesBack) {
  SKIP_WITHOUT_SOX_FILES();
  ExpectSameSpeechAfterResampling(SoxFiles::Get().mono_8k, 8000, Decode(SoxFiles::Get().source));
}

TEST(DecodeAudioFileTest, StereoIsTheMeanOfTheChannels) {
  const std::string wav = Wav(FmtBody(1, 2, 16000, 16), S16le({100, 200, -3, -4, 32767, 32767}));
  absl::StatusOr<Pcm> pcm = DecodeAudioFile(wav, kNoLimit);
  ASSERT_TRUE(pcm.ok()) << pcm.status();
  EXPECT_THAT(pcm->samples, ElementsAre(150, -3, 32767));
}

TEST(DecodeAudioFileTest, EmptyInput) {
  absl::StatusOr<Pcm> pcm = DecodeAudioFile("", kNoLimit);
  EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pcm.status().message(), "audio file is empty");
}

TEST(DecodeAudioFileTest, GarbageIsRejected) {
  std::mt19937 random(42);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  for (const std::string& garbage :
       {noise, std::string("hello, world"), std::string("RIFF"), std::string(1000, '\0')}) {
    absl::StatusOr<Pcm> pcm = DecodeAudioFile(garbage, kNoLimit);
    EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(pcm.status()), StartsWith("could not decode audio file: "));
  }
}

TEST(DecodeAudioFileTest, TruncatedHeaderIsRejected) {
  const std::string wav = Wav(FmtBody(1, 1, 16000, 16), S16le({1, 2, 3}));
  for (size_t size : {4, 12, 20, 36, 43}) {
    absl::StatusOr<Pcm> pcm = DecodeAudioFile(wav.substr(0, size), kNoLimit);
    EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(Message(pcm.status()), HasSubstr("audio file")) << size;
  }
}

TEST(DecodeAudioFileTest, HeaderOnlyHasNoFrames) {
  absl::StatusOr<Pcm> pcm = DecodeAudioFile(Wav(FmtBody(1, 1, 16000, 16), ""), kNoLimit);
  EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pcm.status().message(), "audio file has 0 frames");
}

TEST(DecodeAudioFileTest, LyingHeaderDecodesWhatIsThere) {
  std::vector<int16_t> samples(1001);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(i * 31);
  for (int64_t claimed : {int64_t{1} << 20, int64_t{0xFFFFFFFF}}) {
    // A cut-off upload: the header claims more data than arrived, and the last sample is half.
    const std::string wav =
        Wav(FmtBody(1, 1, 16000, 16), S16le(samples) + "\x01", "", claimed);
    absl::StatusOr<Pcm> pcm = DecodeAudioFile(wav, samples.size());  // a limit the claim exceeds
    ASSERT_TRUE(pcm.ok()) << pcm.status();
    EXPECT_EQ(pcm->samples, samples);
  }
}

TEST(DecodeAudioFileTest, SampleRateOutOfRange) {
  for (uint32_t rate : {0u, 4000u, 10'000'000u}) {
    absl::StatusOr<Pcm> pcm =
        DecodeAudioFile(Wav(FmtBody(1, 1, rate, 16), S16le({1, 2, 3, 4})), kNoLimit);
    EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument) << rate;
    EXPECT_THAT(Message(pcm.status()), HasSubstr("sample rate")) << rate;
    EXPECT_THAT(Message(pcm.status()), HasSubstr("8000..192000")) << rate;
  }
}

TEST(DecodeAudioFileTest, MaxSamplesBoundsTheLength) {
  const std::string wav = Wav(FmtBody(1, 1, 8000, 16), S16le(std::vector<int16_t>(8000, 5)));
  EXPECT_TRUE(DecodeAudioFile(wav, 8000).ok());
  absl::StatusOr<Pcm> pcm = DecodeAudioFile(wav, 7999);
  EXPECT_EQ(pcm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pcm.status().message(), "audio longer than 0.999875 seconds");
  EXPECT_EQ(DecodeAudioFile(wav, 4000).status().message(), "audio longer than 0.5 seconds");
}

TEST(DecodeAudioFileTest, MaxSamplesAlsoBoundsFormatsWithoutALength) {
  SKIP_WITHOUT_SOX_FILES();
  for (const fs::path& file : {SoxFiles::Get().ogg, SoxFiles::Get().flac}) {
    absl::StatusOr<Pcm> pcm = DecodeAudioFile(ReadFile(file), 16000);
    EXPECT_EQ(pcm.status().message(), "audio longer than 1 seconds") << file;
  }
}

// Reading a file in blocks of any size gives exactly the samples of decoding it whole, each read
// no more than it was asked for.
TEST(AudioFileReaderTest, BlocksOfAnySizeMakeTheWholeFile) {
  SKIP_WITHOUT_SOX_FILES();
  for (const fs::path& file : {SoxFiles::Get().flac, SoxFiles::Get().ogg, SoxFiles::Get().stereo_44k}) {
    SCOPED_TRACE(file);
    const std::string bytes = ReadFile(file);
    const Pcm whole = Decode(file);
    for (size_t block : {size_t{1} << 0, size_t{333}, size_t{16000}, size_t{1} << 20}) {
      absl::StatusOr<AudioFileReader> reader = AudioFileReader::Open(bytes);
      ASSERT_TRUE(reader.ok()) << reader.status();
      EXPECT_EQ(reader->sample_rate_hertz(), whole.sample_rate_hertz);
      std::vector<int16_t> samples;
      size_t reads = 0;
      for (;;) {
        const size_t before = samples.size();
        absl::StatusOr<size_t> got = reader->Read(block, samples);
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_EQ(samples.size() - before, *got);
        ASSERT_LE(*got, block);
        if (*got == 0) break;
        if (++reads > whole.samples.size()) FAIL() << "no end";
      }
      EXPECT_EQ(samples, whole.samples) << block;
    }
  }
}

TEST(AudioFileReaderTest, HeaderFramesAreWhatTheHeaderSays) {
  const std::string wav = Wav(FmtBody(1, 2, 16000, 16), S16le(std::vector<int16_t>(2000, 7)));
  absl::StatusOr<AudioFileReader> reader = AudioFileReader::Open(wav);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->header_frames(), 1000u);
}

TEST(AudioFileReaderTest, RawS16leIsReadAsIs) {
  // Two stereo frames and half of a third, which is dropped.
  const std::string raw = S16le({100, 200, -3, -4}) + "\x01";
  absl::StatusOr<AudioFileReader> reader = AudioFileReader::OpenRawS16le(raw, 8000, 2);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->sample_rate_hertz(), 8000);
  EXPECT_EQ(reader->header_frames(), 2u);
  std::vector<int16_t> samples;
  EXPECT_EQ(*reader->Read(100, samples), 2u);
  EXPECT_EQ(*reader->Read(100, samples), 0u);
  EXPECT_THAT(samples, ElementsAre(150, -3));

  EXPECT_EQ(AudioFileReader::OpenRawS16le("", 16000).status().message(), "audio file is empty");
  EXPECT_THAT(Message(AudioFileReader::OpenRawS16le(raw, 1000).status()), HasSubstr("8000..192000"));
  absl::StatusOr<AudioFileReader> one_byte = AudioFileReader::OpenRawS16le("\x01", 16000);
  ASSERT_TRUE(one_byte.ok()) << one_byte.status();
  EXPECT_EQ(one_byte->Read(100, samples).status().message(), "audio file has 0 frames");
}

}  // namespace
}  // namespace voxgate::audio
