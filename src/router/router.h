// The router tier: picks the pool for a stream from a routing table. A route matches on service,
// language ("en-US" exactly, "en" for any English, "*" for anything) and optionally model; the
// most specific match wins. A route sends its traffic to one pool or splits it by weight between
// several (canary, decided once per stream), and may mirror a share of it to a shadow pool whose
// results are compared with the primary's but never reach the client.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "speech/speech_service.h"

namespace voxgate::router {

struct PoolRef {
  std::string name;
  speech::SpeechServicePtr service;
};

struct Route {
  std::string service = "asr";
  std::string language = "*";  // "en-US", "en" or "*"
  std::string model;           // empty: any model
  std::string plan;            // the caller's API-key plan; empty: any caller
  struct Target {
    PoolRef pool;
    double weight = 1;
  };
  std::vector<Target> targets;  // one pool, or a weighted split
  PoolRef shadow;               // no service: no shadow
  double shadow_share = 0;      // of the route's streams, 0..1
};

class Router : public speech::SpeechService {
 public:
  explicit Router(std::vector<Route> routes, uint32_t seed = std::random_device{}());

  // The most specific route for a request, or NOT_FOUND naming what is served.
  absl::StatusOr<const Route*> Match(const std::string& service, const std::string& language_code,
                                     const std::string& model = "", const std::string& plan = "") const;
  std::vector<std::string> ServedLanguages(const std::string& service) const;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  // Routed on the source language ("mt" routes).
  void Translate(speech::TranslationRequest request, speech::TranslationCallback done) override;
  // Routed on the language ("tts" routes); a request that names only a voice takes the voice's.
  void Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) override;
  // Until every route has had a serving pool once: false (a starting process is ready only when
  // everything it serves has loaded). From then on, true while some route has one: a deployment
  // with one engine kind down (no TTS pods) still serves the rest and its tiers stay in their
  // load balancers; requests for the dead route get UNAVAILABLE from the pool, which says why.
  bool IsServing() override;

 private:
  const Route::Target& PickTarget(const Route& route);
  bool ShouldShadow(const Route& route);

  std::vector<Route> routes_;
  std::atomic<bool> started_{false};  // every route has had a serving pool
  std::mutex random_mu_;
  std::mt19937 random_;
};

}  // namespace voxgate::router
