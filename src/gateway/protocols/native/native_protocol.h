// The native streaming recognition protocol (GET /v1/recognize, WebSocket), minus the socket:
// parsing the client's config and messages, and the JSON the server sends. See docs/API.md.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::native {

enum class Encoding { kPcmS16le, kWav };

struct StreamConfig {
  std::string language = "en-US";
  int sample_rate = 16000;  // of pcm_s16le audio (a WAV file's header gives its own)
  bool sample_rate_given = false;
  Encoding encoding = Encoding::kPcmS16le;
  bool interim_results = true;
  std::string translate_to;  // speech translation: each final result also in this language
  bool speak = false;        // ... and spoken: its synthesized audio follows as binary frames
  std::string voice;         // the voice that speaks it; empty: the language's default
};

// Synthesized speech goes to the client as s16le binary frames at this rate.
constexpr int kSpeechSampleRate = 16000;

// Applies the config keys of a URL query (language, sample_rate, encoding, interim_results,
// translate_to, speak, voice).
// Unknown parameters are an error so a typo never silently falls back to a default.
absl::Status ApplyQuery(std::string_view query, StreamConfig& config);

struct ClientMessage {
  enum class Type { kConfig, kEnd } type;
  nlohmann::json body;
};
// Parses a text frame: {"type":"config", ...} (type may be left out on a config) or {"type":"end"}.
absl::StatusOr<ClientMessage> ParseClientText(std::string_view text);
// Applies a config message's keys.
absl::Status ApplyJson(const nlohmann::json& body, StreamConfig& config);
// What no single key can tell: `speak` needs `translate_to`.
absl::Status CheckConfig(const StreamConfig& config);

std::string ReadyJson(const std::string& request_id, const StreamConfig& config);
// A final result of a translating stream carries `translation` (its text in translate_to), or
// `translation_error` when the translation failed.
std::string ResultJson(const speech::RecognitionResult& result, const absl::StatusOr<std::string>* translation = nullptr);
std::string ErrorJson(const absl::Status& status);
// Around the binary frames of a final result's spoken translation:
//   {"type":"speech_start","text":...,"language":...,"sample_rate":16000,"encoding":"pcm_s16le"}
//   {"type":"speech_end","duration":seconds} (+ "error" when synthesis failed part way or at once)
std::string SpeechStartJson(const std::string& text, const std::string& language);
std::string SpeechEndJson(double seconds, const absl::Status& status);

}  // namespace voxgate::gateway::native
