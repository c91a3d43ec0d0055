#include "gateway/protocols/openai/transcription_format.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace voxgate::gateway::openai {

absl::StatusOr<ResponseFormat> ParseResponseFormat(std::string_view name) {
  if (name.empty() || name == "json") return ResponseFormat::kJson;
  if (name == "text") return ResponseFormat::kText;
  if (name == "srt") return ResponseFormat::kSrt;
  if (name == "vtt") return ResponseFormat::kVtt;
  if (name == "verbose_json") return ResponseFormat::kVerboseJson;
  return absl::InvalidArgumentError("unsupported response_format \"" + std::string(name) +
                                    "\" (supported: json, text, srt, vtt, verbose_json)");
}

std::string FullText(const Transcription& t) {
  std::string text;
  for (const auto& s : t.segments) {
    if (s.transcript.empty()) continue;
    if (!text.empty()) text += ' ';
    text += s.transcript;
  }
  return text;
}

std::string FormatTimestamp(double seconds, char decimal_separator) {
  const long long ms = std::llround(std::max(0.0, seconds) * 1000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                decimal_separator, ms % 1000);
  return buf;
}

RenderedBody Render(const Transcription& t, ResponseFormat format) {
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  switch (format) {
    case ResponseFormat::kJson:
      return {"application/json", nlohmann::json{{"text", FullText(t)}}.dump(-1, ' ', false, kReplace)};
    case ResponseFormat::kText:
      return {"text/plain; charset=utf-8", FullText(t) + "\n"};
    case ResponseFormat::kSrt:
    case ResponseFormat::kVtt: {
      const bool srt = format == ResponseFormat::kSrt;
      std::string out = srt ? "" : "WEBVTT\n\n";
      int index = 1;
      for (const auto& s : t.segments) {
        if (s.transcript.empty()) continue;
        if (srt) out += std::to_string(index++) + "\n";
        out += FormatTimestamp(s.start_seconds, srt ? ',' : '.') + " --> " + FormatTimestamp(s.end_seconds, srt ? ',' : '.') +
               "\n" + s.transcript + "\n\n";
      }
      return {srt ? "application/x-subrip" : "text/vtt", out};
    }
    case ResponseFormat::kVerboseJson: {
      nlohmann::json segments = nlohmann::json::array();
      nlohmann::json words = nlohmann::json::array();
      for (const auto& s : t.segments) {
        if (s.transcript.empty()) continue;
        segments.push_back({{"id", segments.size()},
                            {"seek", 0},
                            {"start", s.start_seconds},
                            {"end", s.end_seconds},
                            {"text", s.transcript},
                            {"tokens", nlohmann::json::array()},
                            {"temperature", 0.0},
                            {"avg_logprob", std::log(std::max(s.confidence, 1e-6f))},
                            {"compression_ratio", 1.0},
                            {"no_speech_prob", 0.0}});
        for (const auto& w : s.words) words.push_back({{"word", w.word}, {"start", w.start_seconds}, {"end", w.end_seconds}});
      }
      nlohmann::json body = {{"task", "transcribe"},
                             {"language", t.language},
                             {"duration", t.duration_seconds},
                             {"text", FullText(t)},
                             {"segments", segments}};
      if (t.word_timestamps) body["words"] = words;
      return {"application/json", body.dump(-1, ' ', false, kReplace)};
    }
  }
  return {"application/json", "{}"};
}

}  // namespace voxgate::gateway::openai
