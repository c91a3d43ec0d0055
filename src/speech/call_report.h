// CallReport: what the tiers below a caller say about one call (where it ran, how long it
// queued and computed), and the access-log fields made from it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"

namespace voxgate::speech {

// What the tiers below tell a caller about one call, for its access log line: the pool says
// where it ran and how long it waited for an engine, the engine how long it computed. Across a
// gRPC hop it travels in the response's trailing metadata. Filled from the services' threads;
// read once the call is done.
class CallReport {
 public:
  struct Values {
    std::string pool;
    std::string engine;  // the engine's address (the last one, after a failover)
    std::string model_version;
    double queue_seconds = 0;   // waiting for a free engine
    double engine_seconds = 0;  // computing, summed over the engines that served the call
  };
  void SetPlacement(std::string pool, std::string engine) {
    std::lock_guard lock(mu_);
    values_.pool = std::move(pool);
    values_.engine = std::move(engine);
  }
  void SetModelVersion(std::string version) {
    std::lock_guard lock(mu_);
    values_.model_version = std::move(version);
  }
  void AddQueueSeconds(double s) {
    std::lock_guard lock(mu_);
    values_.queue_seconds += s;
  }
  void AddEngineSeconds(double s) {
    std::lock_guard lock(mu_);
    values_.engine_seconds += s;
  }
  // Takes what a remote tier reported (its placement wins; its times add up).
  void Merge(const Values& v) {
    std::lock_guard lock(mu_);
    if (!v.pool.empty()) values_.pool = v.pool;
    if (!v.engine.empty()) values_.engine = v.engine;
    if (!v.model_version.empty()) values_.model_version = v.model_version;
    values_.queue_seconds += v.queue_seconds;
    values_.engine_seconds += v.engine_seconds;
  }
  Values values() const {
    std::lock_guard lock(mu_);
    return values_;
  }

 private:
  mutable std::mutex mu_;
  Values values_;
};
using CallReportPtr = std::shared_ptr<CallReport>;

// Adds to an access line: pool, engine, model_version, hops {endpoint_s, queue_s, engine_s}
// (endpoint_s: `tier_seconds`, the whole call as this tier saw it) and rtf (engine seconds per
// second of audio, when there was audio and engine time).
void AddCallReportFields(nlohmann::json& fields, const CallReport::Values& report, double audio_seconds,
                         double tier_seconds);

// How a status reads to an HTTP client (and in every tier's access line): 200, 4xx, 5xx; 499
// for a caller that went away; 408 for ClientIdleError.
int HttpStatusFor(const absl::Status& status);
// The client sent nothing for `seconds` while the server waited for it: DEADLINE_EXCEEDED, but
// the client's doing (a client error in access lines), not the server's. `what`: what it owed.
absl::Status ClientIdleError(double seconds, std::string_view what = "message");
// The status as a short lowercase code: "invalid_argument", "over_capacity", "too_large", ...
std::string ErrorCode(const absl::Status& status);
// The status's message as a client and the logs get it: at most kShownMessageBytes (cut at a
// character, with how long it was), as a message may quote a field a client sent (megabytes).
inline constexpr size_t kShownMessageBytes = 4096;
std::string ShownMessage(const absl::Status& status);
// `text` as the logs show what a client sent: at most `max_bytes`, cut the same way.
std::string ShownText(std::string_view text, size_t max_bytes);
// An access line's outcome for an HTTP status: "ok", "client_error", "server_error" or
// "client_gone" (499).
std::string OutcomeFor(int http_status);

}  // namespace voxgate::speech
