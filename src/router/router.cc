#include "router/router.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"

namespace voxgate::router {
namespace {

std::string PrimarySubtag(const std::string& code) {
  return absl::AsciiStrToLower(code.substr(0, code.find_first_of("-_")));
}

}  // namespace

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

absl::StatusOr<const Route*> Router::Match(const std::string& language_code) const {
  const std::string wanted = absl::AsciiStrToLower(language_code);
  for (const Route& r : routes_) {
    for (const auto& code : r.language_codes) {
      if (absl::AsciiStrToLower(code) == wanted) return &r;
    }
  }
  const std::string primary = PrimarySubtag(language_code);
  for (const Route& r : routes_) {
    for (const auto& code : r.language_codes) {
      if (!primary.empty() && PrimarySubtag(code) == primary) return &r;
    }
  }
  return absl::NotFoundError("no engine serves language \"" + language_code +
                             "\"; served languages: " + absl::StrJoin(ServedLanguages(), ", "));
}

std::vector<std::string> Router::ServedLanguages() const {
  std::vector<std::string> all;
  for (const Route& r : routes_) all.insert(all.end(), r.language_codes.begin(), r.language_codes.end());
  return all;
}

absl::StatusOr<speech::RecognitionStreamPtr> Router::StartRecognition(const speech::RecognitionConfig& config,
                                                                      speech::RecognitionObserverPtr observer) {
  auto route = Match(config.language_code);
  if (!route.ok()) return route.status();
  return (*route)->pool->StartRecognition(config, std::move(observer));
}

absl::StatusOr<speech::Capabilities> Router::Describe() {
  speech::Capabilities caps;
  caps.engine = "router";
  for (const Route& r : routes_) {
    auto pool_caps = r.pool->Describe();
    if (!pool_caps.ok()) continue;
    caps.capacity += pool_caps->capacity;
    caps.active_streams += pool_caps->active_streams;
    for (auto& m : pool_caps->models) {
      // The languages a client can ask for are the route's, whatever the engine calls them.
      m.language_codes = r.language_codes;
      caps.models.push_back(std::move(m));
    }
  }
  return caps;
}

bool Router::IsServing() {
  if (routes_.empty()) return false;
  for (const Route& r : routes_) {
    if (!r.pool->IsServing()) return false;
  }
  return true;
}

}  // namespace voxgate::router
