// The built-in ASR engine: CMU pocketsphinx (5prealpha, en-us model) behind speech::SpeechService.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "speech/speech_service.h"

namespace voxgate::engines::pocketsphinx {

// Recognises speech with one pocketsphinx decoder per concurrent stream, all loaded in Create
// (~0.3-1 s and ~91 MB RSS each). Each decoder has its own worker thread, which serves one
// stream at a time: the caller's Write only queues audio, decoding never runs on its thread.
//
// Results of a stream:
//  * partial results (is_final=false, stability kPartialStability) when interim_results is on,
//    at most every 100 ms of audio and only when the hypothesis text changed; they often
//    rewrite earlier words. Their words carry times but confidence 0.
//  * a final result (is_final=true, stability 1) each time the voice activity detector sees
//    speech end (~0.5 s of silence), and at Finish for the audio still open. Finals with no
//    words are not sent: a stream without speech gets only OnDone(OK).
//  * times are seconds from the start of the stream; word confidence is the word's lattice
//    posterior, result confidence the mean of its words' (0 = unknown with fast_final).
// A stream ends with OnDone: OK after Finish, CANCELLED after Cancel (or destroying the handle
// before OnDone), UNAVAILABLE when the engine shuts down, INTERNAL when the decoder fails.
// The decoder is back in the free pool, clean, before OnDone is called.
//
// A stream's results do not depend on the streams a decoder served before: each starts from the
// model's cepstral-mean prior (pocketsphinx itself carries the mean over). This costs the first
// seconds of a stream some accuracy: 32 % WER on the LibriVox test clips, against 28 % for the
// same decoder given each whole clip at once.
//
// Thread-safe. Do not destroy the engine (or call Shutdown) from an observer callback.
class PocketsphinxEngine : public speech::SpeechService {
 public:
  static constexpr float kPartialStability = 0.1f;

  struct Options {
    // Holds <model_name>/ (acoustic model), <model_name>.lm.bin and cmudict-<model_name>.dict,
    // the layout of Debian's pocketsphinx-en-us.
    std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
    std::string model_name = "en-us";
    std::vector<std::string> language_codes = {"en-US"};
    int capacity = 1;  // concurrent streams = decoders = worker threads
    // Bound of each stream's queue of audio not yet decoded.
    double max_buffered_seconds = 30;
    // -fwdflat no -bestpath no: finals in ~3-8 ms instead of ~80-250 ms, somewhat less accurate,
    // no confidence.
    bool fast_final = false;
  };

  static absl::StatusOr<std::shared_ptr<PocketsphinxEngine>> Create(const Options& options);

  // Shutdown().
  ~PocketsphinxEngine() override;

  // INVALID_ARGUMENT for a sample rate other than the model's (16000) or no observer,
  // NOT_FOUND for a language or model not served, UNAVAILABLE while draining or shut down,
  // RESOURCE_EXHAUSTED when every decoder is busy.
  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(
      const speech::RecognitionConfig& config, speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  // False once Drain or Shutdown was called.
  bool IsServing() override;

  // Stops taking new streams; open streams go on to their end.
  void Drain();
  // Waits until no stream is open; false on timeout.
  bool AwaitIdle(absl::Duration timeout);
  // Stops taking new streams, ends open ones with OnDone(UNAVAILABLE) and joins the workers.
  // Idempotent.
  void Shutdown();

 private:
  struct StreamState;
  class Stream;
  struct Slot;

  PocketsphinxEngine(Options options, int sample_rate_hertz);
  void WorkerLoop(Slot* slot);
  absl::Status Serve(Slot& slot, StreamState& stream);
  void Release(Slot& slot);

  const Options options_;
  const int sample_rate_hertz_;
  std::vector<std::unique_ptr<Slot>> slots_;  // fixed after Create

  absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int active_streams_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex join_mu_;  // serialises joining the workers when Shutdown races the destructor
};

}  // namespace voxgate::engines::pocketsphinx
