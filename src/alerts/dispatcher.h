// The relay's semantics, Alertmanager's model on an injected clock: alerts are grouped by route
// and `group_by` labels; a new group is notified after `group_wait`, changes to it at most every
// `group_interval`, an unchanged firing group again after `repeat_interval`; resolved alerts are
// notified once (send_resolved); the same alert posted twice, or an old input redelivered, is
// deduplicated. Notifications go to an SQLite outbox first and are delivered from it: per
// destination one at a time, through a token bucket, with exponential backoff and jitter on
// failures, and a pause of the whole destination on HTTP 429 (Retry-After / retry_after).
//
// Thread-safe. Submit() commits before it returns (the caller acknowledges its input after);
// RunDue() does what is due and says when to call it again; deliveries finish on the
// transport's threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "alerts/alert.h"
#include "alerts/outbox.h"
#include "core/clock.h"

namespace voxgate::alerts {

using std::chrono::milliseconds;

// One HTTP POST and its answer. `status` 0: no answer (`error` says why, never with the URL).
struct HttpRequest {
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  milliseconds timeout{10000};
};
struct HttpResponse {
  int status = 0;
  std::string body;         // at most 64 KiB
  std::string retry_after;  // the Retry-After header
  std::string error;
};

// Sends requests; `done` is called exactly once, on any thread, never inside Send.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

struct Destination {
  std::string name;
  DestinationType type = DestinationType::kWebhook;
  std::string url;  // a secret: never logged, never in a status page
  double rate_per_second = 1;
  double burst = 5;
  milliseconds timeout{10000};
  std::string username = "voxgate";  // Discord's display name for the webhook's messages
};

struct Route {
  LabelSet match;                         // every label must equal; empty: every alert
  std::vector<std::string> destinations;  // empty: every destination
  std::vector<std::string> group_by = {"alertname"};  // "...": every label (one alert a group)
  milliseconds group_wait{30000};
  milliseconds group_interval{300000};
  milliseconds repeat_interval{4 * 3600 * 1000};
  bool send_resolved = true;
  bool continue_matching = false;  // also try the routes after this one
};

struct DispatcherOptions {
  std::vector<Destination> destinations;
  // First match wins (unless it says continue); an alert no route matches takes the default
  // route (every destination, default timings). No routes: the default route alone.
  std::vector<Route> routes;
  milliseconds initial_backoff{1000};
  milliseconds max_backoff{300000};
  milliseconds give_up_after{24 * 3600 * 1000};  // then the notification is marked failed
  int64_t max_alerts = 10000;       // alerts held; inputs beyond it get 503
  int64_t max_undelivered = 10000;  // notifications waiting; inputs beyond it get 503
  milliseconds retention{24 * 3600 * 1000};  // delivered and failed rows kept this long
  milliseconds tombstone_ttl{24 * 3600 * 1000};
  uint64_t seed = 0;           // jitter and notification ids; 0: random
  int64_t wall_anchor_ms = 0;  // wall time at clock.Now() when constructed; 0: the system clock's
  std::function<void()> wake;  // something became due sooner: call RunDue() again
};

struct SubmitResult {
  size_t accepted = 0;      // new or changed alerts
  size_t deduplicated = 0;  // already known, or an old input redelivered
};

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, Outbox& outbox, Transport& transport, const core::Clock& clock);
  ~Dispatcher();

  // Adds alerts to their groups and commits. RESOURCE_EXHAUSTED: the outbox is full.
  absl::StatusOr<SubmitResult> Submit(const std::vector<Alert>& alerts);
  // Notifies the groups that are due and starts the deliveries that are due. Returns when to
  // call again (at most a minute ahead).
  core::TimePoint RunDue();

  int64_t NowMs() const;
  // {"alerts", "groups", "undelivered", "failed", "destinations": [{name, type, undelivered,
  // in_flight, paused_seconds}]} for /v1/status.
  nlohmann::json Status();
  // Deliveries on the wire.
  int in_flight() const;

 private:
  struct DestinationState {
    Destination spec;
    double tokens = 0;
    int64_t tokens_at_ms = 0;
    int64_t paused_until_ms = 0;
    std::string in_flight_id;
  };

  // Indices into options_.routes; options_.routes.size() is the default route.
  std::vector<size_t> MatchRoutes(const LabelSet& labels) const;
  const Route& RouteAt(size_t route) const;
  std::optional<size_t> RouteByKey(const std::string& key) const;
  absl::StatusOr<GroupRow> CreateGroup(size_t route, const std::string& key, const LabelSet& labels, int64_t now_ms);
  // Groups whose route this config does not have (edited or removed, or stored by a version
  // that knew routes by index): their alerts join the groups of the routes they match now.
  void RerouteOrphanedGroups();
  absl::StatusOr<size_t> Reroute(const GroupRow& group, int64_t now_ms);  // the alerts moved
  std::pair<std::string, LabelSet> GroupKey(size_t route, const LabelSet& labels) const;
  std::vector<size_t> RouteDestinations(size_t route) const;
  absl::Status FlushGroup(GroupRow group, int64_t now_ms);
  void OnResult(size_t destination, const std::string& id, HttpResponse response);
  HttpRequest BuildRequest(const DestinationState& d, const NotificationRow& row) const;
  int64_t BackoffMs(int attempts);
  std::string NewId();
  void Refill(DestinationState& d, int64_t now_ms) const;

  DispatcherOptions options_;
  Outbox& outbox_;
  Transport& transport_;
  const core::Clock& clock_;
  const core::TimePoint steady_anchor_;
  int64_t wall_anchor_ms_;
  Route default_route_;
  std::vector<std::string> route_keys_;  // each route's identity, then the default route's

  mutable std::mutex mu_;
  std::vector<DestinationState> destinations_;
  std::mt19937_64 rng_;
  int64_t last_prune_ms_ = 0;
  int64_t flush_backoff_ms_ = 0;   // 0: the last flush of due groups succeeded
  int64_t flush_retry_at_ms_ = 0;  // due groups wait until then after a failed flush
};

// How long a 429 asks to wait, in ms: Discord's JSON `retry_after` (seconds) or the
// Retry-After header (seconds, or an HTTP date: from `now_ms`, wall time); when both, the body's
// finer value unless it disagrees with the header by more than a second (old Discord API
// versions sent milliseconds there). Default 5 s, at most an hour.
int64_t RetryAfterMs(const HttpResponse& response, int64_t now_ms);

}  // namespace voxgate::alerts
