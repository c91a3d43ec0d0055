#include "speech/language.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::speech {
namespace {

TEST(Language, PrimaryLanguageIgnoresRegionAndCase) {
  EXPECT_EQ(PrimaryLanguage("en-US"), "en");
  EXPECT_EQ(PrimaryLanguage("EN_us"), "en");
  EXPECT_EQ(PrimaryLanguage("ast"), "ast");
  EXPECT_TRUE(SameLanguage("en", "en-GB"));
  EXPECT_FALSE(SameLanguage("en", "es"));
}

TEST(Language, TranslationPairsOfTheModels) {
  const std::vector<ModelInfo> models = {{"en-us", "asr", {"en-US"}, {}, 16000, {}},
                                         {"apertium-eng-spa", "mt", {"en"}, {"es"}, 0, {}},
                                         {"apertium-spa-eng", "mt", {"es"}, {"en", "en-US"}, 0, {}},
                                         {"copy", "mt", {"en"}, {"es"}, 0, {}}};
  EXPECT_TRUE(TranslatesPair(models[1], "en-US", "es"));
  EXPECT_FALSE(TranslatesPair(models[1], "es", "en"));
  EXPECT_FALSE(TranslatesPair(models[0], "en-US", "en-US"));  // a recognizer translates nothing
  EXPECT_THAT(TranslationPairs(models), ::testing::ElementsAre("en->es", "es->en", "es->en-US"));
}

TEST(Language, SynthesisRequestsMatchVoicesAndLanguages) {
  const ModelInfo tts{"espeak-ng", "tts", {"en-US", "es"}, {}, 22050,
                      {{"en-us", "en-US", "male"}, {"alloy", "en-US", "female"}, {"es", "es", "male"}}};
  const ModelInfo asr{"en-us", "asr", {"en-US"}, {}, 16000, {}};
  auto request = [](std::string voice, std::string language) {
    SynthesisRequest r;
    r.voice = std::move(voice);
    r.language_code = std::move(language);
    return r;
  };
  EXPECT_TRUE(SpeaksRequest(tts, request("alloy", "")));
  EXPECT_TRUE(SpeaksRequest(tts, request("en-us+klatt2", "en-GB")));  // a variant of a listed voice
  EXPECT_TRUE(SpeaksRequest(tts, request("", "es-MX")));
  EXPECT_FALSE(SpeaksRequest(tts, request("", "fr")));
  EXPECT_FALSE(SpeaksRequest(tts, request("nova", "")));
  EXPECT_FALSE(SpeaksRequest(tts, request("alloy", "es")));  // the voice speaks English
  EXPECT_FALSE(SpeaksRequest(asr, request("", "en-US")));
  SynthesisRequest other_model = request("", "en");
  other_model.model = "piper";
  EXPECT_FALSE(SpeaksRequest(tts, other_model));
  ASSERT_NE(FindVoice(tts, "en-us+klatt"), nullptr);
  EXPECT_EQ(FindVoice(tts, "en-us+klatt")->name, "en-us");
  EXPECT_THAT(VoiceNames({tts, asr, tts}), ::testing::ElementsAre("en-us", "alloy", "es"));
}

}  // namespace
}  // namespace voxgate::speech
