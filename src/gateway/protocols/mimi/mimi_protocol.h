// The mimi (Fairy Devices) speech recognition protocol, minus the socket, as the published mimi
// clients (libmimiio, mimi.client.kotlin, the tagengo examples) speak it to the service root:
//   headers (or the query parameters browsers use): x-mimi-process: asr | nict-asr,
//     x-mimi-input-language, Content-Type: audio/x-pcm;bit=16;rate=16000;channels=1,
//     x-mimi-nict-asr-options: response_format=v1|v2;progressive=..;temporary=..
//   client: binary s16le audio frames, then {"command":"recog-break"}
//   server: {"type": "asr#mimilvcsr" | "asr#nictlvcsr" | "asr#nictlvcsr2", "session_id",
//            "status": "recog-in-progress" | "recog-finished", "response": [...]}, then close 1000.
// See docs/API.md for what is and is not supported.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::mimi {

enum class Process { kAsr, kNictAsrV1, kNictAsrV2 };

struct Config {
  Process process = Process::kAsr;
  std::string language = "ja";  // mimi's default input language
  int sample_rate = 16000;
  bool progressive = true;  // nict-asr: send each utterance as it is final
  bool temporary = true;    // nict-asr v2: send unstable hypotheses (determined: false) too
};

// Builds the config from the request's headers; `header` returns a header's value or "" (the
// query parameters of a browser client are looked up by the caller under the same names).
// x-mimi-process is required; processes other than asr/nict-asr, Content-Types other than
// 16-bit mono PCM, and malformed options are INVALID_ARGUMENT naming what is supported.
absl::StatusOr<Config> ParseConfig(const std::function<std::string(std::string_view name)>& header);

// Whether a text frame is {"command": "recog-break"} (the end of audio); other text frames are
// errors the caller reports.
absl::StatusOr<bool> IsRecogBreak(std::string_view text);

// mimi's HTTP speech synthesis (POST /speech_synthesis) and machine translation
// (POST /machine_translation), form-encoded as mimi's clients send them.
struct SynthesisForm {
  std::string text;
  std::string language;  // lang
  std::string gender;    // "female", "male" or empty (unknown)
  double rate = 1;       // 0.5 .. 2.0
  bool raw = false;      // audio_format=RAW: bare s16 samples; else WAV
  bool big_endian = false;
};
absl::StatusOr<SynthesisForm> ParseSynthesisForm(std::string_view body);
struct TranslationForm {
  std::string text, source, target;
};
absl::StatusOr<TranslationForm> ParseTranslationForm(std::string_view body);
// The sample rate of mimi speech synthesis output.
constexpr int kSynthesisSampleRate = 16000;

// A random RFC 4122 version 4 UUID, mimi's session_id.
std::string NewSessionId();

// The messages of a session. Results go in as they come; each call returns the messages to send
// now (maybe none), in order.
class Session {
 public:
  Session(Config config, std::string session_id) : config_(std::move(config)), session_id_(std::move(session_id)) {}
  std::vector<std::string> OnResult(const speech::RecognitionResult& result);
  // After the last result: the recog-finished message.
  std::string Finished();

 private:
  std::string Message(bool finished, nlohmann::json response) const;
  nlohmann::json Segment(const speech::RecognitionResult& r, bool determined) const;

  const Config config_;
  const std::string session_id_;
  std::vector<speech::RecognitionResult> finals_;  // nict-asr: the last one is kept for recog-finished
};

}  // namespace voxgate::gateway::mimi
