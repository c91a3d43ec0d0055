#include "rpc/remote_speech_service.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "rpc/call_metadata.h"
#include "rpc/convert.h"
#include "voxgate/v1/engine.grpc.pb.h"

namespace voxgate::rpc {
namespace {

constexpr char kUnreachable[] = "type.voxgate.dev/unreachable";

// A call's status as the caller sees it: UNAVAILABLE that the engine did not answer itself
// says so, and is marked for IsUnreachable.
absl::Status StatusOf(const grpc::ClientContext& context, const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE || WasAnswered(context)) return FromGrpcStatus(status);
  absl::Status s = absl::UnavailableError("engine unavailable: " + status.error_message());
  s.SetPayload(kUnreachable, absl::Cord());
  return s;
}

// Runs a callback at a deadline, for the few calls that need a fallback cancel. One thread for the
// process, never destroyed (gRPC's callback Alarm double-freed its completion queue under ASan).
class DelayedActions {
 public:
  static DelayedActions& Get() {
    static auto* actions = new DelayedActions();
    return *actions;
  }
  void At(std::chrono::steady_clock::time_point when, std::function<void()> action) {
    {
      std::lock_guard lock(mu_);
      actions_.emplace(when, std::move(action));
    }
    cv_.notify_one();
  }

 private:
  DelayedActions() {
    std::thread([this] { Run(); }).detach();
  }
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      if (actions_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto next = actions_.begin();
      if (cv_.wait_until(lock, next->first) == std::cv_status::no_timeout) continue;
      auto action = std::move(actions_.begin()->second);
      actions_.erase(actions_.begin());
      lock.unlock();
      action();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> actions_;
};

}  // namespace

// One StreamingRecognize call: a client reactor that owns itself from StartCall until OnDone.
// The caller's handle and the reactor share it through shared_ptr.
//
// The caller's Write/Finish/Cancel start gRPC operations from outside the reactions, which gRPC
// allows only while the reactor holds the call open (AddHold): the hold is released once the
// half-close is sent, or once the call is ending (the server finished, so reads failed), after
// which no operation starts from outside.
class RemoteSpeechService::Call
    : public grpc::ClientBidiReactor<v1::StreamingRecognizeRequest, v1::StreamingRecognizeResponse>,
      public std::enable_shared_from_this<Call> {
 public:
  Call(speech::RecognitionObserverPtr observer, size_t max_buffered_samples)
      : observer_(std::move(observer)), max_buffered_samples_(max_buffered_samples) {}

  void Start(v1::Engine::Stub* stub, const speech::RecognitionConfig& config) {
    self_ = shared_from_this();
    report_ = config.report;
    SendTrace(context_, config.trace);
    stub->async()->StreamingRecognize(&context_, this);
    v1::StreamingRecognizeRequest first;
    *first.mutable_streaming_config() = ToProto(config);
    queue_.push_back(std::move(first));
    write_in_flight_ = true;
    AddHold();
    StartWrite(&queue_.front());
    StartRead(&response_);
    StartCall();
  }

  absl::Status Write(std::span<const int16_t> samples) {
    std::unique_lock lock(mu_);
    if (writes_done_ || ending_) return absl::FailedPreconditionError("the stream has ended");
    if (buffered_samples_ + samples.size() > max_buffered_samples_) {
      refused_ = true;
      return absl::ResourceExhaustedError("the stream's send buffer is full");
    }
    v1::StreamingRecognizeRequest request;
    std::string* bytes = request.mutable_audio_content();
    bytes->resize(samples.size() * 2);
    for (size_t i = 0; i < samples.size(); ++i) {
      const auto u = static_cast<uint16_t>(samples[i]);
      (*bytes)[2 * i] = static_cast<char>(u & 0xff);
      (*bytes)[2 * i + 1] = static_cast<char>(u >> 8);
    }
    buffered_samples_ += samples.size();
    queue_.push_back(std::move(request));
    SendNextLocked(lock);
    return absl::OkStatus();
  }

  void Finish() {
    std::unique_lock lock(mu_);
    if (writes_done_) return;
    writes_done_ = true;
    SendNextLocked(lock);
  }

  // Asks the engine to end the stream (in band, so OnDone comes once the engine has freed the
  // stream's decoder and the pool's count stays true); cancels the call outright if the engine
  // does not answer within kCancelGrace, or at once after the half-close (nothing may be written
  // after it).
  void Cancel() {
    {
      std::unique_lock lock(mu_);
      if (ending_ || cancel_sent_) return;
      cancel_sent_ = true;
      if (writes_done_sent_) {
        lock.unlock();
        context_.TryCancel();
        return;
      }
      writes_done_ = true;
      // Audio not yet on the wire is dropped; a write in flight must stay until it completes.
      while (queue_.size() > (write_in_flight_ ? 1u : 0u)) {
        buffered_samples_ -= queue_.back().audio_content().size() / 2;
        queue_.pop_back();
      }
      v1::StreamingRecognizeRequest cancel;
      cancel.set_cancel(true);
      queue_.push_back(std::move(cancel));
      SendNextLocked(lock);
    }
    DelayedActions::Get().At(std::chrono::steady_clock::now() + kCancelGrace, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->context_.TryCancel();
    });
  }

  void OnWriteDone(bool ok) override {
    auto keep = shared_from_this();  // releasing the hold may run OnDone inline
    std::unique_lock lock(mu_);
    write_in_flight_ = false;
    if (!ok) ending_ = true;  // the call is ending; OnDone reports why
    if (ending_) {
      ReleaseHoldLocked(lock);
      return;
    }
    buffered_samples_ -= queue_.front().audio_content().size() / 2;
    queue_.pop_front();
    const bool notify = refused_ && buffered_samples_ <= max_buffered_samples_ / 2;
    if (notify) refused_ = false;
    SendNextLocked(lock);
    if (lock.owns_lock()) lock.unlock();
    if (notify) observer_->OnReadyForAudio();
  }

  void OnWritesDoneDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The server has finished: no more operations from outside; let OnDone come.
      auto keep = shared_from_this();
      std::unique_lock lock(mu_);
      ending_ = true;
      if (!write_in_flight_) ReleaseHoldLocked(lock);
      return;
    }
    for (const auto& result : response_.results()) observer_->OnResult(FromProto(result));
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    ReceiveReport(context_, report_.get());
    observer_->OnDone(StatusOf(context_, status));
    observer_.reset();
    self_.reset();  // may delete this
  }

 private:
  // Starts the next write, or half-closes once all audio is sent after Finish. May unlock.
  void SendNextLocked(std::unique_lock<std::mutex>& lock) {
    if (write_in_flight_ || ending_) return;
    if (!queue_.empty()) {
      write_in_flight_ = true;
      const auto* next = &queue_.front();
      lock.unlock();
      StartWrite(next);
      lock.lock();
      return;
    }
    if (writes_done_ && !writes_done_sent_) {
      writes_done_sent_ = true;
      lock.unlock();
      StartWritesDone();
      lock.lock();
      ReleaseHoldLocked(lock);  // nothing more starts from outside a reaction
    }
  }

  // Releases the hold once. Leaves the lock released: OnDone may run inside RemoveHold.
  void ReleaseHoldLocked(std::unique_lock<std::mutex>& lock) {
    const bool release = hold_;
    hold_ = false;
    lock.unlock();
    if (release) RemoveHold();
  }

  static constexpr auto kCancelGrace = std::chrono::seconds(2);

  grpc::ClientContext context_;
  speech::RecognitionObserverPtr observer_;
  speech::CallReportPtr report_;
  const size_t max_buffered_samples_;
  std::shared_ptr<Call> self_;
  v1::StreamingRecognizeResponse response_;
  std::mutex mu_;
  std::deque<v1::StreamingRecognizeRequest> queue_;
  size_t buffered_samples_ = 0;
  bool hold_ = true;  // AddHold in Start
  bool write_in_flight_ = false;
  bool writes_done_ = false;
  bool writes_done_sent_ = false;
  bool refused_ = false;
  bool cancel_sent_ = false;
  bool ending_ = false;  // the server finished or a write failed: no new operations
};

namespace {

class RemoteStream : public speech::RecognitionStream {
 public:
  explicit RemoteStream(std::shared_ptr<void> call_owner, RemoteSpeechService::Call* call)
      : owner_(std::move(call_owner)), call_(call) {}
  ~RemoteStream() override {
    if (!finished_) call_->Cancel();
  }
  absl::Status Write(std::span<const int16_t> samples) override { return call_->Write(samples); }
  void Finish() override {
    finished_ = true;
    call_->Finish();
  }
  void Cancel() override { call_->Cancel(); }

 private:
  std::shared_ptr<void> owner_;
  RemoteSpeechService::Call* call_;
  bool finished_ = false;
};

}  // namespace

RemoteSpeechService::RemoteSpeechService(std::string address, Options options)
    : address_(std::move(address)), options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(4 << 20);
  // Reconnect quickly after an engine restart; the pool's health checks decide when to use it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
}

RemoteSpeechService::~RemoteSpeechService() = default;

absl::StatusOr<speech::RecognitionStreamPtr> RemoteSpeechService::StartRecognition(
    const speech::RecognitionConfig& config, speech::RecognitionObserverPtr observer) {
  // One stub per call is cheap: it only wraps the shared channel.
  auto stub = v1::Engine::NewStub(channel_);
  const auto max_samples = static_cast<size_t>(options_.max_buffered_seconds * std::max(config.sample_rate_hertz, 1));
  auto call = std::make_shared<Call>(std::move(observer), max_samples);
  call->Start(stub.get(), config);
  Call* raw = call.get();
  return std::make_unique<RemoteStream>(std::move(call), raw);
}

absl::StatusOr<speech::Capabilities> RemoteSpeechService::Describe() {
  auto stub = v1::Engine::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.describe_timeout);
  v1::DescribeResponse response;
  grpc::Status status = stub->Describe(&context, v1::DescribeRequest(), &response);
  if (!status.ok()) return StatusOf(context, status);
  return FromProto(response);
}

void RemoteSpeechService::Translate(speech::TranslationRequest request, speech::TranslationCallback done) {
  // What the asynchronous call needs until it completes.
  struct Call {
    std::unique_ptr<v1::Engine::Stub> stub;
    grpc::ClientContext context;
    v1::TranslateRequest request;
    v1::TranslateResponse response;
    speech::TranslationCallback done;
    speech::CallReportPtr report;
  };
  auto call = std::make_shared<Call>();
  call->stub = v1::Engine::NewStub(channel_);
  call->context.set_deadline(request.deadline);
  SendTrace(call->context, request.trace);
  call->request = ToProto(request);
  call->done = std::move(done);
  call->report = std::move(request.report);
  Call* raw = call.get();
  raw->stub->async()->Translate(&raw->context, &raw->request, &raw->response, [call = std::move(call)](grpc::Status status) {
    ReceiveReport(call->context, call->report.get());
    if (!status.ok()) return call->done(StatusOf(call->context, status));
    call->done(FromProto(call->response));
  });
}

namespace {

// One Synthesize call; owns itself from StartCall until OnDone. Each chunk is handed to the
// observer before the next is read, so gRPC flow control paces the engine to the caller.
class SynthesizeCall : public grpc::ClientReadReactor<v1::SynthesizeResponse> {
 public:
  SynthesizeCall(const std::shared_ptr<grpc::Channel>& channel, const speech::SynthesisRequest& request,
                 speech::SynthesisObserverPtr observer)
      : stub_(v1::Engine::NewStub(channel)), request_(ToProto(request)), observer_(std::move(observer)), report_(request.report) {
    context_.set_deadline(request.deadline);
    SendTrace(context_, request.trace);
  }

  void Start() {
    stub_->async()->Synthesize(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the call is ending: OnDone follows
    const std::string& bytes = response_.audio_content();
    samples_.resize(bytes.size() / 2);
    std::memcpy(samples_.data(), bytes.data(), samples_.size() * 2);  // little-endian, as sent
    if (!observer_->OnAudio(samples_, response_.sample_rate_hertz())) {
      stopped_ = true;
      context_.TryCancel();
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    ReceiveReport(context_, report_.get());
    observer_->OnDone(stopped_ ? absl::CancelledError("synthesis stopped by its caller") : StatusOf(context_, status));
    delete this;
  }

 private:
  std::unique_ptr<v1::Engine::Stub> stub_;
  grpc::ClientContext context_;
  v1::SynthesizeRequest request_;
  v1::SynthesizeResponse response_;
  std::vector<int16_t> samples_;
  speech::SynthesisObserverPtr observer_;
  speech::CallReportPtr report_;
  bool stopped_ = false;
};

}  // namespace

void RemoteSpeechService::Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) {
  (new SynthesizeCall(channel_, request, std::move(observer)))->Start();
}

absl::Status RemoteSpeechService::CheckHealth(std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  // While an engine is down or still starting, a check waits (within its timeout) for a
  // connection instead of failing at once on the channel's last failure: without this a freshly
  // started engine stayed out of rotation for ~5 s of gRPC reconnect backoff.
  if (!serving_) {
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    context.set_wait_for_ready(true);
  }
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(v1::Engine::service_full_name());
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  absl::Status result = FromGrpcStatus(status);
  if (result.ok() && response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    // Alive but not taking work (loading or draining): its open streams go on.
    result = absl::FailedPreconditionError("engine reports NOT_SERVING");
  }
  serving_ = result.ok();
  return result;
}

bool RemoteSpeechService::IsServing() { return serving_; }

bool IsUnreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) && status.GetPayload(kUnreachable).has_value();
}

}  // namespace voxgate::rpc
