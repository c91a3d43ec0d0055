#include "gateway/protocols/openai/speech_request.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gateway/protocols/json_object.h"

namespace voxgate::gateway::openai {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

bool IsOpenAiModel(const std::string& model) {
  return model.empty() || model == "tts-1" || model == "tts-1-hd" || model == "gpt-4o-mini-tts";
}

}  // namespace

absl::StatusOr<SpeechCall> ParseSpeechRequest(std::string_view body_text) {
  auto object = ParseJsonObject(body_text, "the body", R"({"model": "tts-1", "input": "...", "voice": "alloy"})");
  if (!object.ok()) return object.status();
  const nlohmann::json& body = *object;
  SpeechCall call;
  std::string model, format = "wav", stream_format;
  for (auto [key, out] : {std::pair{"model", &model}, std::pair{"input", &call.request.text}, std::pair{"voice", &call.request.voice},
                          std::pair{"response_format", &format}, std::pair{"language", &call.request.language_code},
                          std::pair{"stream_format", &stream_format}}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
    *out = it->get<std::string>();
  }
  if (call.request.text.empty()) return absl::InvalidArgumentError(R"("input" is required: the text to speak)");
  if (!stream_format.empty() && stream_format != "audio") {
    return absl::InvalidArgumentError(absl::StrCat("stream_format \"", stream_format, "\" is not supported (supported: audio)"));
  }
  if (auto it = body.find("speed"); it != body.end() && !it->is_null()) {
    if (!it->is_number()) return absl::InvalidArgumentError(R"("speed" must be a number from 0.25 to 4.0)");
    call.request.speaking_rate = it->get<double>();
    if (!(call.request.speaking_rate >= 0.25 && call.request.speaking_rate <= 4.0)) {
      return absl::InvalidArgumentError(R"("speed" must be a number from 0.25 to 4.0)");
    }
  }
  auto parsed = audio::ParseOutputFormat(format);
  if (!parsed.ok()) return parsed.status();
  call.format = *parsed;
  // OpenAI's own model names pick whatever synthesizes the language; others name a model.
  call.request.model = IsOpenAiModel(model) ? "" : model;
  call.request.sample_rate_hertz = kSpeechSampleRateHertz;
  return call;
}

std::string RenderVoices(const speech::Capabilities& capabilities) {
  nlohmann::json voices = nlohmann::json::array();
  for (const auto& m : capabilities.models) {
    if (m.service != "tts") continue;
    for (const auto& v : m.voices) {
      voices.push_back({{"id", v.name}, {"name", v.name}, {"language", v.language_code}, {"gender", v.gender}, {"model", m.name}});
    }
  }
  return nlohmann::json{{"object", "list"}, {"data", voices}}.dump(-1, ' ', false, kReplace);
}

}  // namespace voxgate::gateway::openai
