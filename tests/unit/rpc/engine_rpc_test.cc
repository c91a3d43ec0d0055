// The gRPC hop between tiers: a SpeechService served by EngineServer and reached through
// RemoteSpeechService must behave like the service itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include <filesystem>

#include "rpc/engine_server.h"
#include "rpc/remote_speech_service.h"
#include "testing/fake_speech_service.h"
#include "testing/synthesize_sync.h"
#include "testing/grpc_callback_queue.h"
#include "testing/translate_sync.h"
#include "testing/wait_for.h"

namespace voxgate::rpc {
namespace {

using ::testing::HasSubstr;
using testing::FakeSpeechService;
using testing::RecordingObserver;
using testing::WaitFor;

class EngineRpcTest : public ::testing::Test {
 protected:
  void StartServer(int capacity = 4, size_t max_buffered = 1 << 20) {
    testing::HoldGrpcCallbackQueue();
    fake_ = std::make_shared<FakeSpeechService>(capacity, max_buffered);
    auto server = EngineServer::Start(fake_, "unix:" + socket_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->SetServing(true);
    RemoteSpeechService::Options options;
    options.max_buffered_seconds = 1;  // 16000 samples at 16 kHz
    remote_ = std::make_shared<RemoteSpeechService>(server_->address(), options);
  }
  void TearDown() override {
    remote_.reset();
    if (server_) server_->Shutdown(std::chrono::milliseconds(100));
    std::filesystem::remove(socket_);
  }

  std::string socket_ = std::filesystem::temp_directory_path() / ("voxgate-rpc-test-" + std::to_string(getpid()) + ".sock");
  std::shared_ptr<FakeSpeechService> fake_;
  std::unique_ptr<EngineServer> server_;
  std::shared_ptr<RemoteSpeechService> remote_;
};

TEST_F(EngineRpcTest, HealthFollowsServingState) {
  StartServer();
  EXPECT_TRUE(remote_->CheckHealth(std::chrono::seconds(2)).ok());
  EXPECT_TRUE(remote_->IsServing());
  server_->SetServing(false);
  EXPECT_FALSE(remote_->CheckHealth(std::chrono::seconds(2)).ok());
  EXPECT_FALSE(remote_->IsServing());
}

TEST_F(EngineRpcTest, HealthCheckOfAMissingEngineFailsWithinTheTimeout) {
  testing::HoldGrpcCallbackQueue();
  RemoteSpeechService remote("unix:/nonexistent/engine.sock", {});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(remote.CheckHealth(std::chrono::milliseconds(300)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(EngineRpcTest, DescribeCrossesTheWire) {
  StartServer(3);
  auto caps = remote_->Describe();
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->engine, "fake");
  EXPECT_EQ(caps->capacity, 3);
  ASSERT_EQ(caps->models.size(), 3u);
  EXPECT_EQ(caps->models[0].language_codes, std::vector<std::string>{"en-US"});
  EXPECT_EQ(caps->models[2].service, "tts");
  ASSERT_EQ(caps->models[2].voices.size(), 1u);
  EXPECT_EQ(caps->models[2].voices[0].name, "fake-voice");
  EXPECT_EQ(caps->models[2].voices[0].gender, "female");
  EXPECT_EQ(caps->models[1].service, "mt");
  EXPECT_EQ(caps->models[1].target_language_codes, std::vector<std::string>{"es"});
  EXPECT_FALSE(caps->incomplete);
  fake_->set_incomplete(true);  // a pool tier before its engines have described themselves
  EXPECT_TRUE(remote_->Describe()->incomplete);
}

TEST_F(EngineRpcTest, TranslateCrossesTheWireWithItsDeadline) {
  StartServer();
  auto call = [&](speech::TranslationRequest r) { return testing::TranslateSync(*remote_, std::move(r)); };
  speech::TranslationRequest r;
  r.texts = {"hello", "café ☕"};
  r.source_language = "en";
  r.target_language = "es";
  auto ok = call(r);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->texts, (std::vector<std::string>{"[es] hello", "[es] café ☕"}));
  EXPECT_EQ(ok->model, "fake-mt");
  r.texts.clear();
  EXPECT_EQ(call(r).status().code(), absl::StatusCode::kInvalidArgument);  // the engine's error, as it said it
  r.texts = {"hello"};
  r.deadline = std::chrono::system_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(call(r).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EngineRpcTest, SynthesisStreamsItsChunksInOrder) {
  StartServer();
  auto recorder = std::make_shared<testing::SynthesisRecorder>();
  speech::SynthesisRequest r = testing::SpeechOf("hello", "fake-voice");
  r.sample_rate_hertz = 24000;
  remote_->Synthesize(r, recorder);
  ASSERT_TRUE(recorder->Wait().ok());
  EXPECT_EQ(recorder->chunks(), 5);  // one message per chunk
  EXPECT_EQ(recorder->rate(), 24000);
  const auto samples = recorder->samples();
  ASSERT_EQ(samples.size(), 5u * 160);
  for (size_t i = 0; i < samples.size(); ++i) ASSERT_EQ(samples[i], static_cast<int16_t>(i / 160 + 1)) << i;

  auto unknown = std::make_shared<testing::SynthesisRecorder>();
  remote_->Synthesize(testing::SpeechOf("hi", "nobody"), unknown);
  EXPECT_EQ(unknown->Wait().code(), absl::StatusCode::kNotFound);  // the engine's error, as it said it
  EXPECT_EQ(unknown->chunks(), 0);
}

TEST_F(EngineRpcTest, StoppingASynthesisCancelsTheCall) {
  StartServer();
  auto recorder = std::make_shared<testing::SynthesisRecorder>(/*stop_after=*/2);
  remote_->Synthesize(testing::SpeechOf(std::string(200, 'x')), recorder);
  EXPECT_EQ(recorder->Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(recorder->chunks(), 2);  // nothing after the observer said stop
  EXPECT_EQ(recorder->done_count(), 1);
}

TEST_F(EngineRpcTest, StreamsAudioAndResultsBothWays) {
  StartServer();
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionConfig config;
  config.request_id = "req-1";
  auto stream = remote_->StartRecognition(config, observer);
  ASSERT_TRUE(stream.ok());
  std::vector<int16_t> chunk(1600, 7);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*stream)->Write(chunk).ok());
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_TRUE(observer->status().ok()) << observer->status();
  const auto results = observer->results();
  ASSERT_EQ(results.size(), 4u);  // three partials, one final
  EXPECT_FALSE(results[0].is_final);
  EXPECT_TRUE(results[3].is_final);
  EXPECT_EQ(results[3].transcript, "4800 samples");
  EXPECT_NEAR(results[3].words[0].end_seconds, 0.3, 0.001);
  EXPECT_EQ(fake_->last_config().request_id, "req-1");
  EXPECT_EQ(observer->done_count(), 1);
}

TEST_F(EngineRpcTest, ServiceErrorsReachTheClient) {
  StartServer(1);
  auto observer = std::make_shared<RecordingObserver>();
  speech::RecognitionConfig config;
  config.language_code = "fr-FR";
  auto stream = remote_->StartRecognition(config, observer);
  ASSERT_TRUE(stream.ok());  // the error comes back asynchronously over the wire
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(observer->status().message()), HasSubstr("en-US"));
}

// A tier in front must tell "the engine says it cannot serve this now" (it is alive) from "the
// engine cannot be reached" (it is down).
TEST_F(EngineRpcTest, AnUnavailableTheEngineAnswersIsToldFromAnUnreachableEngine) {
  StartServer(1);
  fake_->FailStreamsWith(absl::UnavailableError("no healthy engine in pool \"asr\""));
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = remote_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(160, 0)).ok());
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(observer->status().message(), "no healthy engine in pool \"asr\"");
  EXPECT_FALSE(IsUnreachable(observer->status()));
  speech::TranslationRequest hello;
  hello.texts = {"hello"};
  hello.source_language = "en";
  hello.target_language = "es";
  hello.deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  auto translated = testing::TranslateSync(*remote_, hello);
  EXPECT_EQ(translated.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(IsUnreachable(translated.status()));

  RemoteSpeechService gone("unix:/nonexistent/engine.sock", {});
  auto lost = std::make_shared<RecordingObserver>();
  auto call = gone.StartRecognition({}, lost);
  ASSERT_TRUE(call.ok());
  ASSERT_TRUE(lost->WaitDone());
  EXPECT_EQ(lost->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(lost->status().message()), HasSubstr("engine unavailable"));
  EXPECT_TRUE(IsUnreachable(lost->status()));
  auto unreached = testing::TranslateSync(gone, hello);
  EXPECT_TRUE(IsUnreachable(unreached.status())) << unreached.status();
}

TEST_F(EngineRpcTest, FlowControlRefusesThenResumes) {
  StartServer(4, /*max_buffered=*/8000);
  fake_->SetPaused(true);
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = remote_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  std::vector<int16_t> chunk(1600, 1);
  size_t written = 0;
  absl::Status s;
  for (int i = 0; i < 1000 && (s = (*stream)->Write(chunk)).ok(); ++i) written += chunk.size();
  ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GE(written, 8000u);  // the engine's buffer and the client's both filled
  fake_->SetPaused(false);
  ASSERT_TRUE(observer->WaitReady());
  ASSERT_TRUE((*stream)->Write(chunk).ok());
  written += chunk.size();
  (*stream)->Finish();
  ASSERT_TRUE(observer->WaitDone());
  ASSERT_TRUE(observer->status().ok()) << observer->status();
  EXPECT_EQ(observer->results().back().transcript, std::to_string(written) + " samples");
}

TEST_F(EngineRpcTest, CancelEndsTheEngineStream) {
  StartServer();
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = remote_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(160, 0)).ok());
  (*stream)->Cancel();
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(WaitFor([&] { return fake_->active() == 0; })) << "the engine never heard of the cancel";
}

// After the half-close nothing more may be written, so the cancel cannot go in band: it must
// not wait out the grace period meant for an engine that ignores an in-band cancel.
TEST_F(EngineRpcTest, CancelAfterFinishEndsTheCallAtOnce) {
  StartServer();
  fake_->SetPaused(true);  // the final result never comes
  auto observer = std::make_shared<RecordingObserver>();
  auto stream = remote_->StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(160, 0)).ok());
  (*stream)->Finish();
  ASSERT_TRUE(WaitFor([&] { return fake_->finishes() == 1; })) << "the half-close never reached the engine";
  (*stream)->Cancel();
  ASSERT_TRUE(observer->WaitDone(std::chrono::milliseconds(1500))) << "CANCELLED only after the 2 s grace";
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kCancelled);
  fake_->SetPaused(false);
  EXPECT_TRUE(WaitFor([&] { return fake_->active() == 0; })) << "the engine never heard of the cancel";
}

TEST_F(EngineRpcTest, DroppingTheHandleCancels) {
  StartServer();
  auto observer = std::make_shared<RecordingObserver>();
  {
    auto stream = remote_->StartRecognition({}, observer);
    ASSERT_TRUE(stream.ok());
  }
  ASSERT_TRUE(observer->WaitDone());
  EXPECT_EQ(observer->status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace voxgate::rpc
