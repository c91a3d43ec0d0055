#include "router/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/fake_speech_service.h"

namespace voxgate::router {
namespace {

using ::testing::HasSubstr;

TEST(Router, MatchesExactThenPrimaryLanguage) {
  auto us = std::make_shared<testing::FakeSpeechService>();
  auto de = std::make_shared<testing::FakeSpeechService>();
  Router router({{"en", {"en-US"}, us}, {"de", {"de-DE", "de-AT"}, de}});
  EXPECT_EQ((*router.Match("en-US"))->pool_name, "en");
  EXPECT_EQ((*router.Match("EN-us"))->pool_name, "en");
  EXPECT_EQ((*router.Match("en"))->pool_name, "en");
  EXPECT_EQ((*router.Match("en-GB"))->pool_name, "en");
  EXPECT_EQ((*router.Match("de-AT"))->pool_name, "de");
  auto missing = router.Match("fr-FR");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("served languages: en-US, de-DE, de-AT"));
}

TEST(Router, StartsStreamsOnTheMatchedPool) {
  auto us = std::make_shared<testing::FakeSpeechService>();
  Router router({{"en", {"en-US"}, us}});
  auto observer = std::make_shared<testing::RecordingObserver>();
  speech::RecognitionConfig config;
  config.language_code = "en-US";
  auto stream = router.StartRecognition(config, observer);
  ASSERT_TRUE(stream.ok());
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(us->started(), 1);
  config.language_code = "ja";
  EXPECT_EQ(router.StartRecognition(config, observer).status().code(), absl::StatusCode::kNotFound);
}

TEST(Router, DescribeListsTheRoutesLanguages) {
  Router router({{"en", {"en-US", "en-GB"}, std::make_shared<testing::FakeSpeechService>(2)}});
  auto caps = router.Describe();
  ASSERT_TRUE(caps.ok());
  ASSERT_EQ(caps->models.size(), 1u);
  EXPECT_EQ(caps->models[0].language_codes, (std::vector<std::string>{"en-US", "en-GB"}));
  EXPECT_EQ(caps->capacity, 2);
  EXPECT_TRUE(router.IsServing());
  EXPECT_FALSE(Router({}).IsServing());
}

}  // namespace
}  // namespace voxgate::router
