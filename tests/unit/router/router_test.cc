#include "router/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "core/metrics.h"
#include "speech/language.h"
#include "testing/fake_speech_service.h"
#include "testing/synthesize_sync.h"
#include "testing/wait_for.h"

namespace voxgate::router {
namespace {

using ::testing::HasSubstr;
using testing::FakeSpeechService;
using testing::RecordingObserver;
using testing::WaitFor;

Route To(const std::string& language, const std::string& name, speech::SpeechServicePtr pool, const std::string& model = "") {
  Route r;
  r.language = language;
  r.model = model;
  r.targets.push_back({{name, std::move(pool)}, 1});
  return r;
}

// Runs one stream of `samples` samples through `router` and returns its final transcript.
std::string RunStreamWith(Router& router, const speech::RecognitionConfig& config, size_t samples = 160) {
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = router.StartRecognition(config, observer);
  EXPECT_TRUE(stream.ok()) << stream.status();
  EXPECT_TRUE((*stream)->Write(std::vector<int16_t>(samples, 0)).ok());
  (*stream)->Finish();
  EXPECT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  return observer->results().empty() ? "" : observer->results().back().transcript;
}
std::string RunStream(Router& router, size_t samples = 160) { return RunStreamWith(router, {}, samples); }

TEST(Router, TheMostSpecificRouteWins) {
  auto any = std::make_shared<FakeSpeechService>();
  Router router({To("*", "any", any), To("en-US", "en-us", any), To("en", "english", any), To("de-DE", "de", any),
                 To("en-US", "named-model", any, "big")});
  EXPECT_EQ((*router.Match("asr", "en-US"))->targets[0].pool.name, "en-us");
  EXPECT_EQ((*router.Match("asr", "EN-us"))->targets[0].pool.name, "en-us");
  EXPECT_EQ((*router.Match("asr", "en-GB"))->targets[0].pool.name, "english");  // "en" beats another English
  EXPECT_EQ((*router.Match("asr", "de-AT"))->targets[0].pool.name, "de");        // only German there is
  EXPECT_EQ((*router.Match("asr", "ja"))->targets[0].pool.name, "any");
  EXPECT_EQ((*router.Match("asr", "en-US", "big"))->targets[0].pool.name, "named-model");
  EXPECT_EQ((*router.Match("asr", "en-US", "small"))->targets[0].pool.name, "en-us");
}

TEST(Router, AnApiKeyPlanHasItsOwnRoutes) {
  auto free_pool = std::make_shared<FakeSpeechService>();
  auto fast_pool = std::make_shared<FakeSpeechService>();
  Route premium = To("*", "fast", fast_pool);
  premium.plan = "premium";
  Router router({To("en-US", "free", free_pool), To("en-US", "named-model", free_pool, "big"), premium});
  EXPECT_EQ((*router.Match("asr", "en-US", "", "premium"))->targets[0].pool.name, "fast");
  EXPECT_EQ((*router.Match("asr", "en-US", "big", "premium"))->targets[0].pool.name, "fast");  // the plan beats all
  EXPECT_EQ((*router.Match("asr", "en-US", "", "basic"))->targets[0].pool.name, "free");
  EXPECT_EQ((*router.Match("asr", "en-US"))->targets[0].pool.name, "free");
  EXPECT_EQ(router.Match("asr", "ja").status().code(), absl::StatusCode::kNotFound);  // only premium has "*"
  speech::RecognitionConfig config;
  config.plan = "premium";
  RunStreamWith(router, config);
  EXPECT_EQ(fast_pool->started(), 1);
  EXPECT_EQ(free_pool->started(), 0);
}

// The router decides to fall back to another region; an engine matches regions strictly (the
// fake serves "en-US" only, as the pocketsphinx engine does), so it is asked for its route's.
TEST(Router, APoolIsAskedForTheRegionItsRouteServes) {
  auto us = std::make_shared<FakeSpeechService>();
  auto any_english = std::make_shared<FakeSpeechService>();
  Route mt = To("en", "mt-en", any_english);
  mt.service = "mt";
  Route tts = To("en-US", "tts-en-us", us);
  tts.service = "tts";
  Router router({To("en-US", "asr-en-us", us), mt, tts});
  speech::RecognitionConfig config;
  for (const char* language : {"en-GB", "EN-us", "en"}) {
    config.language_code = language;
    RunStreamWith(router, config);
    EXPECT_EQ(us->last_config().language_code, "en-US") << language;
  }
  EXPECT_EQ(us->started(), 3);
  // Behind "en", the request's region goes on: the engine serves every English and may use it.
  speech::TranslationRequest translation;
  translation.texts = {"hello"};
  translation.source_language = "en-GB";
  translation.target_language = "es";
  router.Translate(translation, [](absl::StatusOr<speech::TranslationResponse>) {});
  EXPECT_EQ(any_english->last_language(), "en-GB");
  auto speech = std::make_shared<testing::SynthesisRecorder>();
  speech::SynthesisRequest request = testing::SpeechOf("hi");
  request.language_code = "en-GB";
  router.Synthesize(request, speech);
  ASSERT_TRUE(speech->Wait().ok()) << speech->Wait();
  EXPECT_EQ(us->last_language(), "en-US");
}

TEST(Router, TranslationsAreRoutedOnTheSourceLanguage) {
  auto en = std::make_shared<FakeSpeechService>();
  Route mt = To("en", "mt-en", en);
  mt.service = "mt";
  Router router({To("en-US", "asr-en", en), mt});
  speech::TranslationRequest request;
  request.texts = {"hello"};
  request.source_language = "en-GB";
  request.target_language = "es";
  absl::StatusOr<speech::TranslationResponse> result = absl::UnknownError("not called");
  router.Translate(request, [&](absl::StatusOr<speech::TranslationResponse> r) { result = std::move(r); });
  ASSERT_TRUE(result.ok()) << result.status();  // the fake answers at once
  EXPECT_EQ(result->texts[0], "[es] hello");
  request.source_language = "fr";
  router.Translate(request, [&](absl::StatusOr<speech::TranslationResponse> r) { result = std::move(r); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("translates from language \"fr\"; served languages: en"));
}

TEST(Router, SynthesisIsRoutedOnTheLanguageOrTheVoicesLanguage) {
  auto fake = std::make_shared<FakeSpeechService>();
  Route tts = To("en", "tts-en", fake);
  tts.service = "tts";
  Router router({To("en-US", "asr-en", fake), tts});
  auto by_voice = std::make_shared<testing::SynthesisRecorder>();
  speech::SynthesisRequest request = testing::SpeechOf("hi", "fake-voice");
  request.language_code.clear();  // the voice's language (en-US) routes it
  router.Synthesize(request, by_voice);
  ASSERT_TRUE(by_voice->Wait().ok()) << by_voice->Wait();
  EXPECT_EQ(by_voice->chunks(), 2);
  auto unknown = std::make_shared<testing::SynthesisRecorder>();
  request.voice = "nova";
  router.Synthesize(request, unknown);
  EXPECT_EQ(unknown->Wait().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown->Wait().message()), HasSubstr("unknown voice \"nova\"; voices: fake-voice"));
  auto french = std::make_shared<testing::SynthesisRecorder>();
  request = testing::SpeechOf("salut");
  request.language_code = "fr";
  router.Synthesize(request, french);
  EXPECT_THAT(std::string(french->Wait().message()), HasSubstr("no engine speaks language \"fr\"; served languages: en"));
  EXPECT_EQ(fake->syntheses(), 1);
}

TEST(Router, AVoiceNotFoundBeforeASynthesisPoolHasSaidWhatItSpeaksIsOneToRetry) {
  auto up = std::make_shared<FakeSpeechService>(), loading = std::make_shared<FakeSpeechService>();
  Route tts_en = To("en", "tts-en", up), tts_de = To("de", "tts-de", loading);
  tts_en.service = tts_de.service = "tts";
  Router router({tts_en, tts_de});
  loading->set_serving(false);
  loading->set_incomplete(true);  // its engines have not said what they speak yet
  EXPECT_TRUE(router.Describe()->incomplete);
  speech::SynthesisRequest request = testing::SpeechOf("hallo", "nova");
  request.language_code.clear();
  auto waiting = std::make_shared<testing::SynthesisRecorder>();
  router.Synthesize(request, waiting);
  EXPECT_EQ(waiting->Wait().code(), absl::StatusCode::kUnavailable) << waiting->Wait();
  EXPECT_THAT(std::string(waiting->Wait().message()), HasSubstr("pool \"tts-de\" has not said what it speaks yet; retry"));
  // Down, but it said what it speaks before: an unknown voice is unknown.
  loading->set_incomplete(false);
  EXPECT_FALSE(router.Describe()->incomplete);
  auto unknown = std::make_shared<testing::SynthesisRecorder>();
  router.Synthesize(request, unknown);
  EXPECT_EQ(unknown->Wait().code(), absl::StatusCode::kNotFound) << unknown->Wait();
}

TEST(Router, NoMatchNamesWhatIsServed) {
  Router router({To("en-US", "en", std::make_shared<FakeSpeechService>()), To("de-DE", "de", std::make_shared<FakeSpeechService>())});
  auto missing = router.Match("asr", "fr-FR");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("served languages: en-US, de-DE"));
  EXPECT_EQ(router.Match("tts", "en-US").status().code(), absl::StatusCode::kNotFound);
  speech::RecognitionConfig config;
  config.language_code = "ja";
  EXPECT_EQ(router.StartRecognition(config, std::make_shared<RecordingObserver>()).status().code(),
            absl::StatusCode::kNotFound);
}

// Something that is no language tag at all is a bad request (400), not a language no engine
// serves (404).
TEST(Router, WhatIsNoLanguageTagIsABadRequest) {
  Router router({To("en-US", "en", std::make_shared<FakeSpeechService>())});
  for (const char* bad : {"-en", "en-", "en ", "en\x01", "e", "en--US", "123", "en-toolongsubtag"}) {
    auto match = router.Match("asr", bad);
    EXPECT_EQ(match.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(match.status().message()), HasSubstr("is not a language tag such as en-US")) << bad;
  }
  for (const char* good : {"en-US", "en_us", "EN", "zh-Hant-TW", "es-419"}) {
    EXPECT_NE(router.Match("asr", good).status().code(), absl::StatusCode::kInvalidArgument) << good;
  }
}

TEST(Router, CanarySplitFollowsTheWeights) {
  auto stable = std::make_shared<FakeSpeechService>(2000), canary = std::make_shared<FakeSpeechService>(2000);
  Route route;
  route.language = "en-US";
  route.targets = {{{"stable", stable}, 95}, {{"canary", canary}, 5}};
  Router router({route}, /*seed=*/7);
  const int n = 2000;
  std::vector<speech::RecognitionStreamPtr> streams;
  for (int i = 0; i < n; ++i) streams.push_back(*router.StartRecognition({}, std::make_shared<RecordingObserver>()));
  // Binomial(2000, 0.05): mean 100, sd 9.7; 4 sd either side.
  EXPECT_NEAR(canary->started(), 100, 39);
  EXPECT_EQ(stable->started() + canary->started(), n);
  for (auto& s : streams) s->Cancel();
}

TEST(Router, DescribeListsEachModelWithTheRoutesLanguages) {
  auto en = std::make_shared<FakeSpeechService>(2);
  Router router({To("en-US", "en", en), To("en-GB", "en", en)});
  auto caps = router.Describe();
  ASSERT_TRUE(caps.ok());
  ASSERT_EQ(caps->models.size(), 1u);
  EXPECT_EQ(caps->models[0].language_codes, (std::vector<std::string>{"en-US", "en-GB"}));
  EXPECT_EQ(caps->capacity, 2);  // one pool behind two routes counts once
  EXPECT_TRUE(router.IsServing());
  EXPECT_FALSE(Router({}).IsServing());
}

TEST(Router, ATranslationModelBehindSeveralRoutesKeepsItsOwnPairs) {
  auto mt = std::make_shared<FakeSpeechService>(2);
  Route en = To("en", "mt", mt), es = To("es", "mt", mt);
  en.service = es.service = "mt";
  auto caps = Router({en, es}).Describe();
  ASSERT_TRUE(caps.ok());
  ASSERT_EQ(caps->models.size(), 1u);
  EXPECT_EQ(caps->models[0].name, "fake-mt");
  EXPECT_EQ(speech::TranslationPairs(caps->models), (std::vector<std::string>{"en->es"})) << "not es->es";
}

TEST(Router, ServesOnceEveryRouteHasServedThenWhileAnyRouteHasAServingPool) {
  auto asr = std::make_shared<FakeSpeechService>(2), tts = std::make_shared<FakeSpeechService>(2);
  Router router({To("en-US", "asr", asr), To("en-US", "tts", tts)});
  asr->set_serving(false);  // still loading: not ready before everything it serves has loaded
  EXPECT_FALSE(router.IsServing());
  asr->set_serving(true);
  EXPECT_TRUE(router.IsServing());
  tts->set_serving(false);  // later no ready TTS engine pod: speech recognition still works
  EXPECT_TRUE(router.IsServing());
  asr->set_serving(false);
  EXPECT_FALSE(router.IsServing());
  tts->set_serving(true);
  EXPECT_TRUE(router.IsServing());
}

class ShadowTest : public ::testing::Test {
 protected:
  // A route that mirrors every stream from `primary_` to `shadow_`, under unique pool names so
  // each test reads its own metrics.
  Router MakeRouter(const std::string& tag) {
    primary_name_ = "primary-" + tag;
    shadow_name_ = "shadow-" + tag;
    Route route = To("*", primary_name_, primary_);
    route.shadow = {shadow_name_, shadow_};
    route.shadow_share = 1;
    return Router({route});
  }
  core::Labels Labels() const { return {{"pool", primary_name_}, {"shadow_pool", shadow_name_}}; }
  double Comparisons(const std::string& outcome) const {
    auto labels = Labels();
    labels.emplace_back("outcome", outcome);
    return core::Metrics().GetCounter("voxgate_shadow_comparisons_total", "", labels).value();
  }
  core::Histogram::Snapshot Wer() const {
    return core::Metrics().GetHistogram("voxgate_shadow_word_error_rate", "", {0, 0.01, 0.05, 0.1, 0.25, 0.5, 1}, Labels()).snapshot();
  }

  std::shared_ptr<FakeSpeechService> primary_ = std::make_shared<FakeSpeechService>();
  std::shared_ptr<FakeSpeechService> shadow_ = std::make_shared<FakeSpeechService>();
  std::string primary_name_, shadow_name_;
};

TEST_F(ShadowTest, IdenticalEnginesCompareEqual) {
  Router router = MakeRouter("same");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(RunStream(router), "160 samples");
  ASSERT_TRUE(WaitFor([&] { return Comparisons("compared") == 3; }));
  EXPECT_EQ(Wer().count, 3u);
  EXPECT_EQ(Wer().sum, 0);
  EXPECT_EQ(shadow_->started(), 3);
}

TEST_F(ShadowTest, ADifferentEngineShowsADifferenceButTheClientSeesOnlyThePrimary) {
  shadow_->SetFinalSuffix("extra");
  Router router = MakeRouter("different");
  EXPECT_EQ(RunStream(router), "160 samples");
  ASSERT_TRUE(WaitFor([&] { return Comparisons("compared") == 1; }));
  EXPECT_DOUBLE_EQ(Wer().sum, 0.5);  // one word inserted into two
}

TEST_F(ShadowTest, TheClientsCallReportIsThePrimarysOnly) {
  Router router = MakeRouter("report");
  speech::RecognitionConfig config;
  config.report = std::make_shared<speech::CallReport>();
  EXPECT_EQ(RunStreamWith(router, config), "160 samples");
  ASSERT_TRUE(WaitFor([&] { return Comparisons("compared") == 1; }));
  EXPECT_EQ(primary_->last_config().report, config.report);
  // Else the client's access line would name the shadow's pool and add its engine time.
  EXPECT_EQ(shadow_->last_config().report, nullptr);
}

TEST_F(ShadowTest, AFailingShadowNeverAffectsThePrimary) {
  shadow_->FailStreamsWith(absl::InternalError("shadow broke"));
  Router router = MakeRouter("failing");
  EXPECT_EQ(RunStream(router), "160 samples");
  ASSERT_TRUE(WaitFor([&] { return Comparisons("shadow_failed") == 1; }));
  // A shadow that refuses the stream outright does not stop it either.
  auto full = std::make_shared<FakeSpeechService>(0);
  Route route = To("*", "primary-refused", primary_);
  route.shadow = {"shadow-refused", full};
  route.shadow_share = 1;
  Router refused({route});
  EXPECT_EQ(RunStream(refused), "160 samples");
}

TEST_F(ShadowTest, AShadowThatFallsBehindIsLetGo) {
  shadow_ = std::make_shared<FakeSpeechService>(4, /*max_buffered_samples=*/1000);
  shadow_->SetPaused(true);
  Router router = MakeRouter("slow");
  EXPECT_EQ(RunStream(router, 4000), "4000 samples");  // the primary is not held back
  shadow_->SetPaused(false);
  ASSERT_TRUE(WaitFor([&] { return Comparisons("shadow_failed") == 1; }));
}

}  // namespace
}  // namespace voxgate::router
