#include "pool/engine_health.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace voxgate::pool {
namespace {

using std::chrono::seconds;

class EngineHealthTest : public ::testing::Test {
 protected:
  HealthPolicy policy_;
  testing::FakeClock clock_;
};

TEST_F(EngineHealthTest, NewEngineJoinsOnItsFirstPassingCheck) {
  EngineHealth h(policy_);
  EXPECT_EQ(h.state(clock_.Now()), EngineState::kStarting);
  EXPECT_FALSE(h.OnCheck(false));
  EXPECT_EQ(h.state(clock_.Now()), EngineState::kStarting);  // still loading, not "failed"
  EXPECT_TRUE(h.OnCheck(true));
  EXPECT_TRUE(h.InRotation(clock_.Now()));
}

TEST_F(EngineHealthTest, FailedEngineNeedsHealthyThresholdPassesToReturn) {
  policy_.healthy_threshold = 2;
  policy_.unhealthy_threshold = 1;
  EngineHealth h(policy_);
  h.OnCheck(true);
  EXPECT_TRUE(h.OnCheck(false));  // one failure is enough to leave
  EXPECT_EQ(h.state(clock_.Now()), EngineState::kUnhealthy);
  EXPECT_FALSE(h.OnCheck(true));
  EXPECT_FALSE(h.InRotation(clock_.Now()));
  EXPECT_TRUE(h.OnCheck(true));
  EXPECT_TRUE(h.InRotation(clock_.Now()));
}

TEST_F(EngineHealthTest, UnhealthyThresholdToleratesSingleFailures) {
  policy_.unhealthy_threshold = 3;
  EngineHealth h(policy_);
  h.OnCheck(true);
  h.OnCheck(false);
  h.OnCheck(false);
  h.OnCheck(true);  // resets the count
  h.OnCheck(false);
  h.OnCheck(false);
  EXPECT_TRUE(h.InRotation(clock_.Now()));
  h.OnCheck(false);
  EXPECT_FALSE(h.InRotation(clock_.Now()));
}

TEST_F(EngineHealthTest, ConsecutiveStreamFailuresAskForEjection) {
  policy_.consecutive_failures_to_eject = 3;
  EngineHealth h(policy_);
  h.OnCheck(true);
  EXPECT_FALSE(h.OnStreamFailure());
  EXPECT_FALSE(h.OnStreamFailure());
  h.OnStreamSuccess();  // not consecutive any more
  EXPECT_FALSE(h.OnStreamFailure());
  EXPECT_FALSE(h.OnStreamFailure());
  EXPECT_TRUE(h.OnStreamFailure());
}

TEST_F(EngineHealthTest, EjectionTimeGrowsWithEachEjectionUpToTheMaximum) {
  policy_.base_ejection = seconds(30);
  policy_.max_ejection = seconds(75);
  EngineHealth h(policy_);
  h.OnCheck(true);
  h.Eject(clock_.Now());
  EXPECT_EQ(h.state(clock_.Now()), EngineState::kEjected);
  clock_.Advance(seconds(29));
  EXPECT_FALSE(h.InRotation(clock_.Now()));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(h.InRotation(clock_.Now()));  // back after 30 s
  h.Eject(clock_.Now());
  clock_.Advance(seconds(59));
  EXPECT_FALSE(h.InRotation(clock_.Now()));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(h.InRotation(clock_.Now()));  // 60 s the second time
  h.Eject(clock_.Now());
  clock_.Advance(seconds(75));
  EXPECT_TRUE(h.InRotation(clock_.Now()));  // 90 s capped at 75 s
  EXPECT_EQ(h.ejections(), 3);
}

TEST_F(EngineHealthTest, AnEjectedEngineThatFailsChecksIsUnhealthy) {
  EngineHealth h(policy_);
  h.OnCheck(true);
  h.Eject(clock_.Now());
  h.OnCheck(false);
  EXPECT_EQ(h.state(clock_.Now()), EngineState::kUnhealthy);
  EXPECT_EQ(EngineStateName(h.state(clock_.Now())), "unhealthy");
}

}  // namespace
}  // namespace voxgate::pool
