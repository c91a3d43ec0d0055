#include "gateway/protocols/openai/speech_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace voxgate::gateway::openai {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(std::string_view body) {
  auto call = ParseSpeechRequest(body);
  return call.ok() ? "" : std::string(call.status().message());
}

TEST(SpeechRequest, ReadsWhatTheOpenAiSdkSends) {
  auto call = ParseSpeechRequest(R"({"model": "tts-1", "input": "Hello there.", "voice": "alloy", "response_format": "flac", "speed": 1.5})");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->request.text, "Hello there.");
  EXPECT_EQ(call->request.voice, "alloy");
  EXPECT_EQ(call->request.model, "");  // OpenAI's names mean the default model
  EXPECT_DOUBLE_EQ(call->request.speaking_rate, 1.5);
  EXPECT_EQ(call->request.sample_rate_hertz, kSpeechSampleRateHertz);
  EXPECT_EQ(call->format, audio::OutputFormat::kFlac);
}

TEST(SpeechRequest, DefaultsAndExtensions) {
  auto call = ParseSpeechRequest(R"({"model": "espeak-ng", "input": "Hola.", "language": "es", "instructions": "cheerful"})");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->request.model, "espeak-ng");
  EXPECT_EQ(call->request.language_code, "es");
  EXPECT_EQ(call->request.voice, "");
  EXPECT_DOUBLE_EQ(call->request.speaking_rate, 1);
  EXPECT_EQ(call->format, audio::OutputFormat::kWav);
}

TEST(SpeechRequest, BadRequestsSayWhatIsWrong) {
  EXPECT_THAT(ErrorOf("not json"), HasSubstr("the body is not valid JSON: parse error at line 1, column 2"));
  EXPECT_THAT(ErrorOf(R"({"input": "unterminated)"), HasSubstr("is not valid JSON"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(ErrorOf(R"({"model": "tts-1", "voice": "alloy"})"), HasSubstr("\"input\" is required"));
  EXPECT_THAT(ErrorOf(R"({"input": ""})"), HasSubstr("\"input\" is required"));
  EXPECT_THAT(ErrorOf(R"({"input": 3})"), HasSubstr("\"input\" must be a string"));
  EXPECT_THAT(ErrorOf(R"({"input": "a", "speed": 5})"), HasSubstr("0.25 to 4.0"));
  EXPECT_THAT(ErrorOf(R"({"input": "a", "speed": "fast"})"), HasSubstr("0.25 to 4.0"));
  EXPECT_THAT(ErrorOf(R"({"input": "a", "response_format": "mp3"})"), HasSubstr("wav"));
  EXPECT_THAT(ErrorOf(R"({"input": "a", "stream_format": "sse"})"), HasSubstr("stream_format \"sse\" is not supported"));
}

TEST(SpeechRequest, VoicesListEverySynthesisVoice) {
  speech::Capabilities caps;
  caps.models.push_back({"en-us", "asr", {"en-US"}, {}, 16000, {}});
  caps.models.push_back({"espeak-ng", "tts", {"en-US"}, {}, 22050, {{"alloy", "en-US", "female"}}});
  EXPECT_EQ(nlohmann::json::parse(RenderVoices(caps)),
            nlohmann::json::parse(R"({"object": "list", "data": [{"id": "alloy", "name": "alloy", "language": "en-US",
                                      "gender": "female", "model": "espeak-ng"}]})"));
}

}  // namespace
}  // namespace voxgate::gateway::openai
