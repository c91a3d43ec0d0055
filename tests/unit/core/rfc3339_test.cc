#include "core/rfc3339.h"

#include <gtest/gtest.h>

namespace voxgate::core {
namespace {

TEST(Rfc3339, FormatsWithTheFractionAskedFor) {
  const int64_t t = 1764583200123456;  // 2025-12-01T10:00:00.123456Z
  EXPECT_EQ(FormatRfc3339(t, 6), "2025-12-01T10:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339(t, 3), "2025-12-01T10:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(t, 0), "2025-12-01T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(-1000, 3), "1969-12-31T23:59:59.999Z");  // floor, not toward zero
}

TEST(Rfc3339, ParseReadsWhatFormatWrites) {
  for (int64_t t : {int64_t{0}, int64_t{1764583200123456}, int64_t{-1000}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(t, 6)), t);
  }
  EXPECT_EQ(ParseRfc3339("2025-12-01T11:00:00.123456+01:00"), 1764583200123456);
  EXPECT_EQ(ParseRfc3339("2025-12-01T10:00:00"), std::nullopt);  // no zone
}

}  // namespace
}  // namespace voxgate::core
