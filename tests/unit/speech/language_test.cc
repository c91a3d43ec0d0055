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
  const std::vector<ModelInfo> models = {{"en-us", "asr", {"en-US"}, {}, 16000},
                                         {"apertium-eng-spa", "mt", {"en"}, {"es"}, 0},
                                         {"apertium-spa-eng", "mt", {"es"}, {"en", "en-US"}, 0},
                                         {"copy", "mt", {"en"}, {"es"}, 0}};
  EXPECT_TRUE(TranslatesPair(models[1], "en-US", "es"));
  EXPECT_FALSE(TranslatesPair(models[1], "es", "en"));
  EXPECT_FALSE(TranslatesPair(models[0], "en-US", "en-US"));  // a recognizer translates nothing
  EXPECT_THAT(TranslationPairs(models), ::testing::ElementsAre("en->es", "es->en", "es->en-US"));
}

}  // namespace
}  // namespace voxgate::speech
