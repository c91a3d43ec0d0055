#include "pool/retry_budget.h"

#include <gtest/gtest.h>

namespace voxgate::pool {
namespace {

TEST(RetryBudgetTest, AShareOfActiveRequestsMayRetry) {
  RetryBudget budget(0.2, 3);
  int retried = 0;
  for (int i = 0; i < 100; ++i) retried += budget.TryAcquire(100);
  EXPECT_EQ(retried, 20);  // the rest fail fast instead of piling onto what is left
  EXPECT_EQ(budget.active_retries(), 20);
}

TEST(RetryBudgetTest, AFewMayAlwaysRetry) {
  RetryBudget budget(0.2, 3);
  int retried = 0;
  for (int i = 0; i < 4; ++i) retried += budget.TryAcquire(4);
  EXPECT_EQ(retried, 3);
}

TEST(RetryBudgetTest, AFinishedRetryGivesItsPlaceBack) {
  RetryBudget budget(0.0, 1);
  ASSERT_TRUE(budget.TryAcquire(2));
  EXPECT_FALSE(budget.TryAcquire(2));
  budget.Release();
  EXPECT_TRUE(budget.TryAcquire(2));
}

}  // namespace
}  // namespace voxgate::pool
