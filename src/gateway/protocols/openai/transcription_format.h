// Rendering a finished transcription in the OpenAI /v1/audio/transcriptions response formats.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::openai {

enum class ResponseFormat { kJson, kText, kSrt, kVtt, kVerboseJson };

// OpenAI's transcription model names (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe):
// code written for OpenAI sends them, and they mean the default model here.
bool IsOpenAiTranscriptionModel(std::string_view model);

absl::StatusOr<ResponseFormat> ParseResponseFormat(std::string_view name);

struct Transcription {
  std::vector<speech::RecognitionResult> segments;  // the final results, in order
  std::string language;                             // as the client asked, e.g. "en"
  double duration_seconds = 0;
  bool word_timestamps = false;  // timestamp_granularities[] contains "word"
};

std::string FullText(const Transcription& t);

// The name OpenAI's verbose_json gives a language ("en-US" → "english"); a tag it has no name
// for comes back as given.
std::string LanguageName(std::string_view code);

struct RenderedBody {
  std::string content_type;
  std::string body;
};
RenderedBody Render(const Transcription& t, ResponseFormat format);

// stream=true: the transcript as OpenAI's server-sent events, one `data:` line each. A delta is
// text to append (a final result's, with the space before it); done has the whole text, which is
// what the deltas add up to, and the audio's duration as its usage.
std::string TextDeltaEvent(std::string_view delta);
std::string TextDoneEvent(std::string_view text, double duration_seconds);
// An error after the events began: its JSON error body as an event (the SDKs raise it).
std::string ErrorEvent(std::string_view error_body);

// "00:01:02,345" (SRT) or "00:01:02.345" (WebVTT).
std::string FormatTimestamp(double seconds, char decimal_separator);

}  // namespace voxgate::gateway::openai
