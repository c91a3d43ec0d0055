#include "pool/wait_queue.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/fake_speech_service.h"

namespace voxgate::pool {
namespace {

using std::chrono::seconds;

class NoEngines : public EngineSource {
 public:
  void RequestEngine(std::shared_ptr<PooledStream>, std::optional<size_t>) override {}
  bool Withdraw(const PooledStream*) override { return false; }
  void EngineStreamDone(size_t, const PooledStream*, const absl::Status&) override {}
  void CountFailover(double) override {}
  void ReportEngineFailure(size_t, const absl::Status&) override {}
};

class WaitQueueTest : public ::testing::Test {
 protected:
  std::shared_ptr<PooledStream> NewStream() {
    return std::make_shared<PooledStream>(PooledStream::Options{}, speech::RecognitionConfig{},
                                          std::make_shared<testing::RecordingObserver>(), source_);
  }
  std::shared_ptr<NoEngines> source_ = std::make_shared<NoEngines>();
  testing::FakeClock clock_;
};

TEST_F(WaitQueueTest, BoundedButFailoversAlwaysGetIn) {
  WaitQueue q(2);
  EXPECT_TRUE(q.Push({NewStream(), clock_.Now() + seconds(5), std::nullopt}));
  EXPECT_TRUE(q.Push({NewStream(), clock_.Now() + seconds(5), std::nullopt}));
  EXPECT_FALSE(q.Push({NewStream(), clock_.Now() + seconds(5), std::nullopt}));
  EXPECT_TRUE(q.Push({NewStream(), clock_.Now() + seconds(30), 1}, /*always=*/true));
  EXPECT_EQ(q.size(), 3u);
}

TEST_F(WaitQueueTest, ExpiresOnlyWaitersPastTheirDeadlineOldestFirst) {
  WaitQueue q(10);
  auto a = NewStream(), b = NewStream(), c = NewStream();
  q.Push({a, clock_.Now() + seconds(5), std::nullopt});
  q.Push({b, clock_.Now() + seconds(30), std::nullopt});
  clock_.Advance(seconds(1));
  q.Push({c, clock_.Now() + seconds(5), std::nullopt});
  EXPECT_EQ(q.NextDeadline(), clock_.Now() + seconds(4));
  clock_.Advance(seconds(4));
  EXPECT_TRUE(q.PopExpired(clock_.Now() - core::Duration(1)).empty());
  auto expired = q.PopExpired(clock_.Now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].stream, a);
  clock_.Advance(seconds(1));
  expired = q.PopExpired(clock_.Now());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].stream, c);
  EXPECT_EQ(q.Front()->stream, b);
}

TEST_F(WaitQueueTest, RemoveHandsBackTheStream) {
  WaitQueue q(10);
  auto a = NewStream(), b = NewStream();
  q.Push({a, clock_.Now(), std::nullopt});
  EXPECT_EQ(q.Remove(b.get()), nullptr);
  EXPECT_EQ(q.Remove(a.get()), a);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace voxgate::pool
