#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/protocols/mimi/mimi_protocol.h"
#include "gateway/protocols/vosk/vosk_protocol.h"

namespace voxgate::gateway {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

speech::RecognitionResult Final(std::string text, std::vector<speech::WordInfo> words) {
  speech::RecognitionResult r;
  r.is_final = true;
  r.transcript = std::move(text);
  r.words = std::move(words);
  r.confidence = 0.8f;
  if (!r.words.empty()) {
    r.start_seconds = r.words.front().start_seconds;
    r.end_seconds = r.words.back().end_seconds;
  }
  return r;
}

TEST(Vosk, ConfigAndEof) {
  vosk::Config c;
  auto msg = vosk::ParseClientText(R"({"config" : {"sample_rate" : 8000.0, "words" : 0, "max_alternatives": 2, "phrase_list": ["a b", "[unk]"]}})", c);
  ASSERT_TRUE(msg.ok()) << msg.status();
  EXPECT_EQ(msg->type, vosk::ClientText::Type::kConfig);
  EXPECT_EQ(c.sample_rate, 8000);
  EXPECT_FALSE(c.words);
  EXPECT_EQ(c.max_alternatives, 2);
  EXPECT_EQ(c.phrase_list, (std::vector<std::string>{"a b", "[unk]"}));
  for (std::string_view eof : {R"({"eof" : 1})", R"({"eof":1})", R"( { "eof" : 1 } )"}) {
    EXPECT_TRUE(vosk::IsEof(eof)) << eof;
    EXPECT_EQ(vosk::ParseClientText(eof, c)->type, vosk::ClientText::Type::kEof);
  }
  EXPECT_FALSE(vosk::IsEof(std::string_view("\x01\x02\x03\x04", 4)));
  EXPECT_THAT(std::string(vosk::ParseClientText(R"({"config": {"sample_rate": 4000}})", c).status().message()), HasSubstr("out of range"));
  EXPECT_THAT(std::string(vosk::ParseClientText(R"({"config": {"rate": 8000}})", c).status().message()), HasSubstr("unknown config key \"rate\""));
  EXPECT_THAT(std::string(vosk::ParseClientText("hello", c).status().message()), HasSubstr("text messages are"));
}

TEST(Vosk, ResultsAsVoskApiPrintsThem) {
  EXPECT_EQ(json::parse(vosk::PartialJson("hello wor")), json({{"partial", "hello wor"}}));
  EXPECT_EQ(vosk::PartialJson(""), "{\n  \"partial\": \"\"\n}");  // indented, as vosk-api prints
  vosk::Config c;
  const std::vector<speech::RecognitionResult> finals = {Final("hello world", {{"hello", 0.1, 0.5, 0.9f}, {"world", 0.5, 1.0, 0.8f}}),
                                                         Final("again", {{"again", 2.0, 2.4, 0.7f}})};
  const json r = json::parse(vosk::ResultJson(finals, c));
  EXPECT_EQ(r["text"], "hello world again");
  ASSERT_EQ(r["result"].size(), 3u);
  EXPECT_EQ(r["result"][2], json({{"word", "again"}, {"start", 2.0}, {"end", 2.4}, {"conf", 0.7f}}));
  EXPECT_EQ(json::parse(vosk::ResultJson({}, c)), json({{"text", ""}}));
  c.words = false;
  EXPECT_EQ(json::parse(vosk::ResultJson(finals, c)), json({{"text", "hello world again"}}));
  c.words = true;
  c.max_alternatives = 3;
  const json alt = json::parse(vosk::ResultJson(finals, c));
  ASSERT_EQ(alt["alternatives"].size(), 1u);
  EXPECT_EQ(alt["alternatives"][0]["text"], "hello world again");
  EXPECT_FALSE(alt["alternatives"][0]["result"][0].contains("conf"));
}

mimi::Config MimiConfig(std::map<std::string, std::string> headers) {
  auto c = mimi::ParseConfig([&](std::string_view name) {
    auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string() : it->second;
  });
  EXPECT_TRUE(c.ok()) << c.status();
  return c.value_or(mimi::Config{});
}

std::string MimiError(std::map<std::string, std::string> headers) {
  auto c = mimi::ParseConfig([&](std::string_view name) {
    auto it = headers.find(std::string(name));
    return it == headers.end() ? std::string() : it->second;
  });
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(Mimi, HeadersBecomeTheConfig) {
  const mimi::Config a = MimiConfig({{"x-mimi-process", "asr"}, {"x-mimi-input-language", "en"},
                                     {"content-type", "audio/x-pcm;bit=16;rate=44100;channels=1"}});
  EXPECT_EQ(a.process, mimi::Process::kAsr);
  EXPECT_EQ(a.language, "en");
  EXPECT_EQ(a.sample_rate, 44100);
  const mimi::Config v2 = MimiConfig({{"x-mimi-process", "nict-asr"},
                                      {"x-mimi-nict-asr-options", "response_format=v2;progressive=False;temporary=true;temporary_interval=1500"}});
  EXPECT_EQ(v2.process, mimi::Process::kNictAsrV2);
  EXPECT_FALSE(v2.progressive);
  EXPECT_EQ(v2.language, "ja");  // mimi's default
  EXPECT_EQ(MimiConfig({{"x-mimi-process", "nict-asr"}}).process, mimi::Process::kNictAsrV1);
  EXPECT_THAT(MimiError({}), HasSubstr("x-mimi-process \"\" is not supported here (supported: asr, nict-asr)"));
  EXPECT_THAT(MimiError({{"x-mimi-process", "asr"}, {"content-type", "audio/x-pcm;bit=8;rate=16000;channels=1"}}), HasSubstr("16-bit"));
  EXPECT_THAT(MimiError({{"x-mimi-process", "asr"}, {"content-type", "audio/x-pcm;bit=16;rate=16000;channels=2"}}), HasSubstr("mono"));
  EXPECT_THAT(MimiError({{"x-mimi-process", "asr"}, {"content-type", "audio/x-flac;rate=16000"}}), HasSubstr("audio/x-flac"));
  EXPECT_THAT(MimiError({{"x-mimi-process", "nict-asr"}, {"x-mimi-nict-asr-options", "response_format=v3"}}), HasSubstr("v1 or v2"));
  EXPECT_THAT(MimiError({{"x-mimi-process", "nict-asr"}, {"x-mimi-nict-asr-options", "colour=red"}}), HasSubstr("unknown option \"colour\""));
  EXPECT_TRUE(*mimi::IsRecogBreak(R"({"command": "recog-break"})"));
  EXPECT_FALSE(mimi::IsRecogBreak(R"({"command": "stop"})").ok());
  EXPECT_THAT(mimi::NewSessionId(), ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

TEST(Mimi, AsrSessionSendsPartialsAndEveryWordAtTheEnd) {
  mimi::Session s(MimiConfig({{"x-mimi-process", "asr"}}), "sid");
  speech::RecognitionResult partial;
  partial.transcript = "hel";
  partial.end_seconds = 0.3;
  const auto p = s.OnResult(partial);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(json::parse(p[0]), json::parse(R"({"type": "asr#mimilvcsr", "session_id": "sid", "status": "recog-in-progress",
                                               "response": [{"result": "hel", "pronunciation": "hel", "time": [0, 300]}]})"));
  EXPECT_EQ(s.OnResult(Final("hello", {{"hello", 0.1, 0.5, 0.9f}})).size(), 1u);
  EXPECT_EQ(s.OnResult(Final("world", {{"world", 1.0, 1.25, 0.9f}})).size(), 1u);
  const json end = json::parse(s.Finished());
  EXPECT_EQ(end["status"], "recog-finished");
  EXPECT_EQ(end["response"], json::parse(R"([{"result": "hello", "pronunciation": "hello", "time": [100, 500]},
                                             {"result": "world", "pronunciation": "world", "time": [1000, 1250]}])"));
}

TEST(Mimi, NictSessionsCarryTheLastUtteranceInRecogFinished) {
  mimi::Session v2(MimiConfig({{"x-mimi-process", "nict-asr"}, {"x-mimi-nict-asr-options", "response_format=v2"}}), "sid");
  speech::RecognitionResult partial;
  partial.transcript = "good mor";
  const auto temp = v2.OnResult(partial);
  ASSERT_EQ(temp.size(), 1u);
  EXPECT_EQ(json::parse(temp[0])["response"][0]["determined"], false);
  EXPECT_TRUE(v2.OnResult(Final("good morning", {{"good", 0, 0.2f, 1}, {"morning", 0.2, 0.6, 1}})).empty());  // held
  const auto first = v2.OnResult(Final("thank you", {{"thank", 1, 1.2f, 1}, {"you", 1.2, 1.4, 1}}));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(json::parse(first[0]), json::parse(R"({"type": "asr#nictlvcsr2", "session_id": "sid", "status": "recog-in-progress",
      "response": [{"result": "good morning", "words": ["good", "morning"], "determined": true, "time": 0}]})"));
  EXPECT_EQ(json::parse(v2.Finished())["response"][0]["result"], "thank you");

  mimi::Session v1(MimiConfig({{"x-mimi-process", "nict-asr"}}), "sid");
  (void)v1.OnResult(Final("hi", {{"hi", 0, 0.2f, 1}}));
  EXPECT_EQ(json::parse(v1.Finished())["response"], json::parse(R"([{"result": "hi|hi|hi|||||"}, {"result": "|||SENT-START-END||||"},
                                                                   {"result": "|||UTT-END||||"}])"));

  mimi::Session whole(MimiConfig({{"x-mimi-process", "nict-asr"}, {"x-mimi-nict-asr-options", "response_format=v2;progressive=false"}}), "sid");
  EXPECT_TRUE(whole.OnResult(Final("one", {{"one", 0, 0.2f, 1}})).empty());
  EXPECT_TRUE(whole.OnResult(Final("two", {{"two", 1, 1.2f, 1}})).empty());
  EXPECT_EQ(json::parse(whole.Finished())["response"][0]["result"], "one two");
}

TEST(Mimi, SynthesisAndTranslationForms) {
  auto f = mimi::ParseSynthesisForm("text=Good+morning%21&lang=en&engine=nict&gender=female&rate=1.5&audio_format=RAW&audio_endian=Big");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->text, "Good morning!");
  EXPECT_EQ(f->gender, "female");
  EXPECT_DOUBLE_EQ(f->rate, 1.5);
  EXPECT_TRUE(f->raw && f->big_endian);
  EXPECT_THAT(std::string(mimi::ParseSynthesisForm("text=a&lang=en&rate=3").status().message()), HasSubstr("0.5 to 2.0"));
  EXPECT_THAT(std::string(mimi::ParseSynthesisForm("text=a&lang=en&audio_format=Speex").status().message()), HasSubstr("Speex"));
  EXPECT_THAT(std::string(mimi::ParseSynthesisForm("text=a&lang=en&audio_endian=Big").status().message()), HasSubstr("RAW"));
  EXPECT_THAT(std::string(mimi::ParseSynthesisForm("lang=en").status().message()), HasSubstr("text is required"));
  EXPECT_THAT(std::string(mimi::ParseSynthesisForm("text=a&text=b&lang=en").status().message()), HasSubstr("twice"));
  auto t = mimi::ParseTranslationForm("text=Good morning.&source_lang=en&target_lang=es");  // spaces as curl -d sends them
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->text, "Good morning.");
  // UTF-8 sent as it is (curl -d 'text=hola señor'), and percent-encoded: the same text.
  for (const char* body : {"text=hola se\xc3\xb1or&source_lang=es&target_lang=en", "text=hola+se%C3%B1or&source_lang=es&target_lang=en"}) {
    auto utf8 = mimi::ParseTranslationForm(body);
    ASSERT_TRUE(utf8.ok()) << utf8.status();
    EXPECT_EQ(utf8->text, "hola se\xc3\xb1or");
  }
  EXPECT_THAT(std::string(mimi::ParseTranslationForm("text=a&source_lang=en").status().message()), HasSubstr("target_lang is required"));
}

}  // namespace
}  // namespace voxgate::gateway
