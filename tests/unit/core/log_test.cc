#include "core/log.h"

#include <gtest/gtest.h>

namespace voxgate::core {
namespace {

TEST(Log, Rfc3339UtcWithMicroseconds) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1795428000123456LL));
  EXPECT_EQ(FormatRfc3339Utc(t), "2026-11-23T10:00:00.123456Z");
}

TEST(Log, SeverityNamesAreCloudLoggingNames) {
  EXPECT_EQ(SeverityName(Severity::kWarning), "WARNING");
  EXPECT_EQ(SeverityName(Severity::kCritical), "CRITICAL");
}

TEST(Log, InvalidUtf8DoesNotThrow) {
  EXPECT_NO_THROW(LogInfo("bad \xff\xfe bytes", {{"field", "\xc3"}}));
  FlushLogs();
  EXPECT_EQ(DroppedLogLines(), 0u);
}

}  // namespace
}  // namespace voxgate::core
