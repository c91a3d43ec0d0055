#include "gateway/protocols/translate/translate_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gateway/protocols/json_object.h"

namespace voxgate::gateway::translate {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

absl::StatusOr<std::string> StringField(const nlohmann::json& body, const char* key, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is required"));
    return std::string();
  }
  if (!it->is_string()) return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<TranslateCall> ParseTranslateRequest(std::string_view body_text) {
  auto object = ParseJsonObject(body_text, "the body", R"({"text": "...", "source": "en", "target": "es"})");
  if (!object.ok()) return object.status();
  const nlohmann::json& body = *object;
  for (const auto& [key, value] : body.items()) {
    if (key != "text" && key != "texts" && key != "source" && key != "target" && key != "model") {
      return absl::InvalidArgumentError(absl::StrCat("unknown key ", nlohmann::json(key).dump(-1, ' ', false, kReplace),
                                                     " (known: text, texts, source, target, model)"));
    }
  }
  TranslateCall call;
  const bool has_text = body.contains("text"), has_texts = body.contains("texts");
  if (has_text == has_texts) return absl::InvalidArgumentError(R"(send exactly one of "text" (a string) or "texts" (a list of strings))");
  if (has_text) {
    auto text = StringField(body, "text", true);
    if (!text.ok()) return text.status();
    call.request.texts.push_back(std::move(*text));
    call.single = true;
  } else {
    const auto& texts = body["texts"];
    if (!texts.is_array() || texts.empty()) return absl::InvalidArgumentError(R"("texts" must be a non-empty list of strings)");
    for (const auto& t : texts) {
      if (!t.is_string()) return absl::InvalidArgumentError(R"("texts" must be a non-empty list of strings)");
      call.request.texts.push_back(t.get<std::string>());
    }
  }
  for (auto [key, out] : {std::pair{"source", &call.request.source_language}, std::pair{"target", &call.request.target_language},
                          std::pair{"model", &call.request.model}}) {
    auto value = StringField(body, key, std::string_view(key) != "model");
    if (!value.ok()) return value.status();
    *out = std::move(*value);
  }
  return call;
}

std::string RenderTranslateResponse(const TranslateCall& call, const speech::TranslationResponse& response) {
  nlohmann::json out = {{"source", call.request.source_language}, {"target", call.request.target_language}, {"model", response.model}};
  if (call.single && response.texts.size() == 1) {
    out["text"] = response.texts[0];
  } else {
    out["texts"] = response.texts;
  }
  return out.dump(-1, ' ', false, kReplace);
}

std::string RenderLanguagePairs(const speech::Capabilities& capabilities) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& m : capabilities.models) {
    if (m.service != "mt") continue;
    for (const auto& source : m.language_codes) {
      for (const auto& target : m.target_language_codes) pairs.push_back({{"source", source}, {"target", target}, {"model", m.name}});
    }
  }
  return nlohmann::json{{"pairs", pairs}}.dump(-1, ' ', false, kReplace);
}

}  // namespace voxgate::gateway::translate
