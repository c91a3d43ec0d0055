// One client stream as the pool carries it. It may wait in the pool's queue for an engine, runs
// on one engine at a time, and keeps the audio since its last final result: when its engine
// fails (dies, hangs, is ejected) it resumes on another engine by replaying that audio, so the
// client sees one continuous stream with no final result missing or repeated.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "core/clock.h"
#include "speech/speech_service.h"

namespace voxgate::pool {

class PooledStream;

// What a stream needs from its pool.
class EngineSource {
 public:
  virtual ~EngineSource() = default;
  // Finds another engine for `stream` (now or, queued, later; not `avoid` while another is in
  // rotation) and calls stream->Attach, or stream->Fail when none comes in time.
  virtual void RequestEngine(std::shared_ptr<PooledStream> stream, std::optional<size_t> avoid) = 0;
  // Takes a queued stream out of the queue; true when it was there (the pool then ends it).
  virtual bool Withdraw(const PooledStream* stream) = 0;
  // The stream's call on `engine` ended with `status`: frees its slot; an engine failure feeds
  // passive health checks.
  virtual void EngineStreamDone(size_t engine, const PooledStream* stream, const absl::Status& status) = 0;
  // Counts a resumed stream and the audio it replayed (called under the stream's lock).
  virtual void CountFailover(double replayed_seconds) = 0;
  // The stream gave up on `engine`: it owed the stream an answer for the result timeout.
  virtual void ReportEngineFailure(size_t engine, const absl::Status& status) = 0;
};

class PooledStream : public std::enable_shared_from_this<PooledStream> {
 public:
  struct Options {
    double max_replay_seconds = 60;   // audio kept since the last final result
    double max_backlog_seconds = 10;  // audio accepted but not yet taken by an engine
    int max_failovers = 3;
    // An engine that has audio or the end of the stream to answer and says nothing for this long
    // is taken as hung for this stream: the stream moves elsewhere. Engines report progress
    // (results, or empty partials with `audio_consumed_seconds`) at least every second of audio;
    // one that never reports what it consumed is held to this only for its final result.
    double result_timeout_seconds = 15;
    const core::Clock* clock = &core::SystemClock();
  };
  PooledStream(Options options, speech::RecognitionConfig config, speech::RecognitionObserverPtr client,
               std::shared_ptr<EngineSource> source);

  // Tells the caller's CallReport where the stream runs now; the first time, also how long it
  // waited for an engine, which it returns (nullopt after a failover).
  std::optional<double> ReportPlacement(const std::string& pool, const std::string& engine);

  // The caller's handle (RecognitionStream): Write, Finish, Cancel, as in speech_service.h.
  static speech::RecognitionStreamPtr MakeHandle(std::shared_ptr<PooledStream> stream);

  // The pool gives the stream an engine (a slot on it is taken for the stream): starts a call on
  // it and replays what the engine has not seen. An error means the call did not start (the
  // slot is the pool's to free again); CANCELLED when the client had cancelled (then ended).
  absl::Status Attach(size_t engine, speech::SpeechService& service);
  // No engine for the stream: it ends with `status`.
  void Fail(absl::Status status);
  // The pool took `engine` out of rotation (unhealthy, ejected): move to another engine now.
  void EngineLost(size_t engine);
  // Called now and then by the pool: when the engine has owed an answer for longer than the
  // result timeout, the stream moves elsewhere and the engine's failure is reported.
  void CheckProgress();

  // Whether the stream's call on `engine` gave a result after `since` (the engine is alive).
  bool AnsweredOn(size_t engine, core::TimePoint since);

  // False once the stream was cancelled or ended: the pool does not queue it then.
  bool wants_engine();
  const speech::RecognitionConfig& config() const { return config_; }

 private:
  class Handle;
  class EngineObserver;

  absl::Status Write(std::span<const int16_t> samples);
  void Finish();
  void Cancel();

  void OnEngineResult(uint64_t attempt, speech::RecognitionResult result);
  void OnEngineReady(uint64_t attempt);
  void OnEngineDone(uint64_t attempt, size_t engine, absl::Status status);

  // Sends what the engine has not taken yet; finishes the call once all is sent after Finish.
  void PumpLocked();
  void SendLocked();
  // The client to tell that it may write again (then not under mu_), if it was refused and
  // there is room now.
  speech::RecognitionObserverPtr ClientReadyLocked();
  // Whether the engine owes an answer: more audio than it may keep back that it has not said it
  // consumed, or the final result.
  bool AwaitingEngineLocked() const;
  // Abandons the current engine call and starts moving elsewhere (EngineLost, CheckProgress).
  void LeaveEngine(size_t engine, const absl::Status& why);
  // Starts moving to another engine; returns the status to end with instead, if it cannot.
  std::optional<absl::Status> BeginFailoverLocked(const absl::Status& why);
  // The engine refused the call as full (RESOURCE_EXHAUSTED): the stream waits for another slot,
  // which is no failover (the engine is fine); returns the status to end with instead, if it
  // cannot resume.
  std::optional<absl::Status> BeginRetryLocked(const absl::Status& refusal);
  // Ends the stream with `status` (once) and tells the client. Not under mu_.
  void Complete(absl::Status status);

  const Options options_;
  const speech::RecognitionConfig config_;
  const int rate_;  // samples per second
  const size_t max_replay_samples_;
  const size_t max_backlog_samples_;
  const int64_t max_held_back_samples_;
  const std::shared_ptr<EngineSource> source_;  // the pool outlives its streams

  std::mutex deliver_mu_;  // held while calling the client: one call at a time, in order
  std::mutex mu_;
  speech::RecognitionObserverPtr client_;
  speech::RecognitionStreamPtr engine_stream_;
  std::optional<size_t> engine_;
  uint64_t attempt_ = 0;  // results of an abandoned call are ignored
  // Audio from sample `replay_base_` (the end of the last final result) to `written_`.
  std::deque<int16_t> audio_;
  int64_t replay_base_ = 0;
  int64_t written_ = 0;
  int64_t sent_ = 0;          // taken by the current engine call
  int64_t call_offset_ = 0;   // where the current engine call started, in the client's stream
  int64_t consumed_ = -1;     // what the current call said it consumed; -1: it never says
  const core::TimePoint created_;
  bool placed_ = false;  // ReportPlacement has been called
  core::TimePoint last_progress_{};  // the engine's last result, or when it began to owe one
  core::TimePoint last_result_{};    // the current call's last result; the epoch: none yet
  bool replay_complete_ = true;  // false: audio since the last final was dropped (too long)
  int failovers_ = 0;
  bool finished_ = false;
  bool finish_sent_ = false;
  bool cancelled_ = false;
  bool client_refused_ = false;  // a Write was refused; tell the client when there is room
  bool done_ = false;
};

// Whether a call's status says its engine failed (retry elsewhere) rather than the request.
bool IsEngineFailure(const absl::Status& status);

}  // namespace voxgate::pool
