// The pool tier: a SpeechService over several engine instances. It checks their health actively
// (gRPC health, thresholds, jitter) and passively (outlier ejection), sends each new stream to
// the engine in rotation with the least outstanding streams relative to its capacity, queues
// streams (bounded, with a timeout) when every slot is taken, moves a stream to another engine
// when its engine fails or stops making progress (PooledStream replays its audio), keeps warm
// standbys, ramps up engines that just joined (slow start), and drains on shutdown. Engines come
// and go at run time (discovery): indices stay stable, a removed engine finishes its streams.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "pool/engine_health.h"
#include "pool/pooled_stream.h"
#include "pool/retry_budget.h"
#include "pool/wait_queue.h"
#include "rpc/remote_speech_service.h"
#include "speech/speech_service.h"

namespace voxgate::pool {

class Pool : public speech::SpeechService, public EngineSource, public std::enable_shared_from_this<Pool> {
 public:
  struct Options {
    std::string name;
    std::chrono::milliseconds health_interval{5000};
    std::chrono::milliseconds health_timeout{1000};
    std::chrono::milliseconds health_jitter{500};  // up to this much added to each interval
    // Until an engine first answers healthy it is asked this often (engines take a while to load).
    std::chrono::milliseconds startup_probe_interval{200};
    HealthPolicy health;
    double max_ejected_share = 0.5;  // of the pool's engines; at least one may always be ejected
    size_t max_queued_streams = 64;
    std::chrono::milliseconds queue_timeout{5000};
    // How long a stream whose engine failed waits for another (the engine may be restarting).
    std::chrono::milliseconds failover_timeout{30000};
    // Healthy engines held out of rotation, loaded and ready: promoted at once when every slot
    // is busy or an engine in rotation fails, so a slow-loading engine is never on the critical
    // path of a spike. An engine idle for `standby_cooldown` goes back to standby.
    size_t min_ready = 0;
    std::chrono::milliseconds standby_cooldown{60000};
    // An engine that joins a serving pool gets a share of new streams that grows from
    // `slow_start_min_share` to its full capacity over this window. 0: off.
    std::chrono::milliseconds slow_start_window{0};
    double slow_start_min_share = 0.1;
    // Unary calls (Translate) that failed for an engine reason are retried on another engine
    // while the retry budget allows: at most this share of the calls in flight retrying at once.
    double retry_budget_share = 0.2;
    int min_retries = 3;
    PooledStream::Options stream;
    const core::Clock* clock = &core::SystemClock();
  };
  // `engines`: one RemoteSpeechService per engine instance known at start (more may be added).
  Pool(Options options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines);
  ~Pool() override;

  // Starts the health-check and dispatch threads.
  void Start();
  // Stops them; streams still waiting for an engine end. Open streams keep a reference to the
  // pool, so the owner calls Stop before letting go of its own (the pool's last reference may
  // then go away on any thread).
  void Stop();
  // New streams are refused (UNAVAILABLE) from now on; open ones continue.
  void Drain();
  // Discovery: an engine appears (it takes traffic once healthy) or goes (it takes no new
  // streams and finishes its open ones). Adding an address that is there already is a no-op.
  void AddEngine(const std::string& address);
  void RemoveEngine(const std::string& address);
  const std::string& name() const { return options_.name; }
  int active_streams() const;
  int healthy_engines() const;  // in rotation (standbys not counted)
  int standby_engines() const;
  size_t queued_streams() const;
  // The clock's time when open streams were last checked for an engine that stopped answering
  // (every second while streams are open): a test waits on it to know a check saw its time.
  core::TimePoint progress_checked_at() const;

  struct EngineStatus {
    std::string address;
    EngineState state;
    int outstanding = 0;
    int capacity = 0;
    std::string last_check;  // "ok" or the error
  };
  std::vector<EngineStatus> EngineStatuses() const;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  bool IsServing() override;
  void Translate(speech::TranslationRequest request, speech::TranslationCallback done) override;
  void Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) override;

  // EngineSource (for PooledStream).
  void RequestEngine(std::shared_ptr<PooledStream> stream, std::optional<size_t> avoid) override;
  bool Withdraw(const PooledStream* stream) override;
  void EngineStreamDone(size_t engine, const PooledStream* stream, const absl::Status& status) override;
  void CountFailover(double replayed_seconds) override;
  void ReportEngineFailure(size_t engine, const absl::Status& status) override;

 private:
  struct Engine {
    explicit Engine(const HealthPolicy& policy) : health(policy) {}
    std::string address;
    std::shared_ptr<rpc::RemoteSpeechService> service;  // null once removed and idle
    EngineHealth health;
    bool described = false;          // since it last was unreachable (a restarted engine may differ)
    core::TimePoint described_at{};  // {}: never, so what it serves is unknown
    speech::Capabilities capabilities;
    // Whether what it serves is known: it described itself, and (a pool tier) not as incomplete.
    bool SaidWhatItServes() const { return described_at != core::TimePoint{} && !capabilities.incomplete; }
    int outstanding = 0;
    // It refused a stream as full although `outstanding` left room (the engine still runs calls
    // the pool let go of, such as one cancelled that did not answer in time): taken as full until
    // one of its streams ends or its next health check.
    bool refused = false;
    std::vector<std::pair<const PooledStream*, std::weak_ptr<PooledStream>>> streams;
    std::string last_check = "not checked yet";
    bool draining = false;  // its last check said NOT_SERVING
    bool removed = false;   // discovery no longer lists it
    bool standby = false;
    bool alerted = false;  // its last event for the alert relay was engine_unhealthy
    core::TimePoint ramp_start{};  // slow start; {}: full share
    core::TimePoint idle_since{};
    std::vector<core::Gauge*> state_gauges;  // voxgate_pool_engine_state, one per EngineState
  };

  void HealthLoop();
  void CheckAll();
  // Whether new streams may go to `e`.
  bool InRotationLocked(const Engine& e, core::TimePoint now) const;
  void NoteServingLocked();
  void ExportEngineStatesLocked(core::TimePoint now);
  // The share of its capacity slow start lets `e` have now (1 when it is not ramping).
  double RampLocked(const Engine& e, core::TimePoint now) const;
  EngineState StateLocked(const Engine& e, core::TimePoint now) const;
  // An engine entered rotation through its health checks: standby if the pool wants one.
  void OnJoinedLocked(Engine& e, core::TimePoint now);
  // Puts a standby into rotation; false when there is none.
  bool PromoteStandbyLocked(const char* reason);
  // Keeps an engine in rotation and `min_ready` standbys where it can.
  void BalanceStandbyLocked(core::TimePoint now);
  // Streams whose engine stopped making progress move elsewhere.
  void CheckProgress();
  // Unary calls (Translate, Synthesize): each attempt goes to the least-loaded engine in rotation
  // that serves the call and has not been tried; after an engine failure another is tried, while
  // the deadline and the retry budget allow.
  struct UnaryCall;
  class SynthesisAttempt;
  // Counts a new unary call in flight; false while draining.
  bool BeginUnaryCall();
  // The engine for the next attempt (counted outstanding), or why there is none (the call is over).
  absl::StatusOr<std::pair<size_t, std::shared_ptr<rpc::RemoteSpeechService>>> AcquireForCall(UnaryCall& call);
  // An attempt on `engine` ended with `status`: true when the call should try another engine.
  bool ReleaseAfterCall(UnaryCall& call, size_t engine, const absl::Status& status, bool may_retry);
  void TranslateAttempt(std::shared_ptr<UnaryCall> call, std::shared_ptr<const speech::TranslationRequest> request,
                        speech::TranslationCallback done);
  void StartSynthesisAttempt(std::shared_ptr<UnaryCall> call, std::shared_ptr<const speech::SynthesisRequest> request,
                             speech::SynthesisObserverPtr observer);
  void DispatchLoop();
  // Gives `stream` a free engine now: OK, RESOURCE_EXHAUSTED (none free), CANCELLED (the stream
  // is gone) or the error that says the request itself is wrong.
  absl::Status TryAssign(const std::shared_ptr<PooledStream>& stream, std::optional<size_t> avoid);
  std::optional<size_t> PickLocked(std::optional<size_t> avoid, const std::vector<bool>& tried) const;
  bool AnyInRotationLocked() const;
  int EjectedCountLocked() const;
  // Runs `task` on the dispatch thread (never inside a caller's call).
  void PostLocked(std::function<void()> task);
  // The engine left rotation because it failed: its streams move elsewhere.
  void EngineLostLocked(size_t engine);
  // The streams with a call on `engine` (to ask or tell outside the lock).
  std::vector<std::shared_ptr<PooledStream>> StreamsOnLocked(size_t engine) const;
  // Passive health: a call on `engine` failed for an engine reason.
  void OnEngineFailureLocked(size_t engine, const absl::Status& status);
  std::string OverCapacityMessage(int capacity) const;

  const Options options_;
  const core::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable health_cv_;
  std::condition_variable dispatch_cv_;
  std::vector<std::unique_ptr<Engine>> engines_;  // only appended to: indices are stable
  WaitQueue queue_;
  RetryBudget retry_budget_;
  int unary_calls_ = 0;  // in flight
  std::vector<std::function<void()>> tasks_;
  bool assign_needed_ = false;
  bool draining_ = false;
  bool stopping_ = false;
  bool ever_healthy_ = false;
  bool serving_ = false;  // some engine in rotation, as of the last NoteServingLocked
  bool recheck_ = false;  // check every engine now, not at the next interval
  core::TimePoint next_progress_check_{};
  core::TimePoint progress_checked_at_{};
  std::thread health_thread_;
  std::thread dispatch_thread_;
};

}  // namespace voxgate::pool
