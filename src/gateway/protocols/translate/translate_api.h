// POST /v1/translate and GET /v1/translate/languages: the JSON in and out, without the transport.
//   request:  {"text": "Hello"} or {"texts": ["Hello", "Bye"]}, "source": "en", "target": "es",
//             optional "model"
//   response: {"text": "Hola", ...} or {"texts": ["Hola", "Adiós"], ...}, with source, target, model
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::gateway::translate {

struct TranslateCall {
  speech::TranslationRequest request;
  bool single = false;  // the client sent "text", not "texts": it gets "text" back
};

// INVALID_ARGUMENT naming what is wrong (not JSON, unknown key, wrong type, missing field).
absl::StatusOr<TranslateCall> ParseTranslateRequest(std::string_view body);
std::string RenderTranslateResponse(const TranslateCall& call, const speech::TranslationResponse& response);
// The language pairs the service's translation models offer.
std::string RenderLanguagePairs(const speech::Capabilities& capabilities);

}  // namespace voxgate::gateway::translate
