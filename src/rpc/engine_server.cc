#include "rpc/engine_server.h"

#include <grpcpp/grpcpp.h>

#include <bit>
#include <deque>
#include <mutex>

#include "core/log.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rpc/call_metadata.h"
#include "rpc/convert.h"
#include "voxgate/v1/engine.grpc.pb.h"

namespace voxgate::rpc {
namespace {

// Results waiting for the client beyond this many mean it stopped reading.
constexpr size_t kMaxQueuedResponses = 1024;

// One call this tier serves, for its access line ("rpc"): the tier's span of the caller's trace,
// the report the tiers below fill in (sent back in the trailing metadata), and the timing.
class CallLog {
 public:
  CallLog(const char* method, const char* service, grpc::CallbackServerContext* context, const std::string& model_version)
      : method_(method), service_(service), trace_(ReceiveTrace(*context)), report_(std::make_shared<speech::CallReport>()) {
    if (!model_version.empty()) report_->SetModelVersion(model_version);
  }

  // Gives a request this call's span and report.
  template <typename SpeechRequest>
  void Stamp(SpeechRequest& request) {
    request.trace = trace_;
    request.report = report_;
    request_id_ = request.request_id;
  }
  void set_language(std::string language) { language_ = std::move(language); }
  void AddAudioSeconds(double s) { audio_seconds_ += s; }

  // Puts the report and the answered mark in the trailing metadata and writes the line; call
  // just before Finish.
  void Finish(grpc::CallbackServerContext* context, const grpc::Status& status) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const auto report = report_->values();
    SendReport(*context, report);
    MarkAnswered(*context);
    const absl::Status s = FromGrpcStatus(status);
    const int http = speech::HttpStatusFor(s);
    nlohmann::json fields = {{"httpRequest",
                              {{"requestMethod", "POST"},
                               {"requestUrl", method_},
                               {"status", http},
                               {"latency", std::to_string(seconds) + "s"},
                               {"protocol", "gRPC"}}},
                             {"route", method_},
                             {"service", service_},
                             {"request_id", request_id_},
                             {"outcome", speech::OutcomeFor(http)}};
    if (!language_.empty()) fields["language"] = language_;
    if (audio_seconds_ > 0) fields["audio_seconds"] = audio_seconds_;
    speech::AddCallReportFields(fields, report, audio_seconds_, seconds);
    if (!s.ok()) {
      fields["error_code"] = speech::ErrorCode(s);
      fields["error"] = speech::ShownMessage(s);
    }
    core::AddTraceFields(fields, trace_);
    core::Log(http >= 500 ? core::Severity::kWarning : core::Severity::kInfo, "rpc", std::move(fields));
  }

 private:
  const char* method_;
  const char* service_;
  const core::TraceContext trace_;
  const speech::CallReportPtr report_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string request_id_, language_;
  double audio_seconds_ = 0;
};

// One StreamingRecognize call. gRPC owns the reactor and deletes it after OnDone; it is only
// finished once the service's stream has reported OnDone, so the observer never outlives it.
class RecognizeReactor : public grpc::ServerBidiReactor<v1::StreamingRecognizeRequest, v1::StreamingRecognizeResponse> {
 public:
  RecognizeReactor(speech::SpeechServicePtr service, grpc::CallbackServerContext* context, const std::string& model_version)
      : service_(std::move(service)), context_(context),
        log_("/voxgate.v1.Engine/StreamingRecognize", "asr", context, model_version) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock lock(mu_);
    if (!ok) {
      // Client half-closed (end of audio) or went away (OnCancel follows then).
      if (!stream_) {
        FinishLocked(lock, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no streaming_config was sent"));
      } else if (!finished_audio_) {
        finished_audio_ = true;
        stream_->Finish();
      }
      return;
    }
    if (!stream_) {
      if (!request_.has_streaming_config()) {
        FinishLocked(lock, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must carry streaming_config"));
        return;
      }
      speech::RecognitionConfig config = FromProto(request_.streaming_config());
      log_.Stamp(config);
      log_.set_language(config.language_code);
      sample_rate_ = std::max(config.sample_rate_hertz, 1);
      auto stream = service_->StartRecognition(config, std::make_shared<Observer>(this));
      if (!stream.ok()) {
        FinishLocked(lock, ToGrpcStatus(stream.status()));
        return;
      }
      stream_ = std::move(*stream);
      lock.unlock();
      StartRead(&request_);
      return;
    }
    if (request_.streaming_request_case() != v1::StreamingRecognizeRequest::kAudioContent) {
      // A cancel, or a second config (a client bug): end the stream; OnDone finishes the call.
      stream_->Cancel();
      return;
    }
    const std::string& bytes = request_.audio_content();
    pending_audio_.resize(bytes.size() / 2);
    log_.AddAudioSeconds(static_cast<double>(pending_audio_.size()) / sample_rate_);
    for (size_t i = 0; i < pending_audio_.size(); ++i) {
      pending_audio_[i] = static_cast<int16_t>(static_cast<uint8_t>(bytes[2 * i]) | (static_cast<uint8_t>(bytes[2 * i + 1]) << 8));
    }
    WritePendingLocked(lock);
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    if (stream_) stream_->Cancel();
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    write_in_flight_ = false;
    if (ok && !responses_.empty()) responses_.pop_front();
    if (!ok) responses_.clear();
    SendNextLocked(lock);
  }

  void OnDone() override { delete this; }

 private:
  struct Observer : speech::RecognitionObserver {
    explicit Observer(RecognizeReactor* r) : reactor(r) {}
    void OnResult(speech::RecognitionResult result) override { reactor->OnServiceResult(std::move(result)); }
    void OnDone(absl::Status status) override { reactor->OnServiceDone(std::move(status)); }
    void OnReadyForAudio() override { reactor->OnServiceReady(); }
    RecognizeReactor* reactor;
  };

  void OnServiceResult(speech::RecognitionResult result) {
    std::unique_lock lock(mu_);
    if (responses_.size() >= kMaxQueuedResponses) {
      if (stream_) stream_->Cancel();
      return;
    }
    v1::StreamingRecognizeResponse response;
    *response.add_results() = ToProto(result);
    responses_.push_back(std::move(response));
    SendNextLocked(lock);
  }

  void OnServiceDone(absl::Status status) {
    std::unique_lock lock(mu_);
    final_status_ = ToGrpcStatus(status);
    service_done_ = true;
    SendNextLocked(lock);
  }

  void OnServiceReady() {
    std::unique_lock lock(mu_);
    if (!pending_audio_.empty()) WritePendingLocked(lock);
  }

  // Hands the audio just read to the service; reads more only once it was taken (flow control).
  void WritePendingLocked(std::unique_lock<std::mutex>& lock) {
    if (service_done_ || finished_audio_) return;
    absl::Status s = stream_->Write(pending_audio_);
    if (absl::IsResourceExhausted(s)) return;  // OnReadyForAudio calls again
    pending_audio_.clear();
    if (!s.ok()) {
      stream_->Cancel();
      return;
    }
    lock.unlock();
    StartRead(&request_);
  }

  // Writes the next queued result, or finishes once the service is done and all are written.
  void SendNextLocked(std::unique_lock<std::mutex>& lock) {
    if (write_in_flight_ || finish_called_) return;
    if (!responses_.empty()) {
      write_in_flight_ = true;
      const v1::StreamingRecognizeResponse* next = &responses_.front();
      lock.unlock();
      StartWrite(next);
      return;
    }
    if (service_done_) FinishLocked(lock, final_status_);
  }

  void FinishLocked(std::unique_lock<std::mutex>& lock, grpc::Status status) {
    if (finish_called_) return;
    finish_called_ = true;
    lock.unlock();
    log_.Finish(context_, status);
    Finish(std::move(status));
  }

  speech::SpeechServicePtr service_;
  grpc::CallbackServerContext* const context_;
  CallLog log_;
  int sample_rate_ = 16000;
  std::mutex mu_;
  v1::StreamingRecognizeRequest request_;
  speech::RecognitionStreamPtr stream_;
  std::vector<int16_t> pending_audio_;
  std::deque<v1::StreamingRecognizeResponse> responses_;
  bool write_in_flight_ = false;
  bool finished_audio_ = false;
  bool service_done_ = false;
  bool finish_called_ = false;
  grpc::Status final_status_;
};

// One Synthesize call: audio chunks from the service are queued and written one at a time. Like
// RecognizeReactor it finishes only after the service's OnDone, so the observer never outlives it.
class SynthesizeReactor : public grpc::ServerWriteReactor<v1::SynthesizeResponse> {
 public:
  // A client this far behind has stopped reading: the synthesis is stopped.
  static constexpr size_t kMaxQueuedBytes = 64 << 20;

  SynthesizeReactor(speech::SpeechServicePtr service, grpc::CallbackServerContext* context, const v1::SynthesizeRequest& request,
                    const std::string& model_version)
      : context_(context), log_("/voxgate.v1.Engine/Synthesize", "tts", context, model_version) {
    speech::SynthesisRequest r = FromProto(request);
    r.deadline = context->deadline();
    log_.Stamp(r);
    log_.set_language(r.language_code);
    service->Synthesize(std::move(r), std::make_shared<Observer>(this));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    write_in_flight_ = false;
    if (!ok) stop_ = true;  // the client is gone: stop the synthesis, drop what is queued
    queued_bytes_ -= responses_.front().audio_content().size();
    responses_.pop_front();
    if (stop_) {
      responses_.clear();
      queued_bytes_ = 0;
    }
    SendNextLocked(lock);
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    stop_ = true;
  }

  void OnDone() override { delete this; }

 private:
  struct Observer : speech::SynthesisObserver {
    explicit Observer(SynthesizeReactor* r) : reactor(r) {}
    bool OnAudio(std::span<const int16_t> samples, int rate) override { return reactor->OnServiceAudio(samples, rate); }
    void OnDone(absl::Status status) override { reactor->OnServiceDone(std::move(status)); }
    SynthesizeReactor* reactor;
  };

  bool OnServiceAudio(std::span<const int16_t> samples, int rate) {
    std::unique_lock lock(mu_);
    if (stop_) return false;
    if (queued_bytes_ + samples.size_bytes() > kMaxQueuedBytes) {
      overflowed_ = true;
      return false;
    }
    v1::SynthesizeResponse response;
    response.set_audio_content(reinterpret_cast<const char*>(samples.data()), samples.size_bytes());  // little-endian hosts only
    response.set_sample_rate_hertz(rate);
    log_.AddAudioSeconds(static_cast<double>(samples.size()) / std::max(rate, 1));
    queued_bytes_ += samples.size_bytes();
    responses_.push_back(std::move(response));
    SendNextLocked(lock);
    return true;
  }

  void OnServiceDone(absl::Status status) {
    std::unique_lock lock(mu_);
    if (overflowed_) status = absl::ResourceExhaustedError("the client stopped reading the synthesized audio");
    final_status_ = ToGrpcStatus(status);
    service_done_ = true;
    SendNextLocked(lock);
  }

  void SendNextLocked(std::unique_lock<std::mutex>& lock) {
    if (write_in_flight_ || finish_called_) return;
    if (!responses_.empty()) {
      write_in_flight_ = true;
      const v1::SynthesizeResponse* next = &responses_.front();
      lock.unlock();
      StartWrite(next);
      return;
    }
    if (service_done_) {
      finish_called_ = true;
      lock.unlock();
      log_.Finish(context_, final_status_);
      Finish(final_status_);
    }
  }

  grpc::CallbackServerContext* const context_;
  CallLog log_;
  std::mutex mu_;
  std::deque<v1::SynthesizeResponse> responses_;
  size_t queued_bytes_ = 0;
  bool write_in_flight_ = false;
  bool stop_ = false;
  bool overflowed_ = false;
  bool service_done_ = false;
  bool finish_called_ = false;
  grpc::Status final_status_;
};

static_assert(std::endian::native == std::endian::little, "audio_content is sent as the host's int16");

}  // namespace

class EngineServer::Service : public v1::Engine::CallbackService {
 public:
  Service(speech::SpeechServicePtr service, std::string model_version)
      : service_(std::move(service)), model_version_(std::move(model_version)) {}

  grpc::ServerBidiReactor<v1::StreamingRecognizeRequest, v1::StreamingRecognizeResponse>* StreamingRecognize(
      grpc::CallbackServerContext* context) override {
    return new RecognizeReactor(service_, context, model_version_);
  }

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* context, const v1::DescribeRequest*,
                                     v1::DescribeResponse* response) override {
    auto* reactor = context->DefaultReactor();
    auto caps = service_->Describe();
    if (caps.ok()) *response = ToProto(*caps);
    MarkAnswered(*context);
    reactor->Finish(ToGrpcStatus(caps.status()));
    return reactor;
  }

  // The service answers through its callback (an engine on its own threads): no gRPC thread waits.
  grpc::ServerUnaryReactor* Translate(grpc::CallbackServerContext* context, const v1::TranslateRequest* request,
                                      v1::TranslateResponse* response) override {
    auto* reactor = context->DefaultReactor();
    speech::TranslationRequest r = FromProto(*request);
    r.deadline = context->deadline();
    auto log = std::make_shared<CallLog>("/voxgate.v1.Engine/Translate", "mt", context, model_version_);
    log->Stamp(r);
    log->set_language(r.source_language);
    service_->Translate(std::move(r), [reactor, response, context, log](absl::StatusOr<speech::TranslationResponse> result) {
      if (result.ok()) *response = ToProto(*result);
      const grpc::Status status = ToGrpcStatus(result.status());
      log->Finish(context, status);
      reactor->Finish(status);
    });
    return reactor;
  }

  grpc::ServerWriteReactor<v1::SynthesizeResponse>* Synthesize(grpc::CallbackServerContext* context,
                                                               const v1::SynthesizeRequest* request) override {
    return new SynthesizeReactor(service_, context, *request, model_version_);
  }

 private:
  speech::SpeechServicePtr service_;
  const std::string model_version_;
};

// grpc.health.v1 Check for "" (the process) and "voxgate.v1.Engine". Our own small service
// rather than gRPC's default one, whose extra thread double-freed a completion queue under ASan
// (gRPC 1.51). Watch is not offered (UNIMPLEMENTED): the pool and Kubernetes use Check.
class EngineServer::Health : public grpc::health::v1::Health::CallbackService {
 public:
  explicit Health(speech::SpeechService& service) : service_(service) {}
  void SetServing(bool serving) { serving_ = serving; }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    auto* reactor = context->DefaultReactor();
    if (!request->service().empty() && request->service() != v1::Engine::service_full_name()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service " + request->service()));
      return reactor;
    }
    // Serving: switched on by the process, and the service can take streams (for a tier: a
    // serving engine behind some route).
    response->set_status(serving_ && service_.IsServing() ? grpc::health::v1::HealthCheckResponse::SERVING
                                                          : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  speech::SpeechService& service_;
  std::atomic<bool> serving_{false};
};

absl::StatusOr<std::unique_ptr<EngineServer>> EngineServer::Start(speech::SpeechServicePtr service,
                                                                  const std::string& address, std::string model_version) {
  std::unique_ptr<EngineServer> server(new EngineServer());
  server->health_ = std::make_unique<Health>(*service);
  server->service_ = std::make_unique<Service>(std::move(service), std::move(model_version));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->health_.get());
  builder.SetMaxReceiveMessageSize(4 << 20);
  server->server_ = builder.BuildAndStart();
  if (!server->server_) return absl::UnavailableError("cannot listen on " + address);
  server->address_ = address;
  if (address.rfind("unix:", 0) != 0) {
    server->address_ = address.substr(0, address.rfind(':') + 1) + std::to_string(port);
  }
  server->SetServing(false);
  return server;
}

EngineServer::EngineServer() = default;
EngineServer::~EngineServer() { Shutdown(std::chrono::milliseconds(0)); }

void EngineServer::SetServing(bool serving) {
  if (!server_) return;
  health_->SetServing(serving);
}

void EngineServer::Shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace voxgate::rpc
