// The router tier: picks the pool that serves a stream's language. A language code matches a
// pool's code exactly (case-insensitive) or, failing that, by its primary subtag ("en" and
// "en-GB" go to an "en-US" pool when no better pool exists).
#pragma once

#include <string>
#include <vector>

#include "speech/speech_service.h"

namespace voxgate::router {

struct Route {
  std::string pool_name;
  std::vector<std::string> language_codes;
  speech::SpeechServicePtr pool;
};

class Router : public speech::SpeechService {
 public:
  explicit Router(std::vector<Route> routes);

  // The route for a language, or NOT_FOUND naming the languages that are served.
  absl::StatusOr<const Route*> Match(const std::string& language_code) const;
  std::vector<std::string> ServedLanguages() const;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  // True when every route has a serving pool.
  bool IsServing() override;

 private:
  std::vector<Route> routes_;
};

}  // namespace voxgate::router
