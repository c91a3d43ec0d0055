// POST /v1/audio/transcriptions with a `model`: unknown only when the serving engines do not list
// it. While none serves (all loading, or all down) the client must hear "retry", not "no such
// model": the OpenAI SDKs retry a 503 and never a 404.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
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

// One second of 16 kHz silence as a WAV file.
std::string SilentWav() {
  const uint32_t data_bytes = 32000;
  auto u32 = [](uint32_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
  return "RIFF" + u32(36 + data_bytes) + "WAVEfmt " + u32(16) + std::string("\x01\x00\x01\x00", 4) + u32(16000) + u32(32000) +
         std::string("\x02\x00\x10\x00", 4) + "data" + u32(data_bytes) + std::string(data_bytes, '\0');
}

std::string Transcribe(const Gateway& gateway, const std::string& model) {
  const std::string body = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n" + SilentWav() +
                           "\r\n--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + model + "\r\n--x--\r\n";
  const int fd = testing::Connect(gateway.listen_address());
  EXPECT_GE(fd, 0);
  EXPECT_TRUE(testing::SendAll(fd, absl::StrCat("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                                "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: ",
                                                body.size(), "\r\n\r\n", body)));
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

TEST(TranscriptionModelTest, AModelTheServingEnginesDoNotListIsUnknown) {
  Gateway gateway(Options(), std::make_shared<testing::FakeSpeechService>(1));
  ASSERT_TRUE(gateway.Start().ok());
  const std::string unknown = Transcribe(gateway, "whisper-9");
  EXPECT_EQ(unknown.substr(0, 12), "HTTP/1.1 404") << unknown;
  EXPECT_NE(unknown.find("unknown model \\\"whisper-9\\\" (available: whisper-1 as an alias of the default, fake-model)"),
            std::string::npos) << unknown;  // ASR models only
  const std::string known = Transcribe(gateway, "fake-model");
  EXPECT_EQ(known.substr(0, 12), "HTTP/1.1 200") << known;
  gateway.Stop();
}

TEST(TranscriptionModelTest, WithNoEngineServingAModelIsNotUnknownButUnavailable) {
  Gateway gateway(Options(), std::make_shared<NoServingEngine>());
  ASSERT_TRUE(gateway.Start().ok());
  const std::string response = Transcribe(gateway, "fake-model");
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 503") << response;
  EXPECT_NE(response.find("no healthy engine"), std::string::npos) << response;
  gateway.Stop();
}

}  // namespace
}  // namespace voxgate::gateway
