#include "pool/pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "rpc/engine_server.h"
#include "testing/fake_clock.h"
#include "testing/fake_speech_service.h"
#include "testing/synthesize_sync.h"
#include "testing/grpc_callback_queue.h"
#include "testing/translate_sync.h"
#include "testing/wait_for.h"

namespace voxgate::pool {
namespace {

using ::testing::HasSubstr;
using testing::FakeSpeechService;
using testing::RecordingObserver;
using testing::TranslateSync;
using testing::WaitFor;

// The events the alert relay reads from the pool's log lines (their "event" fields), each as
// "event pool engine". Sinks cannot be removed: one is added for the whole test binary.
class Events {
 public:
  static Events& Get() {
    static Events* events = [] {
      auto* e = new Events;
      core::AddLogSink(core::Severity::kDebug, [e](const nlohmann::json& line) {
        if (!line.contains("event") || !line.contains("pool")) return;
        std::lock_guard lock(e->mu_);
        e->lines_.push_back(absl::StrCat(line.value("event", ""), " ", line.value("pool", ""), " ", line.value("engine", "")));
      });
      return e;
    }();
    return *events;
  }
  // Whether `line` ("event pool engine", engine empty for pool events) was written.
  bool Has(const std::string& line) {
    core::FlushLogs();
    std::lock_guard lock(mu_);
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  // Forgets what earlier tests' pools wrote (engine addresses repeat from test to test).
  void Clear() {
    core::FlushLogs();
    std::lock_guard lock(mu_);
    lines_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// Two fake engines behind real gRPC servers, and a pool over them.
class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::HoldGrpcCallbackQueue();
    Events::Get().Clear();
    std::vector<std::shared_ptr<rpc::RemoteSpeechService>> remotes;
    for (int i = 0; i < 2; ++i) {
      remotes.push_back(std::make_shared<rpc::RemoteSpeechService>(StartEngine(), rpc::RemoteSpeechService::Options{}));
    }
    Pool::Options options;
    options.name = "test";
    options.health_interval = std::chrono::milliseconds(50);
    options.health_jitter = std::chrono::milliseconds(10);
    options.startup_probe_interval = std::chrono::milliseconds(20);
    options.max_queued_streams = 0;
    Configure(options);
    pool_ = std::make_shared<Pool>(options, remotes);
    pool_->Start();
    ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() + pool_->standby_engines() == 2; }));
  }
  virtual void Configure(Pool::Options&) {}
  virtual int EngineCapacity() { return 2; }
  // Starts another fake engine behind a gRPC server; returns its address.
  std::string StartEngine() {
    fakes_.push_back(std::make_shared<FakeSpeechService>(EngineCapacity()));
    const std::string address = "unix:" + dir_ + "/e" + std::to_string(fakes_.size()) + ".sock";
    auto server = rpc::EngineServer::Start(fakes_.back(), address);
    EXPECT_TRUE(server.ok());
    (*server)->SetServing(true);
    servers_.push_back(std::move(*server));
    return address;
  }
  std::vector<speech::RecognitionStreamPtr> OpenStreams(int n) {
    std::vector<speech::RecognitionStreamPtr> streams;
    for (int i = 0; i < n; ++i) {
      auto s = pool_->StartRecognition({}, std::make_shared<RecordingObserver>());
      EXPECT_TRUE(s.ok()) << s.status();
      if (s.ok()) streams.push_back(std::move(*s));
    }
    return streams;
  }
  // Opens a stream and waits for an engine to take it; `engine`: which fake.
  void OpenPlacedStream(const std::shared_ptr<RecordingObserver>& observer, speech::RecognitionStreamPtr& stream, int& engine) {
    auto started = pool_->StartRecognition({}, observer);
    ASSERT_TRUE(started.ok()) << started.status();
    stream = std::move(*started);
    ASSERT_TRUE(WaitFor([&] { return fakes_[0]->active() + fakes_[1]->active() == 1; }));
    engine = fakes_[0]->active() == 1 ? 0 : 1;
  }
  // The same, then writes 0.1 s and waits for the engine's first result.
  void OpenStreamWithAResult(const std::shared_ptr<RecordingObserver>& observer, speech::RecognitionStreamPtr& stream,
                             int& engine) {
    ASSERT_NO_FATAL_FAILURE(OpenPlacedStream(observer, stream, engine));
    ASSERT_TRUE(stream->Write(std::vector<int16_t>(1600, 0)).ok());
    ASSERT_TRUE(WaitFor([&] { return !observer->results().empty(); }));
  }
  void TearDown() override {
    // Streams a test let go end on gRPC threads; they touch the pool (and a fake clock that a
    // derived fixture owns and destroys before this base) until their engine calls are done.
    WaitFor([&] { return pool_->active_streams() == 0; });
    pool_->Stop();
    pool_.reset();
    for (auto& s : servers_) s->Shutdown(std::chrono::milliseconds(100));
    std::filesystem::remove_all(dir_);
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
  ASSERT_EQ(caps->models.size(), 3u);  // the same models on both engines are listed once
}

TEST_F(PoolTest, DrainRefusesNewStreamsButFinishesOpenOnes) {
  auto observer = std::make_shared<RecordingObserver>();
  auto open = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(open.ok());
  pool_->Drain();
  EXPECT_FALSE(pool_->IsServing());
  EXPECT_EQ(pool_->StartRecognition({}, observer).status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE((*open)->Write(std::vector<int16_t>(160, 0)).ok());
  (*open)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok());
  EXPECT_EQ(observer->results().back().transcript, "160 samples");
}

TEST_F(PoolTest, OneWriteLargerThanTheBacklogBoundIsTakenWhenNothingWaits) {
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(20 * 16000, 0)).ok());  // 20 s; the bound is 10 s
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "320000 samples");
}

class QueueingPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.max_queued_streams = 1;
    options.queue_timeout = std::chrono::milliseconds(300);
  }
  // Open streams on all 4 slots of the two engines.
  std::vector<speech::RecognitionStreamPtr> TakeEverySlot() {
    std::vector<speech::RecognitionStreamPtr> streams;
    for (int i = 0; i < 4; ++i) streams.push_back(*pool_->StartRecognition({}, std::make_shared<RecordingObserver>()));
    return streams;
  }
};

TEST_F(QueueingPoolTest, QueuesWhenFullServesInTurnAndRefusesBeyondTheQueue) {
  std::vector<speech::RecognitionStreamPtr> streams = TakeEverySlot();
  auto waiting_observer = std::make_shared<RecordingObserver>();
  auto waiting = pool_->StartRecognition({}, waiting_observer);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_EQ(pool_->queued_streams(), 1u);
  // Audio sent while waiting is kept and reaches the engine later.
  ASSERT_TRUE((*waiting)->Write(std::vector<int16_t>(320, 0)).ok());
  auto refused = pool_->StartRecognition({}, std::make_shared<RecordingObserver>());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("retry after 1 s"));

  streams[0]->Finish();
  ASSERT_TRUE(WaitFor([&] { return pool_->queued_streams() == 0; }));
  (*waiting)->Finish();
  ASSERT_TRUE(waiting_observer->WaitDone());
  EXPECT_TRUE(waiting_observer->status().ok()) << waiting_observer->status();
  EXPECT_EQ(waiting_observer->results().back().transcript, "320 samples");
}

TEST_F(QueueingPoolTest, AStreamWaitingPastTheQueueTimeoutIsToldToRetry) {
  std::vector<speech::RecognitionStreamPtr> streams = TakeEverySlot();
  auto observer = std::make_shared<RecordingObserver>();
  auto waiting = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(waiting.ok());
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(observer->status().message()), HasSubstr("over capacity"));
  EXPECT_EQ(pool_->queued_streams(), 0u);
}

TEST_F(QueueingPoolTest, CancellingAWaitingStreamEndsIt) {
  std::vector<speech::RecognitionStreamPtr> streams = TakeEverySlot();
  auto observer = std::make_shared<RecordingObserver>();
  auto waiting = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(waiting.ok());
  (*waiting)->Cancel();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pool_->queued_streams(), 0u);
}

class FairQueuePoolTest : public QueueingPoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.max_queued_streams = 3;
    options.queue_timeout = std::chrono::seconds(5);
  }
};

// An observer whose OnDone holds the thread it runs on until released (at most 10 s, so that a
// failing test does not hang the pool's shutdown).
class HoldingObserver : public RecordingObserver {
 public:
  void OnDone(absl::Status status) override {
    entered_.set_value();
    release_.get_future().wait_for(std::chrono::seconds(10));
    RecordingObserver::OnDone(std::move(status));
  }
  void WaitEntered() { entered_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  std::promise<void> entered_, release_;
};

TEST_F(FairQueuePoolTest, ASlotThatComesFreeGoesToTheStreamWaitingNotToANewOne) {
  std::vector<speech::RecognitionStreamPtr> streams = TakeEverySlot();
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 4; }));
  // The pool ends a cancelled waiting stream on its dispatch thread, which holds that thread
  // here: a slot that comes free meanwhile is not handed out yet.
  auto holder = std::make_shared<HoldingObserver>();
  auto held = pool_->StartRecognition({}, holder);
  ASSERT_TRUE(held.ok()) << held.status();
  auto waiting_observer = std::make_shared<RecordingObserver>();
  auto waiting = pool_->StartRecognition({}, waiting_observer);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  ASSERT_TRUE((*waiting)->Write(std::vector<int16_t>(160, 0)).ok());
  (*waiting)->Finish();
  (*held)->Cancel();
  holder->WaitEntered();
  streams[0]->Finish();
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 3; }));
  // A new stream that comes now queues behind the one waiting.
  auto newcomer_observer = std::make_shared<RecordingObserver>();
  auto newcomer = pool_->StartRecognition({}, newcomer_observer);
  ASSERT_TRUE(newcomer.ok()) << newcomer.status();
  EXPECT_EQ(pool_->queued_streams(), 2u);
  holder->Release();
  ASSERT_TRUE(waiting_observer->WaitDone());
  ASSERT_TRUE(waiting_observer->status().ok()) << waiting_observer->status();
  EXPECT_EQ(waiting_observer->results().back().transcript, "160 samples");
  EXPECT_EQ(newcomer_observer->done_count(), 0);
  streams[1]->Finish();  // the next slot is the newcomer's
  ASSERT_TRUE(WaitFor([&] { return pool_->queued_streams() == 0; }));
  (*newcomer)->Finish();
  ASSERT_TRUE(newcomer_observer->WaitDone());
  EXPECT_TRUE(newcomer_observer->status().ok()) << newcomer_observer->status();
}

TEST_F(PoolTest, AStreamWhoseEngineDiesMovesToAnotherWithItsAudio) {
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr stream;
  int first;
  ASSERT_NO_FATAL_FAILURE(OpenPlacedStream(observer, stream, first));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(stream->Write(std::vector<int16_t>(1600, 0)).ok());
  ASSERT_TRUE(WaitFor([&] { return !observer->results().empty(); }));
  servers_[first]->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return fakes_[1 - first]->active() == 1; }));
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(1600, 0)).ok());
  stream->Finish();
  ASSERT_TRUE(observer->WaitDone());
  ASSERT_TRUE(observer->status().ok()) << observer->status();
  // The new engine got all the audio since the (absent) last final result: nothing lost.
  EXPECT_EQ(observer->results().back().transcript, "6400 samples");
  EXPECT_TRUE(observer->results().back().is_final);
  int finals = 0;
  for (const auto& r : observer->results()) finals += r.is_final;
  EXPECT_EQ(finals, 1);
}

// An engine may run more than the pool counts (a call the pool cancelled goes on until the
// engine sees the cancel), so it can refuse a stream the pool thought it had room for.
TEST_F(PoolTest, AStreamAnEngineRefusesAsFullWaitsForASlotWithItsAudio) {
  fakes_[0]->SetCapacity(0);
  fakes_[1]->SetCapacity(0);
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(1600, 0)).ok());
  // Both refuse, again after each health check: the stream waits instead of failing.
  ASSERT_TRUE(WaitFor([&] { return pool_->queued_streams() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return fakes_[0]->refusals() >= 2 && fakes_[1]->refusals() >= 2; }));
  EXPECT_EQ(observer->done_count(), 0);
  fakes_[1]->SetCapacity(2);
  ASSERT_TRUE(WaitFor([&] { return fakes_[1]->active() == 1; }));
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  ASSERT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "4800 samples");
  // A full engine is no failed one: both stay in rotation.
  EXPECT_EQ(pool_->healthy_engines(), 2);
}

class ShortReplayPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override { options.stream.max_replay_seconds = 0.5; }
};

// Past the replay bound, audio an engine has is let go; while the stream waits for a new engine
// after a failure, no engine has any of it, so none of it may go.
TEST_F(ShortReplayPoolTest, AudioSentWhileTheStreamWaitsForANewEngineIsAllReplayed) {
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr stream;
  int first;
  ASSERT_NO_FATAL_FAILURE(OpenPlacedStream(observer, stream, first));
  fakes_[1 - first]->SetCapacity(0);  // the other engine is full for now
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(4800, 0)).ok());  // 0.3 s
  ASSERT_TRUE(WaitFor([&] { return !observer->results().empty(); }));
  servers_[first]->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return pool_->queued_streams() == 1; }));
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(6400, 0)).ok());  // 0.7 s in all: past the bound
  fakes_[1 - first]->SetCapacity(2);
  ASSERT_TRUE(WaitFor([&] { return fakes_[1 - first]->active() == 1; }));
  stream->Finish();
  ASSERT_TRUE(observer->WaitDone());
  ASSERT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "11200 samples");
}

class OutlierPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.clock = &clock_;
    options.health.consecutive_failures_to_eject = 2;
    options.health.base_ejection = std::chrono::seconds(30);
  }
  testing::FakeClock clock_;
};

TEST_F(OutlierPoolTest, AHealthyEnginesCapacityIsAskedAgainNowAndThen) {
  EXPECT_EQ(pool_->Describe()->capacity, 4);
  fakes_[0]->SetCapacity(5);  // e.g. a pool tier behind this one whose engines grew
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(pool_->Describe()->capacity, 4);  // not asked again yet
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(WaitFor([&] { return pool_->Describe()->capacity == 7; }));
  EXPECT_EQ(pool_->EngineStatuses()[0].capacity, 5);
}

TEST_F(OutlierPoolTest, AnEngineThatFailsEveryStreamIsEjectedAndReturnsAfterItsEjectionTime) {
  fakes_[0]->FailStreamsWith(absl::InternalError("decoder broke"));
  auto run_stream = [&] {
    auto observer = std::make_shared<RecordingObserver>();
    auto stream = pool_->StartRecognition({}, observer);
    EXPECT_TRUE(stream.ok());
    EXPECT_TRUE((*stream)->Write(std::vector<int16_t>(160, 0)).ok());
    (*stream)->Finish();
    EXPECT_TRUE(observer->WaitDone());
    // The client never sees the failures: its stream moved to the healthy engine.
    EXPECT_TRUE(observer->status().ok()) << observer->status();
    EXPECT_EQ(observer->results().back().transcript, "160 samples");
  };
  for (int i = 0; i < 6; ++i) run_stream();
  const int failed_engine_streams = fakes_[0]->started();
  EXPECT_EQ(failed_engine_streams, 2);  // ejected after two failures in a row
  EXPECT_EQ(pool_->healthy_engines(), 1);
  EXPECT_EQ(pool_->EngineStatuses()[0].state, EngineState::kEjected);
  for (int i = 0; i < 4; ++i) run_stream();
  EXPECT_EQ(fakes_[0]->started(), failed_engine_streams);  // no traffic while ejected

  const std::string engine = pool_->EngineStatuses()[0].address;
  EXPECT_TRUE(Events::Get().Has("engine_unhealthy test " + engine));
  Events::Get().Clear();
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(pool_->EngineStatuses()[0].state, EngineState::kHealthy);
  // No health check saw it leave or come back, but the alert relay hears that it is back.
  EXPECT_TRUE(WaitFor([&] { return Events::Get().Has("engine_healthy test " + engine); }));
  fakes_[0]->FailStreamsWith(absl::OkStatus());
  for (int i = 0; i < 4; ++i) run_stream();
  EXPECT_GT(fakes_[0]->started(), failed_engine_streams);  // back in rotation
}

speech::TranslationRequest EnToEs(std::vector<std::string> texts) {
  speech::TranslationRequest r;
  r.texts = std::move(texts);
  r.source_language = "en-US";  // the engine says "en": the language is what counts
  r.target_language = "es";
  return r;
}

TEST_F(PoolTest, TranslatesOnAnEngineThatServesThePair) {
  auto r = TranslateSync(*pool_, EnToEs({"hello", "world"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->texts, ::testing::ElementsAre("[es] hello", "[es] world"));
  speech::TranslationRequest to_german = EnToEs({"hello"});
  to_german.target_language = "de";
  auto missing = TranslateSync(*pool_, to_german);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("pairs served: en->es"));
  speech::TranslationRequest unknown_model = EnToEs({"hello"});
  unknown_model.model = "nope";
  auto no_model = TranslateSync(*pool_, unknown_model);
  EXPECT_EQ(no_model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(no_model.status().message()), HasSubstr("no engine translates en-US->es with model \"nope\""));
}

TEST_F(PoolTest, ATranslationWhileEveryEngineIsDownIsOneToRetry) {
  for (auto& server : servers_) server->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() + pool_->standby_engines() == 0; }));
  auto r = TranslateSync(*pool_, EnToEs({"hello"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("retry"));
}

TEST_F(PoolTest, DescribeListsWhatADownEngineServesButOnlyTheCapacityInRotation) {
  servers_[0]->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() + pool_->standby_engines() == 1; }));
  auto caps = pool_->Describe();
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->capacity, 2);
  EXPECT_EQ(caps->models.size(), 3u);
  servers_[1]->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() + pool_->standby_engines() == 0; }));
  caps = pool_->Describe();
  EXPECT_EQ(caps->capacity, 0);
  EXPECT_EQ(caps->models.size(), 3u);  // a client in front hears "retry", not "no such model"
  EXPECT_FALSE(caps->incomplete);       // and "not found" for what none of them serves
}

TEST_F(PoolTest, CallsBeforeAnEngineFirstSaysWhatItServesAreOnesToRetry) {
  Pool::Options options;
  options.name = "loading";
  auto loading = std::make_shared<Pool>(options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>>{
      std::make_shared<rpc::RemoteSpeechService>("unix:" + dir_ + "/not-up-yet.sock", rpc::RemoteSpeechService::Options{})});
  loading->Start();
  EXPECT_TRUE(loading->Describe()->incomplete);
  auto translated = TranslateSync(*loading, EnToEs({"hello"}));
  EXPECT_EQ(translated.status().code(), absl::StatusCode::kUnavailable) << translated.status();
  EXPECT_THAT(std::string(translated.status().message()), HasSubstr("retry after 1 s"));
  auto spoken = std::make_shared<testing::SynthesisRecorder>();
  loading->Synthesize(testing::SpeechOf("hello"), spoken);
  EXPECT_EQ(spoken->Wait().code(), absl::StatusCode::kUnavailable) << spoken->Wait();
  loading->Stop();
}

// A pool tier whose own engines have not said what they serve describes itself as incomplete:
// a pool in front takes what it lacks as one to retry, and asks again until it is complete.
TEST_F(PoolTest, ATierThatDescribesItselfIncompleteHasNotSaidWhatItServes) {
  Pool::Options options;
  options.name = "front";
  options.health_interval = std::chrono::milliseconds(50);
  options.startup_probe_interval = std::chrono::milliseconds(20);
  const std::string address = StartEngine();
  fakes_.back()->set_incomplete(true);
  auto front = std::make_shared<Pool>(options, std::vector{std::make_shared<rpc::RemoteSpeechService>(address, rpc::RemoteSpeechService::Options{})});
  front->Start();
  ASSERT_TRUE(WaitFor([&] { return front->healthy_engines() == 1; }));
  EXPECT_TRUE(front->Describe()->incomplete);
  auto waiting = std::make_shared<testing::SynthesisRecorder>();
  front->Synthesize(testing::SpeechOf("hello", "nova"), waiting);
  EXPECT_EQ(waiting->Wait().code(), absl::StatusCode::kUnavailable) << waiting->Wait();
  fakes_.back()->set_incomplete(false);
  EXPECT_TRUE(WaitFor([&] { return !front->Describe()->incomplete; })) << "not asked again";
  auto unknown = std::make_shared<testing::SynthesisRecorder>();
  front->Synthesize(testing::SpeechOf("hello", "nova"), unknown);
  EXPECT_EQ(unknown->Wait().code(), absl::StatusCode::kNotFound) << unknown->Wait();
  front->Stop();
}

TEST_F(PoolTest, AnEngineFailureIsRetriedElsewhereButABadRequestIsNot) {
  fakes_[0]->FailStreamsWith(absl::UnavailableError("engine restarting"));
  fakes_[1]->FailStreamsWith(absl::OkStatus());
  for (int i = 0; i < 4; ++i) {
    auto r = TranslateSync(*pool_, EnToEs({"hello"}));
    ASSERT_TRUE(r.ok()) << r.status();  // the client never sees the failed engine
    EXPECT_EQ(r->texts[0], "[es] hello");
  }
  EXPECT_GE(fakes_[0]->translations(), 1);

  fakes_[0]->FailStreamsWith(absl::OkStatus());
  const int before = fakes_[0]->translations() + fakes_[1]->translations();
  auto bad = TranslateSync(*pool_, EnToEs({}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fakes_[0]->translations() + fakes_[1]->translations(), before + 1);  // asked once only
}

TEST_F(PoolTest, ATranslationAnEngineRefusesAsFullIsTriedOnAnother) {
  fakes_[0]->FailStreamsWith(absl::ResourceExhaustedError("all 1 translation slots are busy"));
  for (int i = 0; i < 4; ++i) {
    auto r = TranslateSync(*pool_, EnToEs({"hello"}));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->texts[0], "[es] hello");
  }
  EXPECT_GT(fakes_[0]->translations(), 0);  // it was asked, and said it was full
  EXPECT_EQ(pool_->healthy_engines(), 2);   // full is not failed
}

// In a split deployment the "engines" are tiers, which answer UNAVAILABLE themselves when they
// cannot serve a request ("no healthy engine" for a language). Taking that for an unreachable
// engine moved every stream off the tier, though its other engines served them well.
TEST_F(PoolTest, AnEngineAnsweringUnavailableItselfKeepsItsStreams) {
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr stream;
  int engine;
  ASSERT_NO_FATAL_FAILURE(OpenStreamWithAResult(observer, stream, engine));
  for (auto& f : fakes_) f->FailTranslationsWith(absl::UnavailableError("no healthy engine in pool \"mt\" yet; retry after 1 s"));
  auto r = TranslateSync(*pool_, EnToEs({"hello"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);  // a retry, for the caller
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no healthy engine in pool \"mt\""));
  EXPECT_EQ(fakes_[0]->translations() + fakes_[1]->translations(), 2);  // each tried once
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(1600, 0)).ok());
  stream->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "3200 samples");
  EXPECT_EQ(fakes_[1 - engine]->started(), 0) << "the stream was moved off its engine";
}

TEST_F(PoolTest, WhenEveryEngineFailsTheLastErrorComesBackAfterOneTryEach) {
  for (auto& f : fakes_) f->FailStreamsWith(absl::InternalError("model file corrupt"));
  auto r = TranslateSync(*pool_, EnToEs({"hello"}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(fakes_[0]->translations() + fakes_[1]->translations(), 2);
}

TEST_F(PoolTest, SynthesisFailingBeforeItsFirstAudioIsRetriedElsewhere) {
  fakes_[0]->FailStreamsWith(absl::UnavailableError("engine restarting"));
  for (int i = 0; i < 4; ++i) {
    auto recorder = std::make_shared<testing::SynthesisRecorder>();
    pool_->Synthesize(testing::SpeechOf("hey", "fake-voice"), recorder);
    ASSERT_TRUE(recorder->Wait().ok()) << recorder->Wait();
    EXPECT_EQ(recorder->samples().size(), 3u * 160);  // all of it, once
    EXPECT_EQ(recorder->done_count(), 1);
  }
  EXPECT_GE(fakes_[0]->syntheses(), 1);
}

TEST_F(PoolTest, SynthesisOfWhatNoEngineSpeaksListsTheVoices) {
  auto recorder = std::make_shared<testing::SynthesisRecorder>();
  pool_->Synthesize(testing::SpeechOf("hey", "nova"), recorder);
  EXPECT_EQ(recorder->Wait().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(recorder->Wait().message()), HasSubstr("voices: fake-voice"));
  speech::SynthesisRequest french = testing::SpeechOf("salut");
  french.language_code = "fr";
  auto refused = std::make_shared<testing::SynthesisRecorder>();
  pool_->Synthesize(french, refused);
  EXPECT_THAT(std::string(refused->Wait().message()), HasSubstr("no engine speaks language \"fr\""));
  // A voice there is, asked for another language: the request contradicts itself (400), and says how.
  french.voice = "fake-voice";
  auto contradicted = std::make_shared<testing::SynthesisRecorder>();
  pool_->Synthesize(french, contradicted);
  EXPECT_EQ(contradicted->Wait().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(contradicted->Wait().message()), HasSubstr("voice \"fake-voice\" speaks en-US, not \"fr\""));
  EXPECT_EQ(fakes_[0]->syntheses() + fakes_[1]->syntheses(), 0);  // refused in the pool, no engine asked
}

TEST_F(PoolTest, ACallerThatStopsASynthesisIsNotAnEngineFailure) {
  for (int i = 0; i < 6; ++i) {
    auto recorder = std::make_shared<testing::SynthesisRecorder>(/*stop_after=*/1);
    pool_->Synthesize(testing::SpeechOf("a long text"), recorder);
    EXPECT_EQ(recorder->Wait().code(), absl::StatusCode::kCancelled);
  }
  EXPECT_EQ(pool_->healthy_engines(), 2);  // nobody was ejected for it
}

class NoRetryBudgetPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.retry_budget_share = 0;
    options.min_retries = 0;
  }
};

TEST_F(NoRetryBudgetPoolTest, WithoutBudgetAFailedCallFailsFast) {
  fakes_[0]->FailStreamsWith(absl::UnavailableError("engine restarting"));
  auto r = TranslateSync(*pool_, EnToEs({"hello"}));  // both idle: the first engine is tried
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fakes_[1]->translations(), 0);
}

TEST_F(PoolTest, AnUnhealthyEngineThatDiscoveryDropsResolvesItsAlert) {
  const std::string address = StartEngine();
  pool_->AddEngine(address);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 3; }));
  servers_.back()->Shutdown(std::chrono::milliseconds(0));
  ASSERT_TRUE(WaitFor([&] { return Events::Get().Has("engine_unhealthy test " + address); }));
  pool_->RemoveEngine(address);
  EXPECT_TRUE(Events::Get().Has("engine_removed test " + address));
}

TEST_F(PoolTest, APoolSaysWhenItFirstHasAHealthyEngine) {
  // A process restarted while its pool had no healthy engine: the new one's first engine in
  // rotation resolves the alert the old one raised.
  std::vector<std::shared_ptr<rpc::RemoteSpeechService>> remotes;
  for (const auto& status : pool_->EngineStatuses()) {
    remotes.push_back(std::make_shared<rpc::RemoteSpeechService>(status.address, rpc::RemoteSpeechService::Options{}));
  }
  Pool::Options options;
  options.name = "restarted";
  auto restarted = std::make_shared<Pool>(options, remotes);
  restarted->Start();
  EXPECT_TRUE(WaitFor([&] { return Events::Get().Has("pool_healthy restarted "); }));
  restarted->Stop();
}

TEST_F(PoolTest, DiscoveredEnginesJoinOnceHealthyAndRemovedOnesFinishTheirStreams) {
  const std::string address = StartEngine();
  pool_->AddEngine(address);
  pool_->AddEngine(address);  // listed twice by discovery: still one engine
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 3; }));
  EXPECT_EQ(pool_->EngineStatuses().size(), 3u);
  auto streams = OpenStreams(6);
  ASSERT_TRUE(WaitFor([&] { return fakes_[2]->active() == 2; }));

  pool_->RemoveEngine(address);
  EXPECT_EQ(pool_->healthy_engines(), 2);
  EXPECT_EQ(pool_->EngineStatuses()[2].state, EngineState::kRemoved);
  for (auto& s : streams) {
    ASSERT_TRUE(s->Write(std::vector<int16_t>(160, 0)).ok());
    s->Finish();
  }
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 0; }));
  EXPECT_EQ(fakes_[2]->started(), 2);  // its open streams ran to the end there
  EXPECT_EQ(pool_->EngineStatuses().size(), 2u);
  const int others = fakes_[0]->started() + fakes_[1]->started();
  auto more = OpenStreams(4);
  ASSERT_TRUE(WaitFor([&] { return fakes_[0]->started() + fakes_[1]->started() == others + 4; }));
  EXPECT_EQ(fakes_[2]->started(), 2);  // and it took nothing new
  more.clear();

  pool_->AddEngine(address);  // back again: a new engine, healthy after its checks
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 3; }));
}

class StandbyPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.clock = &clock_;
    options.min_ready = 1;
    options.standby_cooldown = std::chrono::seconds(60);
  }
  testing::FakeClock clock_;
};

TEST_F(StandbyPoolTest, AStandbyIsPromotedWhenEverySlotIsBusyAndReturnsWhenIdle) {
  EXPECT_EQ(pool_->healthy_engines(), 1);
  EXPECT_EQ(pool_->standby_engines(), 1);
  EXPECT_EQ(pool_->EngineStatuses()[1].state, EngineState::kStandby);
  EXPECT_EQ(pool_->Describe()->capacity, 2);  // standbys are counted apart

  auto streams = OpenStreams(2);
  EXPECT_EQ(fakes_[1]->started(), 0);
  auto spike = OpenStreams(1);  // no free slot in rotation: the standby takes it, nothing waits
  EXPECT_TRUE(WaitFor([&] { return fakes_[1]->started() == 1; }));
  EXPECT_EQ(pool_->standby_engines(), 0);
  EXPECT_EQ(pool_->healthy_engines(), 2);

  for (auto* list : {&streams, &spike}) {
    for (auto& s : *list) s->Finish();
  }
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 0; }));
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(WaitFor([&] { return pool_->standby_engines() == 1; }));
  EXPECT_EQ(pool_->healthy_engines(), 1);
}

TEST_F(StandbyPoolTest, AStandbyTakesThePlaceOfAFailedEngine) {
  const int active = pool_->EngineStatuses()[0].state == EngineState::kHealthy ? 0 : 1;
  servers_[active]->SetServing(false);
  ASSERT_TRUE(WaitFor([&] { return pool_->EngineStatuses()[1 - active].state == EngineState::kHealthy; }));
  EXPECT_EQ(pool_->EngineStatuses()[active].state, EngineState::kDraining);
  EXPECT_TRUE(pool_->IsServing());
  servers_[active]->SetServing(true);  // back: it is now the standby
  ASSERT_TRUE(WaitFor([&] { return pool_->EngineStatuses()[active].state == EngineState::kStandby; }));
}

class SlowStartPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.clock = &clock_;
    options.slow_start_window = std::chrono::seconds(10);
    options.slow_start_min_share = 0.1;
  }
  int EngineCapacity() override { return 10; }
  testing::FakeClock clock_;
};

TEST_F(SlowStartPoolTest, AnEngineThatJoinsAServingPoolGetsAGrowingShare) {
  // Engines present at the pool's start share the load evenly.
  {
    auto streams = OpenStreams(10);
    EXPECT_TRUE(WaitFor([&] { return fakes_[0]->started() + fakes_[1]->started() == 10; }));
    EXPECT_EQ(fakes_[1]->started(), 5);
  }
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 0; }));
  const int before = fakes_[1]->started();
  servers_[1]->SetServing(false);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 1; }));
  servers_[1]->SetServing(true);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 2; }));
  {
    // Weighed at a tenth of its size, it gets one of ten streams at first...
    auto streams = OpenStreams(10);
    EXPECT_TRUE(WaitFor([&] { return fakes_[0]->started() + fakes_[1]->started() == 20; }));
    EXPECT_EQ(fakes_[1]->started() - before, 1);
  }
  ASSERT_TRUE(WaitFor([&] { return pool_->active_streams() == 0; }));
  clock_.Advance(std::chrono::seconds(10));
  {
    // ...and its full share once the window has passed.
    auto streams = OpenStreams(10);
    EXPECT_TRUE(WaitFor([&] { return fakes_[0]->started() + fakes_[1]->started() == 30; }));
    EXPECT_EQ(fakes_[1]->started() - before, 1 + 5);
  }
}

class HangPoolTest : public PoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    options.clock = &clock_;
    options.stream.result_timeout_seconds = 2;
  }
  // Whether `pool` checked its open streams for hangs at the clock's present time (or later).
  bool ProgressChecked(const Pool& pool) {
    const auto now = clock_.Now();
    return WaitFor([&] { return pool.progress_checked_at() >= now; });
  }
  testing::FakeClock clock_;
};

TEST_F(HangPoolTest, AStreamWhoseEngineStopsAnsweringMovesToAnotherWithItsAudio) {
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr stream;
  int first;
  ASSERT_NO_FATAL_FAILURE(OpenStreamWithAResult(observer, stream, first));
  // The engine stays healthy for the health checks, but this stream gets no answer.
  fakes_[first]->SetPaused(true);
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(8000, 0)).ok());  // more than an engine may keep back
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(ProgressChecked(*pool_));
  EXPECT_EQ(fakes_[1 - first]->started(), 0);  // within the timeout: still waiting
  clock_.Advance(std::chrono::seconds(2));
  ASSERT_TRUE(WaitFor([&] { return fakes_[1 - first]->started() == 1; }));
  stream->Finish();
  ASSERT_TRUE(observer->WaitDone());
  fakes_[first]->SetPaused(false);
  ASSERT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "9600 samples");  // nothing lost
}

TEST_F(HangPoolTest, AnIdleStreamIsNotTakenForAHang) {
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = pool_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(1600, 0)).ok());
  ASSERT_TRUE(WaitFor([&] { return !observer->results().empty(); }));
  clock_.Advance(std::chrono::seconds(30));  // the client pauses; the engine owes nothing
  ASSERT_TRUE(ProgressChecked(*pool_));
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(1600, 0)).ok());
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(fakes_[0]->started() + fakes_[1]->started(), 1);
}

// pocketsphinx decodes whole 100 ms pieces: a client that pauses mid-piece leaves the engine
// with a little audio it has not consumed, which it owes nothing for until more comes.
TEST_F(HangPoolTest, AClientPausingWithAPartPieceUnconsumedIsNotTakenForAHang) {
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr stream;
  int first;
  ASSERT_NO_FATAL_FAILURE(OpenStreamWithAResult(observer, stream, first));
  fakes_[first]->SetPaused(true);  // keeps back the next 50 ms
  ASSERT_TRUE(stream->Write(std::vector<int16_t>(800, 0)).ok());
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(ProgressChecked(*pool_));
  EXPECT_EQ(fakes_[1 - first]->started(), 0);
  fakes_[first]->SetPaused(false);
  stream->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "2400 samples");
}

class StarvedStreamPoolTest : public HangPoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    HangPoolTest::Configure(options);
    options.health.consecutive_failures_to_eject = 1;
  }
};

// Short of CPU, an engine may leave one stream without a result past the timeout while it still
// answers the rest. The stream moves, as from a hang; but ejecting the engine for it moved all its
// streams too, piling them onto engines as short of CPU.
TEST_F(StarvedStreamPoolTest, AStreamStarvedWhileItsEngineAnswersOthersMovesAndTheEngineStays) {
  auto starved_observer = std::make_shared<RecordingObserver>();
  speech::RecognitionStreamPtr starved;
  int engine;
  ASSERT_NO_FATAL_FAILURE(OpenStreamWithAResult(starved_observer, starved, engine));
  // A second stream on the same engine: the other one is out of rotation while it starts.
  servers_[1 - engine]->SetServing(false);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 1; }));
  auto served_observer = std::make_shared<RecordingObserver>();
  auto served = pool_->StartRecognition({}, served_observer);
  ASSERT_TRUE(served.ok());
  ASSERT_TRUE((*served)->Write(std::vector<int16_t>(1600, 0)).ok());
  ASSERT_TRUE(WaitFor([&] { return !served_observer->results().empty(); }));
  ASSERT_EQ(fakes_[engine]->started(), 2);
  servers_[1 - engine]->SetServing(true);
  ASSERT_TRUE(WaitFor([&] { return pool_->healthy_engines() == 2; }));

  fakes_[engine]->HoldStream(0, true);
  ASSERT_TRUE(starved->Write(std::vector<int16_t>(8000, 0)).ok());
  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_TRUE((*served)->Write(std::vector<int16_t>(1600, 0)).ok());
  ASSERT_TRUE(WaitFor([&] { return served_observer->results().size() == 2; }));
  clock_.Advance(std::chrono::milliseconds(1500));  // the starved stream: 3 s; the other's last result: 1.5 s
  ASSERT_TRUE(WaitFor([&] { return fakes_[1 - engine]->started() >= 1; })) << "the starved stream did not move";
  EXPECT_EQ(pool_->EngineStatuses()[engine].state, EngineState::kHealthy);
  fakes_[engine]->HoldStream(0, false);
  for (auto* s : {&starved, &*served}) (*s)->Finish();
  ASSERT_TRUE(starved_observer->WaitDone());
  ASSERT_TRUE(served_observer->WaitDone());
  EXPECT_TRUE(starved_observer->status().ok()) << starved_observer->status();
  EXPECT_EQ(starved_observer->results().back().transcript, "9600 samples");
  EXPECT_TRUE(served_observer->status().ok()) << served_observer->status();
  EXPECT_EQ(served_observer->results().back().transcript, "3200 samples");
  EXPECT_EQ(fakes_[1 - engine]->started(), 1) << "the stream its engine answered was moved";
}

// Split deployment: a pool in front of this one, over gRPC as a router or endpoint tier is,
// holds the tier to its own result timeout.
class TieredPoolTest : public HangPoolTest {
 protected:
  void SetUp() override {
    HangPoolTest::SetUp();
    const std::string address = "unix:" + dir_ + "/tier.sock";
    auto server = rpc::EngineServer::Start(pool_, address);
    ASSERT_TRUE(server.ok()) << server.status();
    (*server)->SetServing(true);
    tier_server_ = std::move(*server);
    Pool::Options options;
    options.name = "front";
    options.health_interval = std::chrono::milliseconds(50);
    options.startup_probe_interval = std::chrono::milliseconds(20);
    options.max_queued_streams = 0;
    Configure(options);
    front_ = std::make_shared<Pool>(
        options, std::vector{std::make_shared<rpc::RemoteSpeechService>(address, rpc::RemoteSpeechService::Options{})});
    front_->Start();
    ASSERT_TRUE(WaitFor([&] { return front_->healthy_engines() == 1; }));
  }
  void TearDown() override {
    if (front_) {
      WaitFor([&] { return front_->active_streams() == 0; });
      front_->Stop();
      front_.reset();
    }
    if (tier_server_) tier_server_->Shutdown(std::chrono::milliseconds(100));
    HangPoolTest::TearDown();
  }
  std::unique_ptr<rpc::EngineServer> tier_server_;
  std::shared_ptr<Pool> front_;
};

// An engine hearing silence says how far it got but no words. Dropped by the tier, that left the
// front with audio it thought owed, so a client streaming silence failed over after the timeout.
TEST_F(TieredPoolTest, AFrontTierHearsHowFarTheEngineGotThroughSilenceAndTakesNoHang) {
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = front_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(1600, 0)).ok());
  ASSERT_TRUE(WaitFor([&] { return !observer->results().empty(); }));
  for (auto& fake : fakes_) fake->SetPartialsReportOnlyProgress(true);
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(8000, 0)).ok());
  ASSERT_TRUE(WaitFor([&] {
    const auto results = observer->results();
    return std::abs(results.back().audio_consumed_seconds - 0.6) < 1e-6;
  })) << "the front tier never heard that the engine consumed the silence";
  EXPECT_TRUE(speech::IsProgressOnly(observer->results().back()));
  clock_.Advance(std::chrono::seconds(3));  // past the result timeout
  ASSERT_TRUE(ProgressChecked(*front_));
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, "9600 samples");
  EXPECT_EQ(fakes_[0]->started() + fakes_[1]->started(), 1) << "the stream was moved";
}

class HangEjectionPoolTest : public HangPoolTest {
 protected:
  void Configure(Pool::Options& options) override {
    HangPoolTest::Configure(options);
    options.health.consecutive_failures_to_eject = 2;
    options.health.base_ejection = std::chrono::seconds(30);
  }
};

// A stream leaves an engine that hung by cancelling its call there, and the call then ends
// CANCELLED: that says nothing good of the engine, so two hangs in a row still eject it.
TEST_F(HangEjectionPoolTest, TwoHangsInARowEjectTheEngine) {
  std::vector<std::shared_ptr<RecordingObserver>> observers;
  std::vector<speech::RecognitionStreamPtr> streams;
  int hung = -1;
  for (int round = 0; round < 2; ++round) {
    observers.push_back(std::make_shared<RecordingObserver>());
    auto stream = pool_->StartRecognition({}, observers.back());
    ASSERT_TRUE(stream.ok());
    streams.push_back(std::move(*stream));
    ASSERT_TRUE(streams.back()->Write(std::vector<int16_t>(1600, 0)).ok());
    ASSERT_TRUE(WaitFor([&] { return !observers.back()->results().empty(); }));
    // The first round's stream moved off the hung engine, so the second lands there again.
    if (round == 0) hung = pool_->EngineStatuses()[0].outstanding == 1 ? 0 : 1;
    ASSERT_EQ(pool_->EngineStatuses()[hung].outstanding, 1) << "round " << round;
    fakes_[hung]->SetPaused(true);
    ASSERT_TRUE(streams.back()->Write(std::vector<int16_t>(8000, 0)).ok());
    clock_.Advance(std::chrono::seconds(3));  // past the result timeout: the stream moves
    ASSERT_TRUE(WaitFor([&] { return pool_->EngineStatuses()[1 - hung].outstanding == round + 1; }));
    fakes_[hung]->SetPaused(false);  // the abandoned call ends, CANCELLED
    ASSERT_TRUE(WaitFor([&] { return pool_->EngineStatuses()[hung].outstanding == 0; }));
  }
  EXPECT_EQ(pool_->EngineStatuses()[hung].state, EngineState::kEjected);
  for (size_t i = 0; i < streams.size(); ++i) {
    streams[i]->Finish();
    ASSERT_TRUE(observers[i]->WaitDone());
    EXPECT_TRUE(observers[i]->status().ok()) << observers[i]->status();
    EXPECT_EQ(observers[i]->results().back().transcript, "9600 samples");
  }
}

}  // namespace
}  // namespace voxgate::pool
