// The voxctl client: talks to a voxgate server the way any user's program would.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "audio/pcm.h"

namespace voxgate::cli {

struct HttpResult {
  int status = 0;
  std::string body;
};

// POST /v1/audio/transcriptions with the file's bytes (multipart, as OpenAI clients send it).
absl::StatusOr<HttpResult> PostTranscription(const std::string& server_url, const std::string& file_name,
                                             const std::string& file_bytes, const std::string& language,
                                             const std::string& response_format);

// GET a path, e.g. /v1/models.
absl::StatusOr<HttpResult> Get(const std::string& server_url, const std::string& path);

// POST /v1/translate; the result's body is the server's JSON.
absl::StatusOr<HttpResult> PostTranslation(const std::string& server_url, const std::string& text, const std::string& source,
                                           const std::string& target);

// POST /v1/audio/speech with the OpenAI-style JSON body; the result's body is the audio (or the
// server's JSON error).
absl::StatusOr<HttpResult> PostSpeech(const std::string& server_url, const std::string& json_body);

struct StreamEvents {
  std::function<void(const std::string& text, double start, double end)> on_final;
  std::function<void(const std::string& text)> on_partial;
  std::function<void(double sent_seconds)> on_progress;
};

// Streams 16 kHz audio over the native WebSocket protocol, `speed` times real time, 100 ms a
// frame; returns when the server has sent the last final result and closed the stream.
absl::Status StreamRecognize(const std::string& server_url, const std::string& language, const audio::Pcm& pcm,
                             double speed, const StreamEvents& events);

}  // namespace voxgate::cli
