#include "speech/word_error_rate.h"

#include <gtest/gtest.h>

namespace voxgate::speech {
namespace {

TEST(WordErrorRate, IdenticalTextsAfterNormalisation) {
  EXPECT_DOUBLE_EQ(WordErrorRate("Go forward, ten meters.", "go forward ten meters"), 0.0);
}

TEST(WordErrorRate, CountsSubstitutionsInsertionsDeletions) {
  // one substitution (ten -> two), one deletion (meters), one insertion (now): 3 / 4
  EXPECT_DOUBLE_EQ(WordErrorRate("go forward ten meters", "now go forward two"), 0.75);
}

TEST(WordErrorRate, EmptyReference) {
  EXPECT_DOUBLE_EQ(WordErrorRate("", ""), 0.0);
  EXPECT_DOUBLE_EQ(WordErrorRate("", "hello there"), 2.0);
}

TEST(NormalizedWords, KeepsApostrophesDropsPunctuation) {
  EXPECT_EQ(NormalizedWords("It's  A test!"), (std::vector<std::string>{"it's", "a", "test"}));
}

}  // namespace
}  // namespace voxgate::speech
