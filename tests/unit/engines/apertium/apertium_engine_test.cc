#include "engines/apertium/apertium_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engines/apertium/internal/pipeline.h"
#include "testing/translate_sync.h"

namespace voxgate::engines::apertium {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<speech::TranslationResponse> TranslateSync(ApertiumEngine& engine, std::vector<std::string> texts,
                                                          std::string from = "en", std::string to = "es") {
  speech::TranslationRequest r;
  r.texts = std::move(texts);
  r.source_language = std::move(from);
  r.target_language = std::move(to);
  return testing::TranslateSync(engine, std::move(r));
}

TEST(ApertiumNames, InstalledPairsGetClientLanguageCodes) {
  EXPECT_EQ(ToBcp47("eng"), "en");
  EXPECT_EQ(ToBcp47("eng_US"), "en-US");
  EXPECT_EQ(ToBcp47("ast"), "ast");  // no two-letter code
  const auto pairs = FindLanguagePairs("/usr/share/apertium/modes");
  std::vector<std::string> names;
  for (const auto& p : pairs) names.push_back(p.mode + ":" + p.source + "->" + p.target);
  EXPECT_THAT(names, Contains("eng-spa:en->es"));  // apertium-eng-spa, installed by make deps
  EXPECT_THAT(names, Contains("spa-eng:es->en"));
}

TEST(ApertiumText, ReservedCharactersAreEscapedBothWays) {
  const std::string text = R"(a\b [c] ^d$ e/f @g <h> {i})";
  EXPECT_EQ(internal::EscapeForApertium("[x]"), R"(\[x\])");
  EXPECT_EQ(internal::UnescapeFromApertium(internal::EscapeForApertium(text)), text);
}

TEST(ApertiumText, BadTextIsRefusedWithTheReason) {
  EXPECT_TRUE(ValidateText("café ☕ 😀\nnext line\ttab", 100).ok());
  EXPECT_THAT(std::string(ValidateText("  \n", 100).message()), HasSubstr("empty"));
  EXPECT_EQ(ValidateText(std::string(101, 'a'), 100).code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(ValidateText("a\x01" "b", 100).message()), HasSubstr("control character 0x1 at byte 1"));
  EXPECT_THAT(std::string(ValidateText("a\x7f", 100).message()), HasSubstr("control character"));
  for (const char* bad : {"\xc3", "\xc3(", "\xe2\x82", "\xed\xa0\x80" /* surrogate */, "\xc0\xaf" /* overlong */, "\xf5\x80\x80\x80"}) {
    EXPECT_THAT(std::string(ValidateText(bad, 100).message()), HasSubstr("invalid UTF-8")) << bad;
  }
}

class ApertiumEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ApertiumEngine::Options options;
    options.source_languages = {"en"};
    options.pipelines_per_pair = 2;
    auto e = ApertiumEngine::Create(options);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  static void TearDownTestSuite() { engine_.reset(); }
  static std::shared_ptr<ApertiumEngine> engine_;
};
std::shared_ptr<ApertiumEngine> ApertiumEngineTest::engine_;

TEST_F(ApertiumEngineTest, TranslatesEnglishToSpanish) {
  auto r = TranslateSync(*engine_, {"Hello world.", "The cat is black.", "How are you?\nI am well."});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->texts, ElementsAre("Hola Mundo.", "El gato es negro.", "Cómo eres?\nSoy bien."));  // line breaks kept
  EXPECT_EQ(r->model, "apertium-eng-spa");
  auto caps = engine_->Describe();
  ASSERT_EQ(caps->models.size(), 1u);  // only English sources were asked for
  EXPECT_EQ(caps->models[0].target_language_codes, std::vector<std::string>{"es"});
}

TEST_F(ApertiumEngineTest, ConcurrentRequestsGetTheirOwnAnswers) {
  const std::vector<std::string> sentences = {"The house is big.", "I like green apples.", "We go to the beach tomorrow.",
                                              "She reads a book."};
  std::vector<std::string> serial;
  for (const auto& s : sentences) serial.push_back(TranslateSync(*engine_, {s})->texts[0]);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const size_t k = (t + i) % sentences.size();
        auto r = TranslateSync(*engine_, {sentences[k]});
        if (!r.ok() || r->texts[0] != serial[k]) mismatches++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, 0);
}

TEST_F(ApertiumEngineTest, BadRequestsGetClearErrors) {
  auto unknown = TranslateSync(*engine_, {"Hello"}, "en", "de");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("installed: en->es"));
  EXPECT_EQ(TranslateSync(*engine_, {}).status().code(), absl::StatusCode::kInvalidArgument);
  auto empty = TranslateSync(*engine_, {"fine", ""});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("text 1: empty"));
  EXPECT_EQ(TranslateSync(*engine_, {std::string(20000, 'a')}).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(TranslateSync(*engine_, {"bad \xff byte"}).status().code(), absl::StatusCode::kInvalidArgument);
  // Apertium's own syntax in the text is text, not instructions.
  auto markup = TranslateSync(*engine_, {"The [cat] ^is$ <b>black</b>."});
  ASSERT_TRUE(markup.ok()) << markup.status();
  EXPECT_THAT(markup->texts[0], HasSubstr("[")) << markup->texts[0];
  EXPECT_THAT(markup->texts[0], HasSubstr("<b>")) << markup->texts[0];
}

// Pipelines that misbehave, written as mode files (apertium-wblank-mode adds -z to each program).
class MisbehavingPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/eng-zzz.mode") << "sed -u s/^//\n";          // echoes: an identity "translator"
    std::ofstream(dir_ + "/eng-yyy.mode") << "sed -u -n s/x//\n";       // never answers: hung
    std::ofstream(dir_ + "/eng-xxx.mode") << "sed -u s/[a-zA-Z]//g\n";  // answers nothing for letters
    ApertiumEngine::Options options;
    options.modes_dir = dir_;
    options.line_timeout = std::chrono::milliseconds(300);
    auto e = ApertiumEngine::Create(options);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_ = std::filesystem::temp_directory_path() / ("voxgate-apertium-test-" + std::to_string(getpid()));
  std::shared_ptr<ApertiumEngine> engine_;
};

TEST_F(MisbehavingPipelineTest, TextRoundTripsUnchangedThroughAnIdentityPipeline) {
  const std::string text = R"(a\b [c] ^d$ e/f @g <h> {i} café)";
  auto r = TranslateSync(*engine_, {text}, "en", "zzz");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->texts[0], text);
}

TEST_F(MisbehavingPipelineTest, AHungPipelineIsReplacedAndTheRequestFailsInTime) {
  const auto start = std::chrono::steady_clock::now();
  auto r = TranslateSync(*engine_, {"hello"}, "en", "yyy");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  // Two attempts of 300 ms (the second on a new pipeline), not the request's 30 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(TranslateSync(*engine_, {"again"}, "en", "yyy").status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(TranslateSync(*engine_, {"the others still work"}, "en", "zzz").ok());
}

TEST_F(MisbehavingPipelineTest, ATranslatorThatProducesNothingIsAClearError) {
  auto r = TranslateSync(*engine_, {"hello"}, "en", "xxx");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("produced no output"));
}

}  // namespace
}  // namespace voxgate::engines::apertium
