// Runs a translation and waits (bounded) for its callback, for tests of the asynchronous API.
#pragma once

#include <chrono>
#include <future>
#include <memory>

#include "speech/speech_service.h"

namespace voxgate::testing {

// The outcome, or ABORTED "no answer" when the callback did not come within `timeout` (a status
// no service gives, so a test never takes a missing answer for the one it expects).
inline absl::StatusOr<speech::TranslationResponse> TranslateSync(speech::SpeechService& service, speech::TranslationRequest request,
                                                                 std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto outcome = std::make_shared<std::promise<absl::StatusOr<speech::TranslationResponse>>>();
  auto future = outcome->get_future();
  service.Translate(std::move(request), [outcome](absl::StatusOr<speech::TranslationResponse> r) { outcome->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready) return absl::AbortedError("no answer");
  return future.get();
}

}  // namespace voxgate::testing
