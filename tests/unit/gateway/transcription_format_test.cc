#include "gateway/protocols/openai/transcription_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace voxgate::gateway::openai {
namespace {

Transcription Sample() {
  Transcription t;
  speech::RecognitionResult a, b;
  a.transcript = "go forward ten meters";
  a.start_seconds = 0.25;
  a.end_seconds = 2.5;
  a.confidence = 0.5f;
  a.words = {{"go", 0.25, 0.5, 0.9f}};
  b.transcript = "stop";
  b.start_seconds = 3661.0;
  b.end_seconds = 3661.5;
  t.segments = {a, b};
  t.language = "en";
  t.duration_seconds = 3662;
  return t;
}

TEST(TranscriptionFormat, JsonAndText) {
  EXPECT_EQ(nlohmann::json::parse(Render(Sample(), ResponseFormat::kJson).body)["text"], "go forward ten meters stop");
  EXPECT_EQ(Render(Sample(), ResponseFormat::kText).body, "go forward ten meters stop\n");
}

// Each event is one `data:` line and a blank line, whatever the text holds.
TEST(TranscriptionFormat, StreamedEventsAreServerSentEvents) {
  const std::string delta = TextDeltaEvent(" two\nlines \xff");
  ASSERT_EQ(delta.substr(0, 6), "data: ");
  ASSERT_EQ(delta.substr(delta.size() - 2), "\n\n");
  EXPECT_EQ(delta.find('\n'), delta.size() - 2);
  const auto parsed = nlohmann::json::parse(delta.substr(6));
  EXPECT_EQ(parsed["type"], "transcript.text.delta");
  EXPECT_EQ(parsed["delta"], " two\nlines \xef\xbf\xbd");  // invalid UTF-8 replaced, not a broken event
  const auto done = nlohmann::json::parse(TextDoneEvent("go forward", 2.5).substr(6));
  EXPECT_EQ(done["type"], "transcript.text.done");
  EXPECT_EQ(done["text"], "go forward");
  EXPECT_EQ(done["usage"], nlohmann::json::parse(R"({"type": "duration", "seconds": 2.5})"));
  EXPECT_EQ(ErrorEvent(R"({"error":{"message":"m"}})"), "data: {\"error\":{\"message\":\"m\"}}\n\n");
}

TEST(TranscriptionFormat, SrtAndVtt) {
  EXPECT_EQ(Render(Sample(), ResponseFormat::kSrt).body,
            "1\n00:00:00,250 --> 00:00:02,500\ngo forward ten meters\n\n2\n01:01:01,000 --> 01:01:01,500\nstop\n\n");
  const auto vtt = Render(Sample(), ResponseFormat::kVtt);
  EXPECT_EQ(vtt.content_type, "text/vtt");
  EXPECT_EQ(vtt.body.substr(0, 8), "WEBVTT\n\n");
  EXPECT_NE(vtt.body.find("00:00:00.250 --> 00:00:02.500"), std::string::npos);
}

TEST(TranscriptionFormat, VerboseJsonWithWords) {
  auto t = Sample();
  t.word_timestamps = true;
  auto j = nlohmann::json::parse(Render(t, ResponseFormat::kVerboseJson).body);
  EXPECT_EQ(j["task"], "transcribe");
  EXPECT_EQ(j["language"], "english");  // as OpenAI names it, not the tag "en"
  EXPECT_EQ(j["duration"], 3662);
  EXPECT_EQ(j["segments"].size(), 2u);
  EXPECT_EQ(j["segments"][1]["start"], 3661.0);
  EXPECT_EQ(j["words"][0]["word"], "go");
  t.word_timestamps = false;
  EXPECT_FALSE(nlohmann::json::parse(Render(t, ResponseFormat::kVerboseJson).body).contains("words"));
}

TEST(TranscriptionFormat, LanguagesAreNamedAsOpenAINamesThem) {
  EXPECT_EQ(LanguageName("en"), "english");
  EXPECT_EQ(LanguageName("en-US"), "english");
  EXPECT_EQ(LanguageName("DE_de"), "german");
  EXPECT_EQ(LanguageName("yue"), "cantonese");
  EXPECT_EQ(LanguageName("ht"), "haitian creole");
  EXPECT_EQ(LanguageName("af"), "afrikaans");  // the first of the table
  EXPECT_EQ(LanguageName("zh-Hant"), "chinese");
  EXPECT_EQ(LanguageName("tlh"), "tlh");  // no name: the tag as given
  EXPECT_EQ(LanguageName(""), "");
}

TEST(TranscriptionFormat, UnknownFormatIsAnError) {
  EXPECT_FALSE(ParseResponseFormat("mp3").ok());
  EXPECT_EQ(*ParseResponseFormat(""), ResponseFormat::kJson);
}

}  // namespace
}  // namespace voxgate::gateway::openai
