// POST /v1/audio/transcriptions: a `model` is unknown only when the serving engines do not list
// it (while none serves the client must hear "retry", not "no such model": the OpenAI SDKs retry
// a 503 and never a 404); a client that hangs up frees its engine slot at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
#include "testing/wait_for.h"
#include "unit/gateway/raw_socket.h"

namespace voxgate::gateway {
namespace {

// A pool with no serving engine: it lists no model and refuses streams for now.
class NoServingEngine : public testing::FakeSpeechService {
 public:
  absl::StatusOr<speech::Capabilities> Describe() override { return speech::Capabilities{}; }
  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig&, speech::RecognitionObserverPtr) override {
    return absl::UnavailableError("no healthy engine for en-US; retry after 1 s");
  }
};

// An engine that takes audio and never answers (a long clip, a slow engine): a stream ends only
// when cancelled.
class NeverAnswers : public testing::FakeSpeechService {
 public:
  ~NeverAnswers() override {
    std::lock_guard lock(mu_);
    for (std::thread& t : callbacks_) t.join();
  }
  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig&,
                                                                speech::RecognitionObserverPtr observer) override {
    ++open_;
    return std::make_unique<Stream>(this, std::move(observer));
  }
  int open() const { return open_; }

 private:
  class Stream : public speech::RecognitionStream {
   public:
    Stream(NeverAnswers* engine, speech::RecognitionObserverPtr observer) : engine_(engine), observer_(std::move(observer)) {}
    ~Stream() override { Cancel(); }
    absl::Status Write(std::span<const int16_t>) override { return absl::OkStatus(); }
    void Finish() override {}
    void Cancel() override {
      if (observer_ == nullptr) return;
      --engine_->open_;
      std::lock_guard lock(engine_->mu_);  // OnDone never comes from inside the call
      engine_->callbacks_.emplace_back([o = std::move(observer_)] { o->OnDone(absl::CancelledError("cancelled")); });
    }

   private:
    NeverAnswers* engine_;
    speech::RecognitionObserverPtr observer_;
  };
  std::atomic<int> open_{0};
  std::mutex mu_;
  std::vector<std::thread> callbacks_;
};

// One second of 16 kHz silence as a WAV file.
std::string SilentWav() {
  const uint32_t data_bytes = 32000;
  auto u32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  return "RIFF" + u32(36 + data_bytes) + "WAVEfmt " + u32(16) + std::string("\x01\x00\x01\x00", 4) + u32(16000) + u32(32000) +
         std::string("\x02\x00\x10\x00", 4) + "data" + u32(data_bytes) + std::string(data_bytes, '\0');
}

// Sends a transcription request; returns the connection.
int SendTranscription(const Gateway& gateway, const std::string& model) {
  const std::string body = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n" + SilentWav() +
                           "\r\n--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n--x--\r\n";
  const int fd = testing::Connect(gateway.listen_address());
  EXPECT_GE(fd, 0);
  EXPECT_TRUE(testing::SendAll(fd, absl::StrCat("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                                "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ",
                                                body.size(), "\r\n\r\n", body)));
  return fd;
}

std::string Transcribe(const Gateway& gateway, const std::string& model) {
  const int fd = SendTranscription(gateway, model);
  const std::string response = testing::ReceiveUntil(fd, "", std::chrono::seconds(10));
  close(fd);
  return response;
}

GatewayOptions Options() {
  GatewayOptions options;
  options.listen = "127.0.0.1:0";
  options.admin = "127.0.0.1:0";
  return options;
}

TEST(TranscriptionTest, AModelTheServingEnginesDoNotListIsUnknown) {
  Gateway gateway(Options(), std::make_shared<testing::FakeSpeechService>(1));
  ASSERT_TRUE(gateway.Start().ok());
  const std::string unknown = Transcribe(gateway, "whisper-9");
  EXPECT_EQ(unknown.substr(0, 12), "HTTP/1.1 404") << unknown;
  EXPECT_NE(unknown.find("unknown model \\\"whisper-9\\\" (available: fake-model; OpenAI's whisper-1, gpt-4o-transcribe and gpt-4o-mini-transcribe mean the default)"),
            std::string::npos) << unknown;  // ASR models only
  for (const char* model : {"fake-model", "whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"}) {
    const std::string known = Transcribe(gateway, model);
    EXPECT_EQ(known.substr(0, 12), "HTTP/1.1 200") << model << ": " << known;
  }
  gateway.Stop();
}

TEST(TranscriptionTest, WithNoEngineServingAModelIsNotUnknownButUnavailable) {
  Gateway gateway(Options(), std::make_shared<NoServingEngine>());
  ASSERT_TRUE(gateway.Start().ok());
  const std::string response = Transcribe(gateway, "fake-model");
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 503") << response;
  EXPECT_NE(response.find("no healthy engine"), std::string::npos) << response;
  gateway.Stop();
}

TEST(TranscriptionTest, AClientThatHangsUpFreesItsEngineSlotAtOnce) {
  auto engine = std::make_shared<NeverAnswers>();
  GatewayOptions options = Options();
  options.limits.request_timeout_seconds = 60;
  Gateway gateway(options, engine);
  ASSERT_TRUE(gateway.Start().ok());
  const int fd = SendTranscription(gateway, "");
  ASSERT_TRUE(testing::WaitFor([&] { return engine->open() == 1; }));
  EXPECT_EQ(testing::ReceiveUntil(fd, "", std::chrono::milliseconds(300)), "") << "no answer from an engine that never answers";
  close(fd);  // the client gives up
  EXPECT_TRUE(testing::WaitFor([&] { return engine->open() == 0; }, std::chrono::seconds(5))) << "the abandoned stream still runs";
  EXPECT_TRUE(testing::WaitFor([&] { return gateway.active_requests() == 0; }, std::chrono::seconds(5)));
  gateway.Stop();
}

}  // namespace
}  // namespace voxgate::gateway
