// The vosk-server WebSocket protocol (alphacep/vosk-server websocket/asr_server.py), minus the
// socket, so that vosk clients work by changing only the address:
//   client: optional {"config": {"sample_rate": N, "words": true, "phrase_list": [...],
//           "max_alternatives": N}} (no reply, as vosk-server), binary s16le audio frames (one reply
//           each), {"eof" : 1} (the final result, then the server closes).
//   server: {"partial": "..."} or {"result": [{"conf","end","start","word"}], "text": "..."} per
//           audio frame; with max_alternatives, {"alternatives": [{"confidence","result","text"}]}.
// Keys come out sorted and indented, as vosk-api prints them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::vosk {

struct Config {
  int sample_rate = 16000;  // what our recognizers take (vosk-server's own default, 8000, is set per deployment)
  bool words = true;        // vosk-server shows words unless told otherwise
  int max_alternatives = 0;
  std::vector<std::string> phrase_list;
};

struct ClientText {
  enum class Type { kConfig, kEof } type;
};

// A client message that is not audio: a config or the end of audio. `{"eof" : 1}` is recognized
// with or without spaces, and also when a client sends it as a binary frame (IsEof).
absl::StatusOr<ClientText> ParseClientText(std::string_view text, Config& config);
bool IsEof(std::string_view frame);

// The reply to an audio frame while no utterance ended: the current partial transcript.
std::string PartialJson(const std::string& partial);
// An utterance (or, at the end, everything since the last one) as vosk's Result/FinalResult.
std::string ResultJson(const std::vector<speech::RecognitionResult>& finals, const Config& config);

}  // namespace voxgate::gateway::vosk
