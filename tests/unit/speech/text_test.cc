#include "speech/text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::speech {
namespace {

std::string ErrorOf(std::string_view text) { return std::string(CheckPlainText(text).message()); }

TEST(CheckPlainText, CountsCodePointsOfValidText) {
  size_t n = 0;
  ASSERT_TRUE(CheckPlainText("caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\n\tok\r", &n).ok());
  EXPECT_EQ(n, 13u);
  EXPECT_TRUE(CheckPlainText("").ok());
}

TEST(CheckPlainText, NamesTheFirstBadByte) {
  EXPECT_EQ(ErrorOf("ab\x07"), "control character 0x7 at byte 2");
  EXPECT_EQ(ErrorOf("a\x7f"), "control character 0x7f at byte 1");
  EXPECT_EQ(ErrorOf(std::string_view("a\0b", 3)), "control character 0x0 at byte 1");
  EXPECT_EQ(ErrorOf("caf\xe9"), "invalid UTF-8 at byte 3");          // Latin-1
  EXPECT_EQ(ErrorOf("\xc0\xaf"), "invalid UTF-8 at byte 0");         // overlong
  EXPECT_EQ(ErrorOf("\xed\xa0\x80"), "invalid UTF-8 at byte 0");     // a surrogate
  EXPECT_EQ(ErrorOf("\xf4\x90\x80\x80"), "invalid UTF-8 at byte 0"); // past U+10FFFF
  EXPECT_EQ(ErrorOf("ok\xe2\x98"), "invalid UTF-8 at byte 2");       // cut short
}

TEST(TranscriptForTranslation, GivesTheEnglishPronounItsCapital) {
  EXPECT_EQ(TranscriptForTranslation("i have two dogs and i'm happy", "en-US"), "I have two dogs and I'm happy");
  EXPECT_EQ(TranscriptForTranslation("if it is in italy i think", "en"), "if it is in italy I think");
  EXPECT_EQ(TranscriptForTranslation("i", "en-GB"), "I");
  EXPECT_EQ(TranscriptForTranslation("i", "es"), "i");  // only English
}

}  // namespace
}  // namespace voxgate::speech
