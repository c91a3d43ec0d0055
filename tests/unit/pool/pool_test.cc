#include "pool/pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "rpc/engine_server.h"
#include "testing/fake_speech_service.h"
#include "testing/grpc_callback_queue.h"

namespace voxgate::pool {
namespace {

using ::testing::HasSubstr;
using testing::FakeSpeechService;
using testing::RecordingObserver;

// Two fake engines behind real gRPC servers, and a pool over them.
class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpcCallbackQueue();
    std::vector<std::shared_ptr<rpc::RemoteSpeechService>> remotes;
    for (int i = 0; i < 2; ++i) {
      fakes_.push_back(std::make_shared<FakeSpeechService>(2));
      const std::string socket = dir_ + "/e" + std::to_string(i) + ".sock";
      auto server = rpc::EngineServer::Start(fakes_.back(), "unix:" + socket);
      ASSERT_TRUE(server.ok());
      (*server)->SetServing(true);
      servers_.push_back(std::move(*server));
      remotes.push_back(std::make_shared<rpc::RemoteSpeechService>("unix:" + socket, rpc::RemoteSpeechService::Options{}));
    }
    Pool::Options options;
    options.name = "test";
    options.health_interval = std::chrono::milliseconds(50);
    options.startup_probe_interval = std::chrono::milliseconds(20);
    pool_ = std::make_shared<Pool>(options, remotes);
    pool_->Start();
    ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 2; }));
  }
  void TearDown() override {
    pool_.reset();
    for (auto& s : servers_) s->Shutdown(std::chrono::milliseconds(100));
    std::filesystem::remove_all(dir_);
  }
  static bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 250; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string dir_ = [] {
    std::string d = std::filesystem::temp_directory_path() / ("voxgate-pool-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  std::vector<std::shared_ptr<FakeSpeechService>> fakes_;
  std::vector<std::unique_ptr<rpc::EngineServer>> servers_;
  std::shared_ptr<Pool> pool_;
};

TEST_F(PoolTest, SpreadsStreamsByLoadAndRefusesWhenFull) {
  std::vector<speech::RecognitionStreamPtr> streams;
  auto observer = std::make_shared<RecordingObserver>();
  for (int i = 0; i < 4; ++i) {
    auto s = pool_->StartRecognition({}, observer);
    ASSERT_TRUE(s.ok()) << s.status();
    streams.push_back(std::move(*s));
  }
  ASSERT_TRUE(WaitFor([&] { return fakes_[0]->active() == 2 && fakes_[1]->active() == 2; }));
  EXPECT_EQ(pool_->active_streams(), 4);
  auto refused = pool_->StartRecognition({}, observer);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("over capacity: all 4 streams"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("retry after"));
  streams[0]->Finish();
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 3; }));
  EXPECT_TRUE(pool_->StartRecognition({}, std::make_shared<RecordingObserver>()).ok());
}

TEST_F(PoolTest, UnhealthyEngineLeavesRotation) {
  servers_[0]->SetServing(false);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 1; }));
  std::vector<speech::RecognitionStreamPtr> streams;
  for (int i = 0; i < 2; ++i) {
    auto s = pool_->StartRecognition({}, std::make_shared<RecordingObserver>());
    ASSERT_TRUE(s.ok());
    streams.push_back(std::move(*s));
  }
  ASSERT_TRUE(WaitFor([&] { return fakes_[1]->active() == 2; }));
  EXPECT_EQ(fakes_[0]->started(), 0);
  servers_[1]->SetServing(false);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 0; }));
  EXPECT_FALSE(pool_->IsServing());
  EXPECT_EQ(pool_->StartRecognition({}, std::make_shared<RecordingObserver>()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(PoolTest, DescribeSumsHealthyEngines) {
  auto caps = pool_->Describe();
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->capacity, 4);
  ASSERT_EQ(caps->models.size(), 1u);  // the same model on both engines is listed once
}

TEST_F(PoolTest, DrainRefusesNewStreamsButFinishesOpenOnes) {
  auto observer = std::make_shared<RecordingObserver>();
  auto open = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(open.ok());
  pool_->Drain();
  EXPECT_FALSE(pool_->IsServing());
  EXPECT_EQ(pool_->StartRecognition({}, observer).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*open)->Write(std::vector<int16_t>(160, 0)).ok());
  (*open)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok());
  EXPECT_EQ(observer->results().back().transcript, "160 samples");
}

}  // namespace
}  // namespace voxgate::pool
