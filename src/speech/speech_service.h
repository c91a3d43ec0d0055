// The one interface every voxgate tier implements: an engine, the pool (delegating to engines),
// the router (delegating to pools) and the gRPC client (calling another process). Tiers compose
// like middleware; tests can put a fake at any position.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/trace.h"
#include "speech/call_report.h"

namespace voxgate::speech {


// What a recognition stream is asked to do. Audio is always signed 16-bit mono PCM.
struct RecognitionConfig {
  std::string language_code = "en-US";
  int sample_rate_hertz = 16000;
  bool interim_results = true;
  bool enable_word_time_offsets = true;
  std::string model;       // empty: the service's default
  // Recognize only sequences of these words and phrases (vosk's phrase_list); empty: anything.
  std::vector<std::string> phrases;
  std::string plan;        // the caller's API-key plan (the router may route on it); empty: none
  std::string request_id;  // carried into logs of every tier
  core::TraceContext trace;  // the caller's span: each tier logs under a child span of it
  CallReportPtr report;      // where the tiers below say what they did; may be null
};

struct WordInfo {
  std::string word;
  double start_seconds = 0;  // from the start of the stream
  double end_seconds = 0;
  float confidence = 0;
};

struct RecognitionResult {
  std::string transcript;
  bool is_final = false;
  float stability = 0;  // 0..1; partials from pocketsphinx are unstable, finals are 1
  float confidence = 0;
  double start_seconds = 0;  // of the utterance, from the start of the stream
  double end_seconds = 0;
  // How much of the stream's audio the service had consumed when it produced this result. After a
  // final result, the audio before this point never changes a later result (the pool replays
  // only the audio after it when an engine fails). 0: unknown.
  double audio_consumed_seconds = 0;
  std::vector<WordInfo> words;
};
// A result that is not final and has no transcript only reports progress (how much audio the
// engine consumed): engines send one at least every second of audio, and when they run out of
// audio with some decoded since their last result (they may keep back under 0.25 s of audio,
// such as part of a piece they decode whole). The pool passes it on, as a tier in front of it
// needs it to tell a stream of silence from a hung engine; the gateway never sends it to a client.
inline bool IsProgressOnly(const RecognitionResult& r) { return !r.is_final && r.transcript.empty(); }

// Receives the results of one stream. Calls come from the service's threads, one at a time for a
// given stream; OnDone comes last and exactly once, after which nothing else is called.
class RecognitionObserver {
 public:
  virtual ~RecognitionObserver() = default;
  virtual void OnResult(RecognitionResult result) = 0;
  virtual void OnDone(absl::Status status) = 0;
  // Flow control: called after a Write failed with RESOURCE_EXHAUSTED, once the stream's buffer
  // has room again. May come from any thread, also while OnResult runs; not after OnDone.
  virtual void OnReadyForAudio() {}
};
using RecognitionObserverPtr = std::shared_ptr<RecognitionObserver>;

// The caller's handle on one stream. Calls must not overlap (one caller at a time).
// Destroying the handle before OnDone cancels the stream. No method calls the observer before it
// returns, so a caller may hold its own lock across these calls.
class RecognitionStream {
 public:
  virtual ~RecognitionStream() = default;
  // Queues audio. Never blocks: fails with RESOURCE_EXHAUSTED when the stream's bounded buffer
  // is full (the caller waits and retries, or gives up), FAILED_PRECONDITION after Finish/Cancel.
  virtual absl::Status Write(std::span<const int16_t> samples) = 0;
  // End of audio: the service sends the last final result, then OnDone(OK).
  virtual void Finish() = 0;
  // Abandons the stream: OnDone(CANCELLED) follows unless the stream is done already.
  virtual void Cancel() = 0;
};
using RecognitionStreamPtr = std::unique_ptr<RecognitionStream>;

// A voice a speech synthesis model speaks with.
struct VoiceInfo {
  std::string name;           // what a SynthesisRequest names, e.g. "en-us", "en-us+klatt"
  std::string language_code;  // BCP-47
  std::string gender;         // "female", "male", or empty
};

struct ModelInfo {
  std::string name;
  std::string service = "asr";  // "asr", "mt" or "tts"
  std::vector<std::string> language_codes;         // asr: recognized; mt: translated from; tts: spoken
  std::vector<std::string> target_language_codes;  // mt: translated into (every source to every target)
  int sample_rate_hertz = 16000;                   // asr: of the audio it takes; tts: of its voices
  std::vector<VoiceInfo> voices;                   // tts
};

// Texts to translate, as one batch.
struct TranslationRequest {
  std::vector<std::string> texts;
  std::string source_language;  // BCP-47, e.g. "en"
  std::string target_language;
  std::string model;       // empty: any that serves the pair
  std::string request_id;  // carried into logs of every tier
  core::TraceContext trace;  // the caller's span: each tier logs under a child span of it
  CallReportPtr report;      // where the tiers below say what they did; may be null
  std::string plan;        // the caller's API-key plan
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
};

struct TranslationResponse {
  std::vector<std::string> texts;  // one per request text, in order
  std::string model;
};

// Called exactly once with the outcome; from any thread, possibly before Translate returns (so
// the caller must not hold a lock that the callback takes).
using TranslationCallback = std::function<void(absl::StatusOr<TranslationResponse>)>;

// Text to speak.
struct SynthesisRequest {
  std::string text;
  std::string language_code;  // BCP-47; empty: the voice's
  std::string voice;          // a voice from Describe; empty: the language's default voice
  double speaking_rate = 1;   // 1: the voice's normal speed, 2: twice as fast
  int sample_rate_hertz = 0;  // of the audio returned; 0: the voice's own
  std::string model;          // empty: any that speaks the language
  std::string request_id;     // carried into logs of every tier
  core::TraceContext trace;  // the caller's span: each tier logs under a child span of it
  CallReportPtr report;      // where the tiers below say what they did; may be null
  std::string plan;           // the caller's API-key plan
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
};

// Receives the audio of one synthesis in order, chunk by chunk as it is made (audio starts
// flowing before the whole text is spoken). Calls come from the service's threads, one at a time,
// possibly before Synthesize returns; OnDone comes last and exactly once.
class SynthesisObserver {
 public:
  virtual ~SynthesisObserver() = default;
  // Mono signed 16-bit samples, at the same rate in every call. Returning false stops the
  // synthesis: OnDone(CANCELLED) follows soon.
  virtual bool OnAudio(std::span<const int16_t> samples, int sample_rate_hertz) = 0;
  virtual void OnDone(absl::Status status) = 0;
};
using SynthesisObserverPtr = std::shared_ptr<SynthesisObserver>;

struct Capabilities {
  std::string engine;  // e.g. "pocketsphinx"; "pool" or "router" for the tiers above engines
  std::string version;
  std::vector<ModelInfo> models;
  int capacity = 0;  // concurrent streams
  int active_streams = 0;
  // A tier none of whose engines has said what it serves yet: a model or voice missing from
  // `models` may still appear, so "not found" is not yet the answer ("retry" is).
  bool incomplete = false;
};

class SpeechService {
 public:
  virtual ~SpeechService() = default;
  // Starts a stream. Fails at once (and never calls the observer) for a bad config, an unknown
  // language (NOT_FOUND) or no free capacity (RESOURCE_EXHAUSTED).
  virtual absl::StatusOr<RecognitionStreamPtr> StartRecognition(const RecognitionConfig& config,
                                                                RecognitionObserverPtr observer) = 0;
  virtual absl::StatusOr<Capabilities> Describe() = 0;
  // Machine translation (unary). Services without it answer UNIMPLEMENTED.
  virtual void Translate(TranslationRequest request, TranslationCallback done) {
    (void)request;
    done(absl::UnimplementedError("this service does not translate"));
  }
  // Speech synthesis (server streaming). Services without it answer UNIMPLEMENTED.
  virtual void Synthesize(SynthesisRequest request, SynthesisObserverPtr observer) {
    (void)request;
    observer->OnDone(absl::UnimplementedError("this service does not synthesize speech"));
  }
  // True when the service can take new streams now.
  virtual bool IsServing() = 0;
};
using SpeechServicePtr = std::shared_ptr<SpeechService>;

}  // namespace voxgate::speech
