// POST /v1/audio/speech (OpenAI-compatible) and GET /v1/audio/voices: the JSON in and out,
// without the transport.
//   request: {"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav",
//             "speed": 1.0}, and voxgate's optional "language" (BCP-47)
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "audio/encoder.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::openai {

struct SpeechCall {
  speech::SynthesisRequest request;
  audio::OutputFormat format = audio::OutputFormat::kWav;
};

// OpenAI's sample rate for wav and pcm output (opus and flac carry theirs in the stream).
constexpr int kSpeechSampleRateHertz = 24000;

// INVALID_ARGUMENT naming what is wrong: not JSON, a field of the wrong type, no input, a speed
// outside OpenAI's 0.25..4, a format that is not served. OpenAI's model names (tts-1, tts-1-hd,
// gpt-4o-mini-tts) mean the default model; other fields OpenAI defines are accepted.
absl::StatusOr<SpeechCall> ParseSpeechRequest(std::string_view body);
// Every voice of the service's synthesis models:
//   {"object": "list", "data": [{"id", "name", "language", "gender", "model"}]}
std::string RenderVoices(const speech::Capabilities& capabilities);

}  // namespace voxgate::gateway::openai
