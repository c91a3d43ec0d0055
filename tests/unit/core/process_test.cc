#include "core/process.h"

#include <thread>

#include <gtest/gtest.h>

namespace voxgate::core {
namespace {

TEST(CgroupQuota, CpuMaxGivesWholeCoresRoundedUp) {
  EXPECT_EQ(CoresFromCpuMax("200000 100000"), 2);
  EXPECT_EQ(CoresFromCpuMax("150000 100000"), 2);  // 1.5 cores: two threads can use them
  EXPECT_EQ(CoresFromCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresFromCpuMax("max 100000"), 0);  // no limit
  EXPECT_EQ(CoresFromCpuMax(""), 0);            // no such file (cgroup v1, or not Linux)
  EXPECT_EQ(CoresFromCpuMax("garbage"), 0);
  EXPECT_EQ(CoresFromCpuMax("100000 0"), 0);
}

TEST(CgroupQuota, CfsQuotaOfCgroupV1) {
  EXPECT_EQ(CoresFromCfsQuota("300000", "100000"), 3);
  EXPECT_EQ(CoresFromCfsQuota("-1", "100000"), 0);  // no limit
  EXPECT_EQ(CoresFromCfsQuota("", ""), 0);
}

TEST(UsableCpus, AtLeastOneAndNoMoreThanTheMachineHas) {
  const int cpus = UsableCpus();
  EXPECT_GE(cpus, 1);
  if (std::thread::hardware_concurrency() > 0) {
    EXPECT_LE(cpus, static_cast<int>(std::thread::hardware_concurrency()));
  }
}

}  // namespace
}  // namespace voxgate::core
