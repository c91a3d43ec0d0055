// The endpoint's bounds on what clients can make it hold: upload bodies in memory
// (limits.max_upload_memory_bytes) and open connections (limits.max_connections).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "audio/encoder.h"
#include "core/metrics.h"
#include "gateway/gateway.h"
#include "testing/fake_speech_service.h"
#include "testing/wait_for.h"
#include "unit/gateway/raw_socket.h"

namespace voxgate::gateway {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Connect;
using testing::ReceiveUntil;
using testing::SendAll;
using testing::WaitFor;

// The value of a series in the process's metrics ("name" or "name{labels}"), or -1.
double Metric(const std::string& series) {
  const std::string text = core::Metrics().RenderText();
  const size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// Whether the upload memory held comes to `bytes` (within 10 s).
bool UploadMemoryReaches(double bytes) {
  return WaitFor([bytes] { return Metric("voxgate_upload_memory_bytes") == bytes; });
}

std::string UploadHeader(const std::string& length_header) {
  return "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\n"
         "Content-Type: multipart/form-data; boundary=x\r\n" + length_header + "\r\n\r\n";
}

// The response to `request` on a new connection (the whole of it: every request here closes).
std::string Exchange(const std::string& address, const std::string& request, seconds timeout = seconds(10)) {
  const int fd = Connect(address);
  if (fd < 0) return "";
  SendAll(fd, request);
  std::string response = ReceiveUntil(fd, "", timeout);
  close(fd);
  return response;
}

// `seconds` of 16 kHz silence as FLAC from the streaming encoder (so with no length in its header).
std::string FlacOfSilence(int seconds) {
  auto encoder = audio::AudioEncoder::Create(audio::OutputFormat::kFlac, 16000);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  std::string flac;
  const std::vector<int16_t> second(16000);
  for (int s = 0; s < seconds; ++s) flac += *(*encoder)->Encode(second);
  return flac + *(*encoder)->Finish();
}

// A whole transcription request that uploads `file` (the connection closes after it).
std::string TranscriptionRequest(const std::string& file, const std::string& response_format = "json") {
  const std::string body = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.flac\"\r\n\r\n" + file +
                           "\r\n--x\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\n" + response_format +
                           "\r\n--x--\r\n";
  return UploadHeader(absl::StrCat("Content-Length: ", body.size(), "\r\nConnection: close")) + body;
}

const char kGetModels[] = "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

class UploadLimitsTest : public ::testing::Test {
 protected:
  GatewayOptions Options() {
    GatewayOptions options;
    options.listen = "127.0.0.1:0";
    options.admin = "127.0.0.1:0";
    return options;
  }
  std::shared_ptr<voxgate::testing::FakeSpeechService> engine_ = std::make_shared<voxgate::testing::FakeSpeechService>(1);
};

TEST_F(UploadLimitsTest, UploadsOverTheMemoryBudgetAreRefusedUntilItIsFree) {
  GatewayOptions options = Options();
  options.limits.max_upload_bytes = 100000;
  options.limits.max_upload_memory_bytes = 100000 + core::kMultipartFramingBytes + 10000;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());

  // A slow upload holds its declared length from its header on.
  const int slow = Connect(gateway.listen_address());
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(SendAll(slow, UploadHeader("Content-Length: 150000") + std::string(1000, 'a')));
  ASSERT_TRUE(UploadMemoryReaches(150000)) << Metric("voxgate_upload_memory_bytes");

  // One more that does not fit is refused before its body is sent (so it never sees 100 Continue),
  // and so is a chunked one (it may grow to max_upload_bytes).
  for (const std::string length : {"Content-Length: 50000\r\nExpect: 100-continue", "Transfer-Encoding: chunked"}) {
    SCOPED_TRACE(length);
    const std::string refused = Exchange(gateway.listen_address(), UploadHeader(length));
    EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 503") << refused;
    EXPECT_NE(refused.find("Retry-After: 1\r\n"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("100 Continue"), std::string::npos) << refused;
    EXPECT_NE(refused.find("limits.max_upload_memory_bytes"), std::string::npos) << refused;
  }
  // Requests without a body are not held back.
  EXPECT_EQ(Exchange(gateway.listen_address(), kGetModels).substr(0, 12), "HTTP/1.1 200");

  // Once the slow upload is answered, its memory is free for the next.
  ASSERT_TRUE(SendAll(slow, std::string(149000, 'a')));
  const std::string answered = ReceiveUntil(slow, "\r\n\r\n", seconds(10));
  EXPECT_EQ(answered.substr(0, 12), "HTTP/1.1 400") << answered;  // not multipart: but read and answered
  close(slow);
  ASSERT_TRUE(UploadMemoryReaches(0));
  const std::string next = Exchange(gateway.listen_address(), UploadHeader("Content-Length: 50000\r\nConnection: close") + std::string(50000, 'a'));
  EXPECT_EQ(next.substr(0, 12), "HTTP/1.1 400") << next;
  gateway.Stop();
}

TEST_F(UploadLimitsTest, ConnectionsOverTheLimitAreClosedAndTheAdminListenerStillAnswers) {
  GatewayOptions options = Options();
  options.limits.max_connections = 2;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());
  const double refused_before = std::max(0.0, Metric("voxgate_connections_refused_total{reason=\"limit\"}"));

  const std::string keep_alive = "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n";
  int open[2];
  for (int& fd : open) {
    fd = Connect(gateway.listen_address());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, keep_alive));
    ASSERT_EQ(ReceiveUntil(fd, "\r\n\r\n", seconds(10)).substr(0, 12), "HTTP/1.1 200");
  }
  EXPECT_EQ(Metric("voxgate_client_connections"), 2);

  // The third is closed without an answer, at once.
  const int third = Connect(gateway.listen_address());
  ASSERT_GE(third, 0);
  SendAll(third, keep_alive);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReceiveUntil(third, "", seconds(10)), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5)) << "closed, not left waiting";
  close(third);
  EXPECT_EQ(Metric("voxgate_connections_refused_total{reason=\"limit\"}"), refused_before + 1);

  // Probes and scrapes are never refused.
  const std::string health = Exchange(gateway.admin_address(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(health.substr(0, 12), "HTTP/1.1 200") << health;

  // A closed connection frees its place.
  close(open[0]);
  ASSERT_TRUE(WaitFor([] { return Metric("voxgate_client_connections") == 1; }));
  EXPECT_EQ(Exchange(gateway.listen_address(), kGetModels).substr(0, 12), "HTTP/1.1 200");
  close(open[1]);
  gateway.Stop();
}

// An hour of audio uploaded as a small file reaches the engine whole, although the endpoint never
// holds it decoded, and although the engine answers more often than a stream may queue results
// (the fake answers every second of audio).
TEST_F(UploadLimitsTest, AnHourLongUploadIsTranscribedWhole) {
  Gateway gateway(Options(), engine_);
  ASSERT_TRUE(gateway.Start().ok());
  const std::string response = Exchange(gateway.listen_address(), TranscriptionRequest(FlacOfSilence(3600), "text"),
                                        seconds(120));  // ~2 s here, but much longer under ASan
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 200") << response.substr(0, 500);
  EXPECT_NE(response.find("\r\n\r\n57600000 samples"), std::string::npos) << response.substr(0, 500);
  gateway.Stop();
}

// Whatever becomes of a request, the upload memory it held is returned: answered on a kept-alive
// connection, refused for its key, over the body limit, upgraded to a WebSocket, a speech request.
TEST_F(UploadLimitsTest, EveryWayARequestEndsReturnsItsUploadMemory) {
  GatewayOptions options = Options();
  options.limits.max_upload_bytes = 100000;
  setenv("UPLOAD_LIMITS_TEST_KEY", "secret", 1);
  auto keys = ApiKeys::FromConfig({{"tester", "", "", "UPLOAD_LIMITS_TEST_KEY"}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  options.api_keys = *keys;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());
  const std::string key = "Authorization: Bearer secret\r\n";

  // Two uploads, one after the other, on one connection.
  const int fd = Connect(gateway.listen_address());
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(SendAll(fd, UploadHeader(key + "Content-Length: 5000") + std::string(5000, 'a')));
    const std::string answer = ReceiveUntil(fd, "}", seconds(10));
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 400") << answer;
    EXPECT_TRUE(UploadMemoryReaches(0)) << i;
  }
  close(fd);
  // No key: refused from the header, before any memory is taken.
  const std::string unauthorized = Exchange(gateway.listen_address(), UploadHeader("Content-Length: 50000") + std::string(50000, 'a'));
  EXPECT_EQ(unauthorized.substr(0, 12), "HTTP/1.1 401") << unauthorized;
  EXPECT_TRUE(UploadMemoryReaches(0));
  // A chunked body that grows past the limit.
  std::string chunked = UploadHeader(key + "Transfer-Encoding: chunked");
  for (int i = 0; i < 30; ++i) chunked += absl::StrCat(absl::Hex(8192), "\r\n", std::string(8192, 'a'), "\r\n");
  const std::string too_big = Exchange(gateway.listen_address(), chunked + "0\r\n\r\n");
  EXPECT_EQ(too_big.substr(0, 12), "HTTP/1.1 413") << too_big;
  EXPECT_TRUE(UploadMemoryReaches(0));
  // A speech request (streamed by its own code path) and a WebSocket stream.
  const std::string speech_body = R"({"model": "tts-1", "input": "hi", "voice": "fake-voice"})";
  const std::string speech = Exchange(gateway.listen_address(),
      absl::StrCat("POST /v1/audio/speech HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", key,
                   "Content-Type: application/json\r\nContent-Length: ", speech_body.size(), "\r\n\r\n", speech_body));
  EXPECT_EQ(speech.substr(0, 12), "HTTP/1.1 200") << speech;
  EXPECT_TRUE(UploadMemoryReaches(0));
  const int ws = Connect(gateway.listen_address());
  ASSERT_TRUE(SendAll(ws, testing::WebSocketUpgrade("/v1/recognize?language=en-US", key)));
  EXPECT_NE(ReceiveUntil(ws, "\r\n\r\n", seconds(10)).find(" 101 "), std::string::npos);
  EXPECT_EQ(Metric("voxgate_upload_memory_bytes"), 0);
  close(ws);
  gateway.Stop();
  unsetenv("UPLOAD_LIMITS_TEST_KEY");
}

// A client that stops sending its body is cut off after the idle timeout, told why (408), and its
// memory freed.
TEST_F(UploadLimitsTest, AStalledUploadIsCutOffAfterTheIdleTimeout) {
  GatewayOptions options = Options();
  options.limits.idle_timeout_seconds = 0.5;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());
  const int fd = Connect(gateway.listen_address());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, UploadHeader("Content-Length: 100000") + std::string(1000, 'a')));
  ASSERT_TRUE(UploadMemoryReaches(100000));
  const auto start = std::chrono::steady_clock::now();
  const std::string answer = ReceiveUntil(fd, "", seconds(10));
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 408 "));
  EXPECT_THAT(answer, ::testing::HasSubstr("Connection: close"));
  EXPECT_THAT(answer, ::testing::HasSubstr(R"("type":"invalid_request_error")"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(UploadMemoryReaches(0));
  close(fd);
  gateway.Stop();
}

// limits.request_timeout_seconds bounds a request's upload and recognition together: a slow
// upload leaves its recognition only what is left.
TEST_F(UploadLimitsTest, TheRequestTimeoutCountsTheUploadToo) {
  GatewayOptions options = Options();
  options.limits.request_timeout_seconds = 3;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());
  engine_->SetPaused(true);  // recognition never ends
  const std::string request = TranscriptionRequest(FlacOfSilence(1));
  const int fd = Connect(gateway.listen_address());
  ASSERT_GE(fd, 0);
  const auto start = std::chrono::steady_clock::now();
  const size_t piece = request.size() / 6 + 1;  // the body over 2.5 s, a piece every 0.5 s
  for (size_t at = 0; at < request.size(); at += piece) {
    if (at > 0) std::this_thread::sleep_for(milliseconds(500));
    ASSERT_TRUE(SendAll(fd, request.substr(at, piece)));
  }
  const std::string response = ReceiveUntil(fd, "", seconds(10));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 504") << response;
  EXPECT_LT(took, 4.5) << "the recognition got a timeout of its own after the 2.5 s upload";
  engine_->SetPaused(false);
  gateway.Stop();
}

// Audio over limits.max_stream_seconds is refused with 413 before an engine hears any of it.
TEST_F(UploadLimitsTest, AudioOverTheLengthLimitIsRefusedBeforeRecognition) {
  GatewayOptions options = Options();
  options.limits.max_stream_seconds = 10;
  Gateway gateway(options, engine_);
  ASSERT_TRUE(gateway.Start().ok());
  const std::string response = Exchange(gateway.listen_address(), TranscriptionRequest(FlacOfSilence(11)));
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 413") << response;
  EXPECT_NE(response.find("audio is longer than the limit of 10 s"), std::string::npos) << response;
  EXPECT_EQ(engine_->started(), 0);
  gateway.Stop();
}

}  // namespace
}  // namespace voxgate::gateway
