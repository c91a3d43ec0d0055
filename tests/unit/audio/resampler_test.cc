#include "audio/resampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "unit/audio/test_util.h"

namespace voxgate::audio {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::voxgate::audio::testing::Message;

std::vector<int16_t> Sine(double hertz, int rate, size_t samples, double amplitude = 10000) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * hertz * i / rate)));
  }
  return out;
}

int ZeroCrossings(const std::vector<int16_t>& s) {
  int crossings = 0;
  for (size_t i = 1; i < s.size(); ++i) crossings += (s[i - 1] < 0) != (s[i] < 0);
  return crossings;
}

std::vector<int16_t> ProcessInChunks(Resampler& r, const std::vector<int16_t>& in,
                                     uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<int16_t> out;
  for (size_t at = 0; at < in.size();) {
    const size_t n = std::min<size_t>(random() % 700, in.size() - at);  // 0 included
    const std::vector<int16_t> piece = r.Process(std::span(in).subspan(at, n));
    out.insert(out.end(), piece.begin(), piece.end());
    at += n;
  }
  const std::vector<int16_t> tail = r.Flush();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

TEST(ResamplerTest, RejectsRatesOutOfRange) {
  EXPECT_EQ(Resampler::Create(0, 16000).status().message(),
            "sample rate 0 Hz is out of range (8000..192000)");
  EXPECT_THAT(Message(Resampler::Create(16000, 10'000'000).status()), HasSubstr("10000000 Hz"));
  EXPECT_EQ(ResampleTo(Pcm{-1, {1}}, 16000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResamplerTest, SameRateIsAPassThrough) {
  absl::StatusOr<Resampler> r = Resampler::Create(16000, 16000);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<int16_t> in = {1, -2, 3, 32767, -32768};
  EXPECT_EQ(r->Process(in), in);
  EXPECT_THAT(r->Flush(), IsEmpty());
}

TEST(ResamplerTest, SineKeepsItsFrequencyAndTheLengthRatio) {
  absl::StatusOr<Resampler> r = Resampler::Create(44100, 16000);
  ASSERT_TRUE(r.ok()) << r.status();
  // Two seconds of 1 kHz: 4000 zero crossings at any rate.
  const std::vector<int16_t> in = Sine(1000, 44100, 2 * 44100);
  ASSERT_NEAR(ZeroCrossings(in), 4000, 1);
  const std::vector<int16_t> out = ProcessInChunks(*r, in, 1);
  EXPECT_NEAR(static_cast<double>(out.size()), 2 * 16000, 1);
  EXPECT_NEAR(ZeroCrossings(out), 4000, 2);
  // And its amplitude, away from the edges where the filter starts and stops.
  int peak = 0;
  for (size_t i = 1000; i < out.size() - 1000; ++i) peak = std::max(peak, std::abs(int{out[i]}));
  EXPECT_NEAR(peak, 10000, 100);
}

TEST(ResamplerTest, UpsamplesToo) {
  absl::StatusOr<Resampler> r = Resampler::Create(8000, 48000);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<int16_t> out = ProcessInChunks(*r, Sine(440, 8000, 8000), 2);
  EXPECT_NEAR(static_cast<double>(out.size()), 48000, 1);
  EXPECT_NEAR(ZeroCrossings(out), 880, 2);
}

TEST(ResamplerTest, OutputDoesNotDependOnChunking) {
  const std::vector<int16_t> in = Sine(440, 22050, 30000);
  std::vector<std::vector<int16_t>> outputs;
  for (uint32_t seed : {1u, 2u, 3u}) {
    absl::StatusOr<Resampler> r = Resampler::Create(22050, 16000);
    ASSERT_TRUE(r.ok());
    outputs.push_back(ProcessInChunks(*r, in, seed));
  }
  absl::StatusOr<Pcm> whole = ResampleTo(Pcm{22050, in}, 16000);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(outputs[0], whole->samples);
  EXPECT_EQ(outputs[1], whole->samples);
  EXPECT_EQ(outputs[2], whole->samples);
}

TEST(ResamplerTest, FlushReadiesItForANewStream) {
  absl::StatusOr<Resampler> r = Resampler::Create(48000, 16000);
  ASSERT_TRUE(r.ok());
  const std::vector<int16_t> in = Sine(300, 48000, 4800);
  const std::vector<int16_t> first = ProcessInChunks(*r, in, 5);
  EXPECT_EQ(ProcessInChunks(*r, in, 6), first);
  EXPECT_THAT(r->Flush(), IsEmpty());
}

TEST(ResamplerTest, IsMovable) {
  absl::StatusOr<Resampler> r = Resampler::Create(16000, 8000);
  ASSERT_TRUE(r.ok());
  Resampler moved = *std::move(r);
  EXPECT_EQ(moved.from_hertz(), 16000);
  EXPECT_EQ(moved.to_hertz(), 8000);
  EXPECT_NEAR(static_cast<double>(ProcessInChunks(moved, Sine(100, 16000, 1600), 7).size()),
              800, 1);
}

}  // namespace
}  // namespace voxgate::audio
