#include "cli/status_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::cli {
namespace {

using ::testing::HasSubstr;

TEST(StatusTable, OneLinePerEngineAlignedInColumns) {
  auto table = FormatStatusTable(R"({"pools": [{"name": "asr-en", "queued": 3, "engines": [
      {"address": "unix:/run/e0.sock", "state": "healthy", "outstanding": 2, "capacity": 4, "last_check": "ok"},
      {"address": "10.0.0.7:50051", "state": "ejected", "outstanding": 0, "capacity": 8, "last_check": "ok"}]}]})");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(*table,
            "POOL    ENGINE             STATE    STREAMS  LAST CHECK\n"
            "asr-en  unix:/run/e0.sock  healthy  2/4      ok\n"
            "asr-en  10.0.0.7:50051     ejected  0/8      ok\n"
            "asr-en  (queue)            waiting  3        \n");
}

TEST(StatusTable, SomethingElseIsAClearError) {
  auto table = FormatStatusTable("<html>not found</html>");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(std::string(table.status().message()), HasSubstr("not what voxctl understands"));
}

}  // namespace
}  // namespace voxgate::cli
