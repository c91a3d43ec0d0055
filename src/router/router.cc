#include "router/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/metrics.h"
#include "router/shadow.h"
#include "speech/language.h"

namespace voxgate::router {
namespace {

// Whether a language code names a region ("en-US", "en_GB"), not only a language ("en").
bool NamesRegion(std::string_view code) { return code.find_first_of("-_") != std::string_view::npos; }

// How well a route's language fits a request's: -1 not at all; higher is more specific.
int LanguageScore(const std::string& route, const std::string& wanted) {
  if (route == "*") return 0;
  if (absl::EqualsIgnoreCase(route, wanted)) return 3;
  if (speech::PrimaryLanguage(route) != speech::PrimaryLanguage(wanted) || speech::PrimaryLanguage(wanted).empty()) return -1;
  // "en" serves every English; an "en-US" route takes "en-GB" only when nothing better exists.
  return NamesRegion(route) ? 1 : 2;
}

// The language the pool behind `route` is asked for. Falling back to another region is the
// router's decision, and a recognizer matches regions strictly (an "en-US" engine refuses
// "en-GB"), so a route that names a region asks for its own. Behind "en" or "*" the request's
// tag goes on: those engines serve every region and may use it.
std::string RouteLanguage(const Route& route, const std::string& wanted) {
  return NamesRegion(route.language) ? route.language : wanted;
}

// Whether `code` has the shape of a language tag: a 2 to 8 letter language, then subtags of 1 to
// 8 letters or digits, each after one "-" (or "_", as POSIX locales write it). Not whether it
// is a registered one: that is for the routes to say.
bool IsLanguageTag(std::string_view code) {
  size_t start = 0;
  for (size_t i = 0; i <= code.size(); ++i) {
    if (i < code.size() && code[i] != '-' && code[i] != '_') {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(code[i]))) return false;
      if (start == 0 && !absl::ascii_isalpha(static_cast<unsigned char>(code[i]))) return false;
      continue;
    }
    const size_t length = i - start;
    if (length < (start == 0 ? 2u : 1u) || length > 8) return false;
    start = i + 1;
  }
  return true;
}

}  // namespace

Router::Router(std::vector<Route> routes, uint32_t seed) : routes_(std::move(routes)), random_(seed) {}

absl::StatusOr<const Route*> Router::Match(const std::string& service, const std::string& language_code,
                                           const std::string& model, const std::string& plan) const {
  if (!language_code.empty() && !IsLanguageTag(language_code)) {
    return absl::InvalidArgumentError(absl::StrCat("language \"", language_code, "\" is not a language tag such as en-US"));
  }
  const Route* best = nullptr;
  int best_score = -1;
  for (const Route& r : routes_) {
    if (r.service != service) continue;
    if (!r.model.empty() && !absl::EqualsIgnoreCase(r.model, model)) continue;
    if (!r.plan.empty() && r.plan != plan) continue;
    const int language = LanguageScore(r.language, language_code);
    if (language < 0) continue;
    // A plan's own route beats a named model, which beats any language rule.
    const int score = language + (r.model.empty() ? 0 : 4) + (r.plan.empty() ? 0 : 8);
    if (score > best_score) {
      best = &r;
      best_score = score;
    }
  }
  if (best != nullptr) return best;
  const char* what = service == "mt" ? "translates from" : service == "tts" ? "speaks" : "serves";
  return absl::NotFoundError(absl::StrCat("no engine ", what, " language \"", language_code, "\"",
                                          model.empty() ? "" : " with model \"" + model + "\"", "; served languages: ",
                                          absl::StrJoin(ServedLanguages(service), ", ")));
}

std::vector<std::string> Router::ServedLanguages(const std::string& service) const {
  std::vector<std::string> all;
  for (const Route& r : routes_) {
    if (r.service == service && std::find(all.begin(), all.end(), r.language) == all.end()) all.push_back(r.language);
  }
  return all;
}

const Route::Target& Router::PickTarget(const Route& route) {
  if (route.targets.size() == 1) return route.targets.front();
  double total = 0;
  for (const auto& t : route.targets) total += t.weight;
  std::lock_guard lock(random_mu_);
  double x = std::uniform_real_distribution<double>(0, total)(random_);
  for (const auto& t : route.targets) {
    if (x < t.weight) return t;
    x -= t.weight;
  }
  return route.targets.back();
}

bool Router::ShouldShadow(const Route& route) {
  if (route.shadow.service == nullptr || route.shadow_share <= 0) return false;
  std::lock_guard lock(random_mu_);
  return std::uniform_real_distribution<double>(0, 1)(random_) < route.shadow_share;
}

absl::StatusOr<speech::RecognitionStreamPtr> Router::StartRecognition(const speech::RecognitionConfig& config,
                                                                      speech::RecognitionObserverPtr observer) {
  auto route = Match("asr", config.language_code, config.model, config.plan);
  if (!route.ok()) return route.status();
  // The split is decided once, here: a stream stays on the pool it starts on.
  const Route::Target& target = PickTarget(**route);
  core::Metrics().GetCounter("voxgate_router_streams_total", "Streams routed, by pool.", {{"pool", target.pool.name}}).Increment();
  speech::RecognitionConfig routed = config;
  routed.language_code = RouteLanguage(**route, config.language_code);
  if (ShouldShadow(**route)) return StartShadowed(routed, std::move(observer), target.pool, (*route)->shadow);
  return target.pool.service->StartRecognition(routed, std::move(observer));
}

void Router::Translate(speech::TranslationRequest request, speech::TranslationCallback done) {
  auto route = Match("mt", request.source_language, request.model, request.plan);
  if (!route.ok()) return done(route.status());
  const Route::Target& target = PickTarget(**route);
  core::Metrics().GetCounter("voxgate_router_translations_total", "Translation requests routed, by pool.", {{"pool", target.pool.name}}).Increment();
  request.source_language = RouteLanguage(**route, request.source_language);
  target.pool.service->Translate(std::move(request), std::move(done));
}

void Router::Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) {
  if (request.language_code.empty() && !request.voice.empty()) {
    // The voice's language, from the pools behind the synthesis routes.
    std::vector<speech::ModelInfo> models;
    std::string unsaid;  // a pool that has not said what it speaks yet may have the voice
    for (const Route& r : routes_) {
      if (r.service != "tts") continue;
      for (const auto& t : r.targets) {
        auto caps = t.pool.service->Describe();
        if (caps.ok()) models.insert(models.end(), caps->models.begin(), caps->models.end());
        if (!caps.ok() || caps->incomplete) unsaid = t.pool.name;
      }
    }
    for (const auto& m : models) {
      if (const speech::VoiceInfo* voice = m.service == "tts" ? speech::FindVoice(m, request.voice) : nullptr) {
        request.language_code = voice->language_code;
        break;
      }
    }
    if (request.language_code.empty() && !unsaid.empty()) {
      return observer->OnDone(absl::UnavailableError(absl::StrCat("voice \"", request.voice, "\" not found while pool \"", unsaid,
                                                                  "\" has not said what it speaks yet; retry after 1 s")));
    }
    if (request.language_code.empty()) {
      const std::vector<std::string> voices = speech::VoiceNames(models);
      return observer->OnDone(absl::NotFoundError(absl::StrCat("unknown voice \"", request.voice, "\"; voices: ",
                                                               voices.empty() ? "none" : absl::StrJoin(voices, ", "))));
    }
  }
  if (request.language_code.empty()) request.language_code = "en";
  auto route = Match("tts", request.language_code, request.model, request.plan);
  if (!route.ok()) return observer->OnDone(route.status());
  const Route::Target& target = PickTarget(**route);
  core::Metrics().GetCounter("voxgate_router_syntheses_total", "Speech synthesis requests routed, by pool.", {{"pool", target.pool.name}}).Increment();
  request.language_code = RouteLanguage(**route, request.language_code);
  target.pool.service->Synthesize(std::move(request), std::move(observer));
}

absl::StatusOr<speech::Capabilities> Router::Describe() {
  speech::Capabilities caps;
  caps.engine = "router";
  std::vector<std::string> counted;  // a pool behind several routes counts once
  for (const Route& r : routes_) {
    for (const auto& t : r.targets) {
      auto pool_caps = t.pool.service->Describe();
      caps.incomplete = caps.incomplete || !pool_caps.ok() || pool_caps->incomplete;
      if (!pool_caps.ok()) continue;
      if (std::find(counted.begin(), counted.end(), t.pool.name) == counted.end()) {
        counted.push_back(t.pool.name);
        caps.capacity += pool_caps->capacity;
        caps.active_streams += pool_caps->active_streams;
      }
      for (auto& m : pool_caps->models) {
        if (m.service != r.service) continue;  // what this route offers of the pool
        // The language a client asks for is the route's, whatever a recognizer calls it (a
        // translation model names its own pairs).
        if (m.service == "asr") m.language_codes = {r.language};
        auto have = std::find_if(caps.models.begin(), caps.models.end(), [&](const auto& h) { return h.name == m.name; });
        if (have == caps.models.end()) {
          caps.models.push_back(std::move(m));
          continue;
        }
        for (const auto& code : m.language_codes) {
          if (std::find(have->language_codes.begin(), have->language_codes.end(), code) == have->language_codes.end()) {
            have->language_codes.push_back(code);
          }
        }
      }
    }
  }
  return caps;
}

bool Router::IsServing() {
  if (routes_.empty()) return false;
  int served = 0;
  for (const Route& r : routes_) {
    served += std::any_of(r.targets.begin(), r.targets.end(), [](const auto& t) { return t.pool.service->IsServing(); });
  }
  if (served == static_cast<int>(routes_.size())) started_ = true;
  return started_ && served > 0;
}

}  // namespace voxgate::router
