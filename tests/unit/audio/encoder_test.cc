#include "audio/encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>

#include "audio/decode.h"
#include "audio/resampler.h"
#include "audio/wav_stream_parser.h"
#include "unit/audio/test_util.h"

namespace voxgate::audio {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace ::voxgate::audio::testing;

constexpr size_t kNoLimit = 192000 * 3600;
constexpr int kRate = 24000;

std::vector<int16_t> Sine(int rate, double seconds, double hertz = 440) {
  std::vector<int16_t> samples(static_cast<size_t>(std::lround(rate * seconds)));
  for (size_t i = 0; i < samples.size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    samples[i] =
        static_cast<int16_t>(std::lround(16000 * std::sin(2 * std::numbers::pi * hertz * t)));
  }
  return samples;
}

std::unique_ptr<AudioEncoder> MakeEncoder(OutputFormat format, int rate) {
  absl::StatusOr<std::unique_ptr<AudioEncoder>> encoder = AudioEncoder::Create(format, rate);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return encoder.ok() ? *std::move(encoder) : nullptr;
}

struct Encoded {
  std::string bytes;           // every Encode result, then Finish's
  size_t before_finish = 0;    // bytes handed out by Encode
  size_t nonempty_encodes = 0;  // Encode calls that returned bytes
};

// Encodes `samples` in chunks of the given sizes, the last chunk taking the rest.
Encoded EncodeInChunks(OutputFormat format, int rate, std::span<const int16_t> samples,
                       std::vector<size_t> chunks = {1, 100, 2399}) {
  Encoded out;
  std::unique_ptr<AudioEncoder> encoder = MakeEncoder(format, rate);
  if (encoder == nullptr) return out;
  const auto encode = [&](std::span<const int16_t> chunk) {
    absl::StatusOr<std::string> bytes = encoder->Encode(chunk);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    out.nonempty_encodes += !bytes->empty();
    out.bytes += *bytes;
  };
  for (size_t size : chunks) {
    const size_t n = std::min(size, samples.size());
    encode(samples.first(n));
    samples = samples.subspan(n);
  }
  encode(samples);
  out.before_finish = out.bytes.size();
  absl::StatusOr<std::string> tail = encoder->Finish();
  EXPECT_TRUE(tail.ok()) << tail.status();
  if (tail.ok()) out.bytes += *tail;
  return out;
}

Pcm Decode(std::string_view bytes) {
  absl::StatusOr<Pcm> pcm = DecodeAudioFile(bytes, kNoLimit);
  EXPECT_TRUE(pcm.ok()) << pcm.status();
  return pcm.ok() ? *std::move(pcm) : Pcm{};
}

// Pearson correlation of `a` against `b` shifted by `lag` samples, over their common part.
double Correlation(const std::vector<int16_t>& a, const std::vector<int16_t>& b, int lag = 0) {
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  double n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t j = static_cast<int64_t>(i) + lag;
    if (j < 0 || j >= static_cast<int64_t>(b.size())) continue;
    const double x = a[i], y = b[static_cast<size_t>(j)];
    sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y, n += 1;
  }
  return (n * sab - sa * sb) / std::sqrt((n * saa - sa * sa) * (n * sbb - sb * sb));
}

// The 44 bytes WavAudioEncoder documents: PCM, mono, 16-bit, both sizes 0xFFFFFFFF.
std::string StreamingWavHeader(uint32_t rate) {
  return "RIFF" + Le32(0xFFFFFFFF) + "WAVE" + "fmt " + Le32(16) + FmtBody(1, 1, rate, 16) +
         "data" + Le32(0xFFFFFFFF);
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// sox's "Samples read" for a file, read from the file and from a pipe (as a player reading an
// HTTP response would: no length to fall back on).
std::pair<int64_t, int64_t> SoxSamplesRead(const fs::path& file, std::string_view type) {
  const auto samples = [](const std::string& stat) -> int64_t {
    constexpr std::string_view kLabel = "Samples read:";
    const size_t at = stat.find(kLabel);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no sample count in sox output: " << stat;
      return -1;
    }
    return std::stoll(stat.substr(at + kLabel.size()));  // stoll skips the spaces
  };
  const std::string t = "-t " + std::string(type) + " ";
  return {samples(Shell("sox " + t + Quote(file) + " -n stat 2>&1")),
          samples(Shell("cat " + Quote(file) + " | sox " + t + "- -n stat 2>&1"))};
}

TEST(ParseOutputFormatTest, TakesOpenAiNames) {
  for (OutputFormat format :
       {OutputFormat::kWav, OutputFormat::kPcm, OutputFormat::kFlac, OutputFormat::kOpus}) {
    absl::StatusOr<OutputFormat> parsed = ParseOutputFormat(FormatName(format));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, format);
  }
  EXPECT_EQ(ContentType(OutputFormat::kWav), "audio/wav");
  EXPECT_EQ(ContentType(OutputFormat::kPcm), "audio/pcm");
  EXPECT_EQ(ContentType(OutputFormat::kFlac), "audio/flac");
  EXPECT_EQ(ContentType(OutputFormat::kOpus), "audio/ogg");
}

TEST(ParseOutputFormatTest, RejectsOthersListingTheSupportedOnes) {
  for (std::string_view name : {"mp3", "aac", "", "WAV", "ogg", "wav "}) {
    SCOPED_TRACE(name);
    absl::StatusOr<OutputFormat> parsed = ParseOutputFormat(name);
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(parsed.status()), HasSubstr("wav, pcm, flac and opus"));
    EXPECT_THAT(Message(parsed.status()), HasSubstr("mp3 and aac are not supported"));
    EXPECT_THAT(Message(parsed.status()), HasSubstr("\"" + std::string(name) + "\""));
  }
}

TEST(AudioEncoderTest, RejectsSampleRatesOutOfRange) {
  for (OutputFormat format :
       {OutputFormat::kWav, OutputFormat::kPcm, OutputFormat::kFlac, OutputFormat::kOpus}) {
    for (int rate : {0, -24000, 7999, 192001}) {
      SCOPED_TRACE(std::string(FormatName(format)) + " " + std::to_string(rate));
      absl::StatusOr<std::unique_ptr<AudioEncoder>> encoder = AudioEncoder::Create(format, rate);
      ASSERT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(Message(encoder.status()), HasSubstr("8000..192000"));
    }
  }
}

TEST(AudioEncoderTest, PcmIsTheRawSamples) {
  const std::vector<int16_t> sine = Sine(kRate, 1);
  const Encoded pcm = EncodeInChunks(OutputFormat::kPcm, kRate, sine);
  EXPECT_EQ(pcm.bytes, S16le(sine));
  EXPECT_EQ(pcm.before_finish, pcm.bytes.size());
}

TEST(AudioEncoderTest, WavIsTheStreamingHeaderThenTheRawSamples) {
  const std::vector<int16_t> sine = Sine(kRate, 1);
  const Encoded wav = EncodeInChunks(OutputFormat::kWav, kRate, sine);
  ASSERT_EQ(wav.bytes.size(), 44 + 2 * sine.size());
  EXPECT_EQ(wav.bytes.substr(0, 44), StreamingWavHeader(kRate));
  EXPECT_EQ(wav.bytes.substr(44), S16le(sine));
  EXPECT_EQ(wav.before_finish, wav.bytes.size());
}

TEST(AudioEncoderTest, WavHeaderComesWithTheFirstCall) {
  std::unique_ptr<AudioEncoder> encoder = MakeEncoder(OutputFormat::kWav, 22050);
  ASSERT_NE(encoder, nullptr);
  absl::StatusOr<std::string> first = encoder->Encode({});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, StreamingWavHeader(22050));
  absl::StatusOr<std::string> tail = encoder->Finish();
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(*tail, "");
}

TEST(AudioEncoderTest, StreamedWavDecodesWithTheProjectDecoders) {
  const std::vector<int16_t> sine = Sine(kRate, 1);
  const std::string wav = EncodeInChunks(OutputFormat::kWav, kRate, sine).bytes;
  // libsndfile, given the whole response: takes the length from the bytes there are.
  const Pcm pcm = Decode(wav);
  EXPECT_EQ(pcm.sample_rate_hertz, kRate);
  EXPECT_EQ(pcm.samples, sine);
  // The upload parser, fed in pieces: 0xFFFFFFFF means "until the end".
  WavStreamParser parser;
  std::vector<int16_t> parsed;
  for (size_t i = 0; i < wav.size(); i += 1000) {
    ASSERT_TRUE(parser.Append(std::string_view(wav).substr(i, 1000), parsed).ok());
  }
  EXPECT_TRUE(parser.Finish().ok());
  EXPECT_EQ(parser.sample_rate_hertz(), kRate);
  EXPECT_EQ(parsed, sine);
}

TEST(AudioEncoderTest, StreamedWavDecodesWithSox) {
  if (!HaveSox()) GTEST_SKIP() << "needs sox";
  const std::vector<int16_t> sine = Sine(kRate, 1);
  TempDir dir;
  const fs::path file = dir.path() / "streamed.wav";
  WriteFile(file, EncodeInChunks(OutputFormat::kWav, kRate, sine).bytes);
  // sox warns of a "premature EOF" (the header promised more) and reads every sample.
  const auto [from_file, from_pipe] = SoxSamplesRead(file, "wav");
  EXPECT_EQ(from_file, static_cast<int64_t>(sine.size()));
  EXPECT_EQ(from_pipe, static_cast<int64_t>(sine.size()));
}

TEST(AudioEncoderTest, FlacIsLossless) {
  const std::vector<int16_t> sine = Sine(kRate, 1);
  const Encoded flac = EncodeInChunks(OutputFormat::kFlac, kRate, sine);
  EXPECT_THAT(flac.bytes, StartsWith("fLaC"));
  EXPECT_LT(flac.bytes.size(), 2 * sine.size());  // it does compress
  const Pcm pcm = Decode(flac.bytes);
  EXPECT_EQ(pcm.sample_rate_hertz, kRate);
  EXPECT_EQ(pcm.samples, sine);
}

TEST(AudioEncoderTest, FlacBytesDoNotDependOnChunking) {
  const std::vector<int16_t> sine = Sine(kRate, 1.5);
  const std::string whole = EncodeInChunks(OutputFormat::kFlac, kRate, sine, {}).bytes;
  EXPECT_EQ(EncodeInChunks(OutputFormat::kFlac, kRate, sine, {1, 100, 2399}).bytes, whole);
  EXPECT_EQ(EncodeInChunks(OutputFormat::kFlac, kRate, sine, {4096, 4096, 1, 4095}).bytes, whole);
}

TEST(AudioEncoderTest, FlacDecodesWithSox) {
  if (!HaveSox()) GTEST_SKIP() << "needs sox";
  const std::vector<int16_t> sine = Sine(kRate, 1);
  TempDir dir;
  const fs::path file = dir.path() / "streamed.flac";
  WriteFile(file, EncodeInChunks(OutputFormat::kFlac, kRate, sine).bytes);
  const auto [from_file, from_pipe] = SoxSamplesRead(file, "flac");
  EXPECT_EQ(from_file, static_cast<int64_t>(sine.size()));
  EXPECT_EQ(from_pipe, static_cast<int64_t>(sine.size()));
}

TEST(AudioEncoderTest, FlacAtOtherRatesIsLossless) {
  // 100001 Hz is beyond what FLAC frame headers can spell: the stream leaves the streamable
  // subset and frames refer to STREAMINFO's rate.
  for (int rate : {8000, 22050, 44100, 100001, 192000}) {
    SCOPED_TRACE(rate);
    const std::vector<int16_t> sine = Sine(rate, 0.5, 1000);
    const Pcm pcm = Decode(EncodeInChunks(OutputFormat::kFlac, rate, sine).bytes);
    EXPECT_EQ(pcm.sample_rate_hertz, rate);
    EXPECT_EQ(pcm.samples, sine);
  }
}

// libsndfile decodes Opus at the lowest rate Opus decodes at (8, 12, 16, 24 or 48 kHz) that is
// at least the input rate OpusHead records.
int LibsndfileOpusRate(int input_rate) {
  for (int rate : {8000, 12000, 16000, 24000}) {
    if (input_rate <= rate) return rate;
  }
  return 48000;
}

// The Ogg Opus stream decodes (libsndfile honours pre-skip and the end granule) to the same
// duration and, back at the input rate, the same signal.
void ExpectOpusRoundTrip(int rate, const std::vector<int16_t>& input) {
  const Encoded opus = EncodeInChunks(OutputFormat::kOpus, rate, input);
  EXPECT_THAT(opus.bytes, StartsWith("OggS"));
  EXPECT_THAT(opus.bytes.substr(0, 100), HasSubstr("OpusHead"));
  const Pcm decoded = Decode(opus.bytes);
  ASSERT_GT(decoded.sample_rate_hertz, 0);
  EXPECT_EQ(decoded.sample_rate_hertz, LibsndfileOpusRate(rate));
  EXPECT_NEAR(decoded.DurationSeconds(), static_cast<double>(input.size()) / rate, 0.03);

  absl::StatusOr<Pcm> back = ResampleTo(decoded, rate);
  ASSERT_TRUE(back.ok()) << back.status();
  // Aligned to within a few samples: pre-skip removed the encoder's delay.
  int best_lag = 0;
  double best = -1;
  for (int lag = -rate / 500; lag <= rate / 500; ++lag) {
    const double c = Correlation(input, back->samples, lag);
    if (c > best) best = c, best_lag = lag;
  }
  EXPECT_GT(best, 0.95) << "lag " << best_lag;
  EXPECT_LE(std::abs(best_lag), rate / 1000) << "more than 1 ms off";
}

TEST(AudioEncoderTest, OpusKeepsDurationAndSignal) {
  ExpectOpusRoundTrip(kRate, Sine(kRate, 1));
}

TEST(AudioEncoderTest, OpusAtOtherRates) {
  for (int rate : {8000, 16000, 22050, 44100, 48000, 192000}) {
    SCOPED_TRACE(rate);
    ExpectOpusRoundTrip(rate, Sine(rate, 1));
  }
}

TEST(AudioEncoderTest, OpusOfRealSpeech) {
  const fs::path file = LibrivoxFile();
  if (file.empty()) GTEST_SKIP() << "needs " << kPocketsphinxData;
  const Pcm speech = Decode(ReadFile(file));
  ExpectOpusRoundTrip(speech.sample_rate_hertz, speech.samples);
}

TEST(AudioEncoderTest, FlacAndOpusStreamAsTheyGo) {
  const std::vector<int16_t> sine = Sine(kRate, 10);
  for (OutputFormat format : {OutputFormat::kFlac, OutputFormat::kOpus}) {
    SCOPED_TRACE(FormatName(format));
    std::unique_ptr<AudioEncoder> encoder = MakeEncoder(format, kRate);
    ASSERT_NE(encoder, nullptr);
    // The stream header is ready before any audio.
    absl::StatusOr<std::string> header = encoder->Encode({});
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_FALSE(header->empty());
    // Then audio comes out at least every half second of input (100 ms chunks).
    std::string bytes = *header;
    size_t chunks_since_output = 0;
    size_t max_chunks_between = 0;
    constexpr size_t kChunk = kRate / 10;
    for (size_t i = 0; i < sine.size(); i += kChunk) {
      absl::StatusOr<std::string> out =
          encoder->Encode(std::span(sine).subspan(i, std::min(kChunk, sine.size() - i)));
      ASSERT_TRUE(out.ok()) << out.status();
      chunks_since_output = out->empty() ? chunks_since_output + 1 : 0;
      max_chunks_between = std::max(max_chunks_between, chunks_since_output);
      bytes += *out;
    }
    EXPECT_LE(max_chunks_between, 4u);
    const size_t before_finish = bytes.size();
    absl::StatusOr<std::string> tail = encoder->Finish();
    ASSERT_TRUE(tail.ok()) << tail.status();
    bytes += *tail;
    EXPECT_GT(before_finish, bytes.size() * 9 / 10);
    EXPECT_NEAR(Decode(bytes).DurationSeconds(), 10, format == OutputFormat::kFlac ? 0 : 0.03);
  }
}

TEST(AudioEncoderTest, FinishedEncoderRefusesMore) {
  for (OutputFormat format :
       {OutputFormat::kWav, OutputFormat::kPcm, OutputFormat::kFlac, OutputFormat::kOpus}) {
    SCOPED_TRACE(FormatName(format));
    std::unique_ptr<AudioEncoder> encoder = MakeEncoder(format, kRate);
    ASSERT_NE(encoder, nullptr);
    ASSERT_TRUE(encoder->Finish().ok());
    const std::vector<int16_t> samples(100);
    EXPECT_EQ(encoder->Encode(samples).status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(encoder->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST(AudioEncoderTest, EmptyStreamIsStillAValidHeader) {
  for (OutputFormat format : {OutputFormat::kWav, OutputFormat::kFlac, OutputFormat::kOpus}) {
    SCOPED_TRACE(FormatName(format));
    const Encoded empty = EncodeInChunks(format, kRate, {}, {});
    EXPECT_FALSE(empty.bytes.empty());
    // The decoder opens it and finds no audio, which is its error for a valid empty file.
    absl::StatusOr<Pcm> pcm = DecodeAudioFile(empty.bytes, kNoLimit);
    if (!pcm.ok()) {
      EXPECT_THAT(Message(pcm.status()), HasSubstr("0 frames"));
    } else {
      EXPECT_LE(pcm->samples.size(), 960u);  // at most Opus' padding of one frame
    }
  }
}

TEST(AudioEncoderTest, OpusWithNoAudioFinishesAfterAnotherStream) {
  // libopusenc reads an uninitialized field when draining a stream that got no audio. Fresh
  // memory is zero, which hides that; the freed memory of a finished stream holds its length,
  // which made the drain abort.
  const std::vector<int16_t> sine = Sine(kRate, 1);
  for (int round = 0; round < 5; ++round) {
    EncodeInChunks(OutputFormat::kOpus, kRate, sine);
    std::unique_ptr<AudioEncoder> encoder = MakeEncoder(OutputFormat::kOpus, kRate);
    ASSERT_NE(encoder, nullptr);
    absl::StatusOr<std::string> tail = encoder->Finish();
    ASSERT_TRUE(tail.ok()) << tail.status();
  }
}

TEST(AudioEncoderTest, DestroyingWithoutFinishIsSafe) {
  const std::vector<int16_t> sine = Sine(kRate, 0.3);
  for (OutputFormat format :
       {OutputFormat::kWav, OutputFormat::kPcm, OutputFormat::kFlac, OutputFormat::kOpus}) {
    std::unique_ptr<AudioEncoder> encoder = MakeEncoder(format, kRate);
    ASSERT_NE(encoder, nullptr);
    ASSERT_TRUE(encoder->Encode(sine).ok());
  }  // the client went away: the codecs are freed without writing to a dead response
}

uint32_t Le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

TEST(WithWavSizes, FillsInTheSizesOfAStreamedWav) {
  auto encoder = AudioEncoder::Create(OutputFormat::kWav, 24000);
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
}  // namespace voxgate::audio
