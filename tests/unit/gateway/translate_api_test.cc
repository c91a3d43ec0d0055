#include "gateway/protocols/translate/translate_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace voxgate::gateway::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TranslateApi, OneTextOrABatch) {
  auto one = ParseTranslateRequest(R"({"text": "Hello", "source": "en", "target": "es"})");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->single);
  EXPECT_THAT(one->request.texts, ElementsAre("Hello"));
  EXPECT_EQ(one->request.source_language, "en");
  EXPECT_EQ(one->request.target_language, "es");
  EXPECT_EQ(nlohmann::json::parse(RenderTranslateResponse(*one, {{"Hola"}, "apertium-eng-spa"})),
            nlohmann::json::parse(R"({"text": "Hola", "source": "en", "target": "es", "model": "apertium-eng-spa"})"));

  auto batch = ParseTranslateRequest(R"({"texts": ["a", "b"], "source": "en", "target": "es", "model": "m"})");
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_FALSE(batch->single);
  EXPECT_EQ(batch->request.model, "m");
  EXPECT_EQ(nlohmann::json::parse(RenderTranslateResponse(*batch, {{"x", "y"}, "m"}))["texts"], nlohmann::json({"x", "y"}));
}

TEST(TranslateApi, BadRequestsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "the body is not valid JSON: parse error at line 1, column 2"},
      {"{\"text\": \"caf\xe9\"}", "is not valid JSON"},  // latin-1, not UTF-8
      {"[1]", "must be a JSON object"},
      {R"({"source": "en", "target": "es"})", "exactly one of"},
      {R"({"text": "a", "texts": ["b"], "source": "en", "target": "es"})", "exactly one of"},
      {R"({"text": 3, "source": "en", "target": "es"})", "\"text\" must be a string"},
      {R"({"texts": [], "source": "en", "target": "es"})", "non-empty list"},
      {R"({"texts": ["a", 1], "source": "en", "target": "es"})", "non-empty list"},
      {R"({"text": "a", "target": "es"})", "\"source\" is required"},
      {R"({"text": "a", "source": "en"})", "\"target\" is required"},
      {R"({"text": "a", "source": "en", "target": "es", "formality": "high"})", "unknown key \"formality\""},
  };
  for (const auto& [body, message] : cases) {
    auto r = ParseTranslateRequest(body);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message)) << body;
  }
}

TEST(TranslateApi, LanguagePairsListEveryTranslationModel) {
  speech::Capabilities caps;
  caps.models.push_back({"en-us", "asr", {"en-US"}, {}, 16000, {}});
  caps.models.push_back({"apertium-eng-spa", "mt", {"en"}, {"es"}, 0, {}});
  EXPECT_EQ(nlohmann::json::parse(RenderLanguagePairs(caps)),
            nlohmann::json::parse(R"({"pairs": [{"source": "en", "target": "es", "model": "apertium-eng-spa"}]})"));
}

}  // namespace
}  // namespace voxgate::gateway::translate
