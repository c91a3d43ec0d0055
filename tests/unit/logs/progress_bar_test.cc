#include "logs/progress_bar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testing/fake_clock.h"

namespace voxgate::logs {
namespace {

class ProgressBarTest : public ::testing::Test {
 protected:
  ~ProgressBarTest() override {
    if (out_ != nullptr) std::fclose(out_);
    std::free(buffer_);
  }
  std::string Output() {
    std::fflush(out_);
    return std::string(buffer_, size_);
  }

  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* out_ = open_memstream(&buffer_, &size_);
  voxgate::testing::FakeClock clock_;
};

TEST_F(ProgressBarTest, RedrawsAtMostTenTimesASecond) {
  ProgressBar bar(out_, 1000000000, clock_);
  for (int i = 0; i < 1000; ++i) bar.Update(static_cast<uint64_t>(i) * 1000);  // no time passes
  EXPECT_EQ(bar.redraws(), 1);
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(std::chrono::milliseconds(50));
    bar.Update(500000000);
  }
  EXPECT_EQ(bar.redraws(), 16);  // 1.5 s: every other 50 ms step
  EXPECT_THAT(Output(), ::testing::HasSubstr("]  50.0%  500/1000 MB"));
  bar.Finish();
  EXPECT_THAT(Output(), ::testing::EndsWith("\r\033[K"));
}

TEST_F(ProgressBarTest, StdinHasNoTotalSoItShowsBytesRead) {
  ProgressBar bar(out_, 0, clock_);
  clock_.Advance(std::chrono::seconds(2));
  bar.Update(300000000);
  EXPECT_THAT(Output(), ::testing::HasSubstr("300 MB read  150 MB/s"));
}

}  // namespace
}  // namespace voxgate::logs
