#include "gateway/protocols/native/native_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::gateway::native {
namespace {

using ::testing::HasSubstr;

TEST(NativeProtocol, ConfigFromQuery) {
  StreamConfig c;
  ASSERT_TRUE(ApplyQuery("language=en-GB&sample_rate=44100&encoding=wav&interim_results=false", c).ok());
  EXPECT_EQ(c.language, "en-GB");
  EXPECT_EQ(c.sample_rate, 44100);
  EXPECT_EQ(c.encoding, Encoding::kWav);
  EXPECT_FALSE(c.interim_results);
  // A WAV file's header gives its rate: a second one is refused rather than ignored.
  EXPECT_THAT(std::string(CheckConfig(c).message()), HasSubstr("with encoding wav the file's header gives the rate"));
  StreamConfig wav;
  ASSERT_TRUE(ApplyQuery("encoding=wav", wav).ok());
  EXPECT_TRUE(CheckConfig(wav).ok());
  EXPECT_TRUE(nlohmann::json::parse(ReadyJson("id", wav))["sample_rate"].is_null());
  EXPECT_EQ(nlohmann::json::parse(ReadyJson("id", StreamConfig{}))["sample_rate"], 16000);
}

TEST(NativeProtocol, BadQueryValuesAreNamed) {
  StreamConfig c;
  EXPECT_THAT(std::string(ApplyQuery("sample_rate=0", c).message()), HasSubstr("sample_rate 0 Hz is out of range"));
  EXPECT_THAT(std::string(ApplyQuery("sample_rate=10000000", c).message()), HasSubstr("out of range"));
  EXPECT_THAT(std::string(ApplyQuery("sample_rate=fast", c).message()), HasSubstr("must be an integer"));
  EXPECT_THAT(std::string(ApplyQuery("encoding=mp3", c).message()), HasSubstr("unsupported encoding \"mp3\""));
  EXPECT_THAT(std::string(ApplyQuery("langauge=en", c).message()), HasSubstr("unknown query parameter \"langauge\""));
  EXPECT_FALSE(ApplyQuery("language=en%20US", c).ok());
}

TEST(NativeProtocol, ClientMessages) {
  auto config = ParseClientText(R"({"language":"en-US","sample_rate":8000})");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->type, ClientMessage::Type::kConfig);
  StreamConfig c;
  ASSERT_TRUE(ApplyJson(config->body, c).ok());
  EXPECT_EQ(c.sample_rate, 8000);
  EXPECT_EQ(ParseClientText(R"({"type":"end"})")->type, ClientMessage::Type::kEnd);
  EXPECT_THAT(std::string(ParseClientText("not json").status().message()), HasSubstr("must be JSON objects"));
  EXPECT_THAT(std::string(ParseClientText(R"({"type":"pause"})").status().message()), HasSubstr("unknown message type"));
  EXPECT_THAT(std::string(ApplyJson(nlohmann::json{{"sample_rate", "16000"}}, c).message()), HasSubstr("must be an integer"));
  EXPECT_THAT(std::string(ApplyJson(nlohmann::json{{"volume", 3}}, c).message()), HasSubstr("unknown config key"));
}

TEST(NativeProtocol, ResultJson) {
  speech::RecognitionResult r;
  r.transcript = "go forward";
  r.is_final = true;
  r.start_seconds = 0.5;
  r.end_seconds = 1.25;
  r.words = {{"go", 0.5, 0.75, 0.9f}, {"forward", 0.75, 1.25, 0.8f}};
  auto j = nlohmann::json::parse(ResultJson(r));
  EXPECT_EQ(j["type"], "final");
  EXPECT_EQ(j["text"], "go forward");
  EXPECT_EQ(j["words"][1]["word"], "forward");
  EXPECT_DOUBLE_EQ(j["words"][1]["end"].get<double>(), 1.25);
  r.is_final = false;
  r.stability = 0.1f;
  j = nlohmann::json::parse(ResultJson(r));
  EXPECT_EQ(j["type"], "partial");
  EXPECT_FALSE(j.contains("words"));
}

TEST(NativeProtocol, SpokenTranslation) {
  StreamConfig c;
  ASSERT_TRUE(ApplyQuery("translate_to=es&speak=true&voice=es%2Bklatt", c).ok());
  EXPECT_TRUE(c.speak);
  EXPECT_EQ(c.voice, "es+klatt");
  EXPECT_TRUE(CheckConfig(c).ok());
  EXPECT_TRUE(nlohmann::json::parse(ReadyJson("id", c))["speak"].get<bool>());
  StreamConfig d;
  ASSERT_TRUE(ApplyJson(nlohmann::json{{"speak", true}}, d).ok());
  EXPECT_THAT(std::string(CheckConfig(d).message()), HasSubstr("speak needs translate_to"));
  StreamConfig e;
  ASSERT_TRUE(ApplyJson(nlohmann::json{{"voice", "alloy"}}, e).ok());
  EXPECT_THAT(std::string(CheckConfig(e).message()), HasSubstr("voice is only used with speak"));
  EXPECT_THAT(std::string(ApplyJson(nlohmann::json{{"speak", "yes"}}, e).message()), HasSubstr("speak must be true or false"));
  EXPECT_THAT(std::string(ApplyJson(nlohmann::json{{"voice", "<x>"}}, e).message()), HasSubstr("GET /v1/audio/voices"));

  const auto start = nlohmann::json::parse(SpeechStartJson("hola", "es"));
  EXPECT_EQ(start["type"], "speech_start");
  EXPECT_EQ(start["sample_rate"], kSpeechSampleRate);
  EXPECT_EQ(start["encoding"], "pcm_s16le");
  const auto end = nlohmann::json::parse(SpeechEndJson(1.5, absl::OkStatus()));
  EXPECT_EQ(end["duration"], 1.5);
  EXPECT_FALSE(end.contains("error"));
  EXPECT_EQ(nlohmann::json::parse(SpeechEndJson(0, absl::NotFoundError("no voice")))["error"], "no voice");
}

TEST(NativeProtocol, SpeechTranslation) {
  StreamConfig c;
  ASSERT_TRUE(ApplyQuery("language=en-US&translate_to=es", c).ok());
  EXPECT_EQ(c.translate_to, "es");
  EXPECT_EQ(nlohmann::json::parse(ReadyJson("id", c))["translate_to"], "es");
  StreamConfig d;
  ASSERT_TRUE(ApplyJson(nlohmann::json{{"translate_to", "pt-BR"}}, d).ok());
  EXPECT_EQ(d.translate_to, "pt-BR");
  EXPECT_TRUE(nlohmann::json::parse(ReadyJson("id", StreamConfig{}))["translate_to"].is_null());
  EXPECT_THAT(std::string(ApplyJson(nlohmann::json{{"translate_to", 3}}, d).message()), HasSubstr("translate_to must be a string"));
  EXPECT_THAT(std::string(ApplyQuery("translate_to=e%20s", d).message()), HasSubstr("translate_to must be a BCP-47 code"));

  speech::RecognitionResult r;
  r.transcript = "good morning";
  r.is_final = true;
  const absl::StatusOr<std::string> translated = std::string("buenos días");
  EXPECT_EQ(nlohmann::json::parse(ResultJson(r, &translated))["translation"], "buenos días");
  const absl::StatusOr<std::string> failed = absl::UnavailableError("no healthy engine");
  auto j = nlohmann::json::parse(ResultJson(r, &failed));
  EXPECT_FALSE(j.contains("translation"));
  EXPECT_EQ(j["translation_error"], "no healthy engine");
  EXPECT_FALSE(nlohmann::json::parse(ResultJson(r)).contains("translation"));
}

TEST(NativeProtocol, ErrorJsonCarriesCodeAndMessage) {
  auto j = nlohmann::json::parse(ErrorJson(absl::InvalidArgumentError("bad \xff audio")));
  EXPECT_EQ(j["type"], "error");
  EXPECT_EQ(j["code"], "invalid_argument");
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("bad"));
}

}  // namespace
}  // namespace voxgate::gateway::native

namespace voxgate::gateway::native {
namespace {

TEST(NativeProtocol, QueryViewIntoALargerBuffer) {
  // The gateway passes a view into the request line; nothing after it may be read.
  const std::string request_line = "/v1/recognize?language=en-GB HTTP/1.1\r\nHost: x";
  std::string_view target(request_line.data(), request_line.find(' '));
  StreamConfig c;
  ASSERT_TRUE(ApplyQuery(target.substr(target.find('?') + 1), c).ok());
  EXPECT_EQ(c.language, "en-GB");
}

}  // namespace
}  // namespace voxgate::gateway::native
