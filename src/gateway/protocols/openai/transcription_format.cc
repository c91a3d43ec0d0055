#include "gateway/protocols/openai/transcription_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>

#include "speech/language.h"

namespace voxgate::gateway::openai {

bool IsOpenAiTranscriptionModel(std::string_view model) {
  return model == "whisper-1" || model == "gpt-4o-transcribe" || model == "gpt-4o-mini-transcribe";
}

std::string LanguageName(std::string_view code) {
  // The languages Whisper names, sorted by code (with jv and nb, the BCP 47 tags of two).
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
    {"af", "afrikaans"}, {"am", "amharic"}, {"ar", "arabic"}, {"as", "assamese"}, {"az", "azerbaijani"},
    {"ba", "bashkir"}, {"be", "belarusian"}, {"bg", "bulgarian"}, {"bn", "bengali"}, {"bo", "tibetan"},
    {"br", "breton"}, {"bs", "bosnian"}, {"ca", "catalan"}, {"cs", "czech"}, {"cy", "welsh"}, {"da", "danish"},
    {"de", "german"}, {"el", "greek"}, {"en", "english"}, {"es", "spanish"}, {"et", "estonian"}, {"eu", "basque"},
    {"fa", "persian"}, {"fi", "finnish"}, {"fo", "faroese"}, {"fr", "french"}, {"gl", "galician"},
    {"gu", "gujarati"}, {"ha", "hausa"}, {"haw", "hawaiian"}, {"he", "hebrew"}, {"hi", "hindi"}, {"hr", "croatian"},
    {"ht", "haitian creole"}, {"hu", "hungarian"}, {"hy", "armenian"}, {"id", "indonesian"}, {"is", "icelandic"},
    {"it", "italian"}, {"ja", "japanese"}, {"jv", "javanese"}, {"jw", "javanese"}, {"ka", "georgian"},
    {"kk", "kazakh"}, {"km", "khmer"}, {"kn", "kannada"}, {"ko", "korean"}, {"la", "latin"},
    {"lb", "luxembourgish"}, {"ln", "lingala"}, {"lo", "lao"}, {"lt", "lithuanian"}, {"lv", "latvian"},
    {"mg", "malagasy"}, {"mi", "maori"}, {"mk", "macedonian"}, {"ml", "malayalam"}, {"mn", "mongolian"},
    {"mr", "marathi"}, {"ms", "malay"}, {"mt", "maltese"}, {"my", "myanmar"}, {"nb", "norwegian"}, {"ne", "nepali"},
    {"nl", "dutch"}, {"nn", "nynorsk"}, {"no", "norwegian"}, {"oc", "occitan"}, {"pa", "punjabi"}, {"pl", "polish"},
    {"ps", "pashto"}, {"pt", "portuguese"}, {"ro", "romanian"}, {"ru", "russian"}, {"sa", "sanskrit"},
    {"sd", "sindhi"}, {"si", "sinhala"}, {"sk", "slovak"}, {"sl", "slovenian"}, {"sn", "shona"}, {"so", "somali"},
    {"sq", "albanian"}, {"sr", "serbian"}, {"su", "sundanese"}, {"sv", "swedish"}, {"sw", "swahili"},
    {"ta", "tamil"}, {"te", "telugu"}, {"tg", "tajik"}, {"th", "thai"}, {"tk", "turkmen"}, {"tl", "tagalog"},
    {"tr", "turkish"}, {"tt", "tatar"}, {"uk", "ukrainian"}, {"ur", "urdu"}, {"uz", "uzbek"}, {"vi", "vietnamese"},
    {"yi", "yiddish"}, {"yo", "yoruba"}, {"yue", "cantonese"}, {"zh", "chinese"}};
  static_assert(std::is_sorted(std::begin(kNames), std::end(kNames)));
  const std::string primary = speech::PrimaryLanguage(code);
  const auto* found = std::lower_bound(std::begin(kNames), std::end(kNames), primary,
                                       [](const auto& entry, const std::string& key) { return entry.first < key; });
  return found != std::end(kNames) && found->first == primary ? std::string(found->second) : std::string(code);
}

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

namespace {
std::string Event(const nlohmann::json& data) {
  return "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}
}  // namespace

std::string TextDeltaEvent(std::string_view delta) { return Event({{"type", "transcript.text.delta"}, {"delta", delta}}); }

std::string TextDoneEvent(std::string_view text, double duration_seconds) {
  return Event({{"type", "transcript.text.done"}, {"text", text}, {"usage", {{"type", "duration"}, {"seconds", duration_seconds}}}});
}

std::string ErrorEvent(std::string_view error_body) { return "data: " + std::string(error_body) + "\n\n"; }

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
                             {"language", LanguageName(t.language)},
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
