#include "alerts/dispatcher.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "alerts/internal/text.h"
#include "alerts/payloads.h"
#include "core/log.h"
#include "core/metrics.h"

namespace voxgate::alerts {

using nlohmann::json;

namespace {

constexpr int64_t kPruneEveryMs = 60 * 1000;
constexpr int64_t kMaxSleepMs = 60 * 1000;
constexpr int64_t kMaxPauseMs = 3600 * 1000;
// After a failed write of due groups (disk full, read-only volume), flushing waits this long,
// doubling per failure up to the max, so the relay does not spin on an error.
constexpr int64_t kFlushRetryMinMs = 1000;
constexpr int64_t kFlushRetryMaxMs = 60 * 1000;

core::Counter& DestinationCounter(const char* name, const char* help, const std::string& destination) {
  return core::Metrics().GetCounter(name, help, {{"destination", destination}});
}

std::string Dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

bool Retryable(int status) { return status == 0 || status == 408 || status == 425 || status >= 500; }

// Retry-After's two forms (RFC 9110 10.2.3): delay-seconds (digits; a fraction is tolerated)
// or an IMF-fixdate, in seconds from `now_ms` (wall time). Anything else (hex, a sign, trailing
// garbage): nullopt.
std::optional<double> ParseRetryAfter(const std::string& value, int64_t now_ms) {
  const size_t first = value.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  const std::string v = value.substr(first, value.find_last_not_of(" \t") - first + 1);
  if (v.find_first_not_of("0123456789.") == std::string::npos) {
    if (v.find_first_of("0123456789") == std::string::npos) return std::nullopt;
    char* end = nullptr;
    const double seconds = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !std::isfinite(seconds)) return std::nullopt;
    return seconds;
  }
  std::tm tm{};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t at = timegm(&tm);
  if (at == static_cast<time_t>(-1)) return std::nullopt;
  return std::max(0.0, static_cast<double>(at) - static_cast<double>(now_ms) / 1000.0);
}

}  // namespace

int64_t RetryAfterMs(const HttpResponse& r, int64_t now_ms) {
  std::optional<double> header = ParseRetryAfter(r.retry_after, now_ms), body;
  json doc = json::parse(r.body, nullptr, false);
  if (doc.is_object()) {
    if (auto it = doc.find("retry_after"); it != doc.end() && it->is_number()) {
      const double v = it->get<double>();
      if (std::isfinite(v) && v >= 0) body = v;
    }
  }
  double seconds = 5;
  if (header && body) {
    seconds = std::abs(*header - *body) <= 1.0 ? std::max(*body, 0.0) : *header;
  } else if (body) {
    seconds = *body;
  } else if (header) {
    seconds = *header;
  }
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(seconds * 1000)), 50, kMaxPauseMs);
}

Dispatcher::Dispatcher(DispatcherOptions options, Outbox& outbox, Transport& transport, const core::Clock& clock)
    : options_(std::move(options)),
      outbox_(outbox),
      transport_(transport),
      clock_(clock),
      steady_anchor_(clock.Now()),
      wall_anchor_ms_(options_.wall_anchor_ms),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {
  if (wall_anchor_ms_ == 0) {
    wall_anchor_ms_ = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  const int64_t now = NowMs();
  for (const auto& d : options_.destinations) {
    DestinationState s;
    s.spec = d;
    s.tokens = d.burst;
    s.tokens_at_ms = now;
    destinations_.push_back(std::move(s));
    // Every destination's series exist from the start (a rate() over a missing series is empty).
    DestinationCounter("voxgate_alert_notifications_sent_total", "Notifications delivered, by destination.", d.name);
    DestinationCounter("voxgate_alert_notifications_failed_total", "Notifications given up on, by destination.", d.name);
    DestinationCounter("voxgate_alert_delivery_errors_total", "Failed delivery attempts that will be retried, by destination.", d.name);
    DestinationCounter("voxgate_alert_rate_limited_total", "HTTP 429 answers from a destination.", d.name);
  }
  std::set<std::string> configured;
  for (const auto& d : options_.destinations) configured.insert(d.name);
  // Notifications for a destination the config no longer has (renamed, removed) would never be
  // sent, yet count toward max_undelivered until every input gets 503: they fail now.
  if (auto undelivered = outbox_.UndeliveredByDestination(); undelivered.ok()) {
    for (const auto& [name, n] : *undelivered) {
      if (configured.count(name)) continue;
      if (auto s = outbox_.FailUndelivered(name, now, "destination no longer configured"); !s.ok()) {
        core::LogError("cannot write to the alert outbox", {{"error", std::string(s.message())}});
        continue;
      }
      DestinationCounter("voxgate_alert_notifications_failed_total", "Notifications given up on, by destination.", name)
          .Increment(static_cast<double>(n));
      core::LogError("alert destination is gone from the config; its undelivered notifications are marked failed",
                     {{"destination", name}, {"notifications", n}});
    }
  } else {
    core::LogError("cannot read the alert outbox", {{"error", std::string(undelivered.status().message())}});
  }
  for (const auto& row : outbox_.recovered_in_flight()) {
    if (!configured.count(row.destination)) continue;  // failed above
    core::LogWarning("alert notification was on the wire when the relay stopped; sending it again with the same id",
                     {{"notification_id", row.id}, {"destination", row.destination}});
  }
  // A route is known by what it matches (as Alertmanager keys its routes), numbered when several
  // match the same, so groups keep their route when the list is reordered or a route's
  // destinations or timings change.
  std::map<std::string, int> seen;
  for (const Route& r : options_.routes) {
    std::string key = Dump(json(r.match));
    if (const int n = ++seen[key]; n > 1) absl::StrAppend(&key, "#", n);
    route_keys_.push_back(std::move(key));
  }
  route_keys_.push_back("default");
  RerouteOrphanedGroups();
}

void Dispatcher::RerouteOrphanedGroups() {
  auto groups = outbox_.Groups();
  if (!groups.ok()) {
    core::LogError("cannot read the alert outbox", {{"error", std::string(groups.status().message())}});
    return;
  }
  for (const GroupRow& g : *groups) {
    if (RouteByKey(g.route_key)) continue;
    if (auto moved = Reroute(g, NowMs()); moved.ok()) {
      core::LogWarning("alert group's route is gone from the config; its alerts take the routes they match now",
                       {{"group_key", g.key}, {"alerts", *moved}});
    } else {
      core::LogError("cannot write to the alert outbox", {{"error", std::string(moved.status().message())}});
    }
  }
}

absl::StatusOr<size_t> Dispatcher::Reroute(const GroupRow& old, int64_t now) {
  internal::Transaction tx(outbox_.db());
  if (!tx.begun().ok()) return tx.begun();
  auto alerts = outbox_.GroupAlerts(old.id);
  if (!alerts.ok()) return alerts.status();
  for (const StoredAlert& a : *alerts) {
    for (size_t route : MatchRoutes(a.alert.labels)) {
      auto [key, labels] = GroupKey(route, a.alert.labels);
      auto group = outbox_.FindGroup(key);
      if (!group.ok()) return group.status();
      if (!*group) {
        auto created = CreateGroup(route, key, labels, now);
        if (!created.ok()) return created.status();
        *group = std::move(*created);
      }
      // A firing alert is notified again on its new route (its destinations may be new to it);
      // one that resolved after it was notified firing still gets its resolved notification.
      if (!a.alert.FiringAt(now) && old.last_firing.count(a.fingerprint)) {
        (*group)->last_firing.insert(a.fingerprint);
        if (auto s = outbox_.UpdateGroup(**group); !s.ok()) return s;
      }
      if (auto s = outbox_.PutAlert((*group)->id, a, now); !s.ok()) return s;
    }
  }
  if (auto s = outbox_.DeleteGroup(old.id); !s.ok()) return s;
  if (auto s = tx.Commit(); !s.ok()) return s;
  return alerts->size();
}

const Route& Dispatcher::RouteAt(size_t route) const {
  return route < options_.routes.size() ? options_.routes[route] : default_route_;
}

std::optional<size_t> Dispatcher::RouteByKey(const std::string& key) const {
  auto it = std::find(route_keys_.begin(), route_keys_.end(), key);
  if (it == route_keys_.end()) return std::nullopt;
  return static_cast<size_t>(it - route_keys_.begin());
}

absl::StatusOr<GroupRow> Dispatcher::CreateGroup(size_t route, const std::string& key, const LabelSet& labels, int64_t now) {
  GroupRow g;
  g.key = key;
  g.route_key = route_keys_[route];
  g.labels = labels;
  g.created_at_ms = now;
  g.next_flush_at_ms = now + RouteAt(route).group_wait.count();
  if (auto s = outbox_.InsertGroup(g); !s.ok()) return s;
  return g;
}

Dispatcher::~Dispatcher() = default;

int64_t Dispatcher::NowMs() const {
  return wall_anchor_ms_ + std::chrono::duration_cast<milliseconds>(clock_.Now() - steady_anchor_).count();
}

std::vector<size_t> Dispatcher::MatchRoutes(const LabelSet& labels) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < options_.routes.size(); ++i) {
    const Route& r = options_.routes[i];
    const bool match = std::all_of(r.match.begin(), r.match.end(), [&](const auto& m) {
      auto it = labels.find(m.first);
      return it != labels.end() ? it->second == m.second : m.second.empty();
    });
    if (!match) continue;
    out.push_back(i);
    if (!r.continue_matching) break;
  }
  if (out.empty()) out.push_back(options_.routes.size());  // the default route
  return out;
}

std::pair<std::string, LabelSet> Dispatcher::GroupKey(size_t route, const LabelSet& labels) const {
  const Route& r = RouteAt(route);
  LabelSet group;
  const bool all = std::find(r.group_by.begin(), r.group_by.end(), "...") != r.group_by.end();
  if (all) {
    group = labels;
  } else {
    for (const auto& name : r.group_by) {
      if (auto it = labels.find(name); it != labels.end()) group[name] = it->second;
    }
  }
  return {absl::StrCat(route_keys_[route], ":", Dump(json(group))), group};
}

std::vector<size_t> Dispatcher::RouteDestinations(size_t route) const {
  const Route& r = RouteAt(route);
  std::vector<size_t> out;
  for (size_t i = 0; i < destinations_.size(); ++i) {
    if (r.destinations.empty() || std::find(r.destinations.begin(), r.destinations.end(), destinations_[i].spec.name) != r.destinations.end()) {
      out.push_back(i);
    }
  }
  return out;
}

absl::StatusOr<SubmitResult> Dispatcher::Submit(const std::vector<Alert>& alerts) {
  SubmitResult result;
  {
    std::lock_guard lock(mu_);
    const int64_t now = NowMs();
    internal::Transaction tx(outbox_.db());
    if (!tx.begun().ok()) return tx.begun();
    auto undelivered = outbox_.CountUndelivered();
    if (!undelivered.ok()) return undelivered.status();
    if (*undelivered >= options_.max_undelivered) {
      return absl::ResourceExhaustedError(absl::StrCat("the alert outbox is full: ", *undelivered,
                                                       " notifications wait for delivery; retry later"));
    }
    auto count = outbox_.CountAlerts();
    if (!count.ok()) return count.status();
    int64_t held = *count;
    for (const Alert& alert : alerts) {
      const std::string fp = Fingerprint(alert.labels);
      bool changed = false;
      for (size_t route : MatchRoutes(alert.labels)) {
        auto [key, group_labels] = GroupKey(route, alert.labels);
        auto group = outbox_.FindGroup(key);
        if (!group.ok()) return group.status();
        std::optional<StoredAlert> existing;
        if (*group) {
          auto got = outbox_.GetAlert((*group)->id, fp);
          if (!got.ok()) return got.status();
          existing = std::move(*got);
        }
        if (!existing) {
          if (!alert.FiringAt(now)) continue;  // resolves nothing the relay holds
          auto tomb = outbox_.TombstoneEndsAt(fp);
          if (!tomb.ok()) return tomb.status();
          if (*tomb && alert.starts_at_ms <= **tomb) continue;  // an old input, redelivered
          if (*tomb) {
            if (auto s = outbox_.DeleteTombstone(fp); !s.ok()) return s;
          }
          if (held >= options_.max_alerts) {
            return absl::ResourceExhaustedError(absl::StrCat("the alert outbox is full: it holds ", held, " alerts; retry later"));
          }
          if (!*group) {
            auto created = CreateGroup(route, key, group_labels, now);
            if (!created.ok()) return created.status();
            *group = std::move(*created);
          }
          if (auto s = outbox_.PutAlert((*group)->id, {fp, alert}, now); !s.ok()) return s;
          held++;
          changed = true;
          continue;
        }
        // The same alert again: keep when it started; take the newer end and annotations.
        Alert merged = existing->alert;
        const Alert& old = existing->alert;
        if (old.FiringAt(now)) {
          merged.ends_at_ms = alert.ends_at_ms;
          merged.annotations = alert.annotations;
          merged.generator_url = alert.generator_url;
        } else if (alert.FiringAt(now) && alert.starts_at_ms > old.ends_at_ms) {
          merged = alert;  // fired again after it resolved
        } else {
          continue;  // resolved already; this input is older
        }
        const bool same = merged.ends_at_ms == old.ends_at_ms && merged.annotations == old.annotations &&
                          merged.starts_at_ms == old.starts_at_ms && merged.generator_url == old.generator_url;
        // A one-shot event repeated only extends its expiry: it is the same alert, deduplicated.
        if (same || (old.one_shot && merged.one_shot && merged.starts_at_ms == old.starts_at_ms && merged.FiringAt(now))) {
          if (!same) {
            if (auto s = outbox_.PutAlert((*group)->id, {fp, merged}, now); !s.ok()) return s;
          }
          continue;
        }
        if (auto s = outbox_.PutAlert((*group)->id, {fp, merged}, now); !s.ok()) return s;
        changed = true;
      }
      changed ? result.accepted++ : result.deduplicated++;
    }
    if (auto s = tx.Commit(); !s.ok()) return s;
  }
  if (options_.wake) options_.wake();
  return result;
}

absl::Status Dispatcher::FlushGroup(GroupRow g, int64_t now) {
  internal::Transaction tx(outbox_.db());
  if (!tx.begun().ok()) return tx.begun();
  // Every group has a route of this config: the constructor re-routed the others.
  const size_t route_index = RouteByKey(g.route_key).value_or(options_.routes.size());
  const Route& route = RouteAt(route_index);
  auto alerts = outbox_.GroupAlerts(g.id);
  if (!alerts.ok()) return alerts.status();
  std::vector<Alert> firing, resolved;
  std::set<std::string> firing_fps;
  std::vector<const StoredAlert*> ended;
  for (const StoredAlert& a : *alerts) {
    if (a.alert.FiringAt(now)) {
      firing.push_back(a.alert);
      firing_fps.insert(a.fingerprint);
      continue;
    }
    ended.push_back(&a);
    if (!a.alert.one_shot && g.last_firing.count(a.fingerprint)) resolved.push_back(a.alert);
  }
  const bool new_firing = std::any_of(firing_fps.begin(), firing_fps.end(), [&](const std::string& f) { return !g.last_firing.count(f); });
  const bool repeat = !firing.empty() && g.last_notified_at_ms > 0 && now - g.last_notified_at_ms >= route.repeat_interval.count();
  const bool send = new_firing || repeat || (route.send_resolved && !resolved.empty());
  if (send) {
    if (!route.send_resolved) resolved.clear();
    for (size_t d : RouteDestinations(route_index)) {
      NotificationRow row;
      row.id = NewId();
      row.destination = destinations_[d].spec.name;
      row.group_key = g.key;
      row.body = Dump(NotificationDocument({row.id, row.destination, g.key, g.labels, firing, resolved, now}));
      row.created_at_ms = now;
      row.next_attempt_at_ms = now;
      if (auto s = outbox_.InsertNotification(row); !s.ok()) return s;
    }
    g.last_firing = firing_fps;
    g.last_notified_at_ms = now;
  } else {
    std::erase_if(g.last_firing, [&](const std::string& f) { return !firing_fps.count(f); });
  }
  for (const StoredAlert* a : ended) {
    if (auto s = outbox_.DeleteAlert(g.id, a->fingerprint); !s.ok()) return s;
    if (!a->alert.one_shot) {
      if (auto s = outbox_.PutTombstone(a->fingerprint, a->alert.ends_at_ms, now + options_.tombstone_ttl.count()); !s.ok()) return s;
    }
  }
  if (firing.empty()) {
    if (auto s = outbox_.DeleteGroup(g.id); !s.ok()) return s;
  } else {
    g.next_flush_at_ms = now + route.group_interval.count();
    if (auto s = outbox_.UpdateGroup(g); !s.ok()) return s;
  }
  return tx.Commit();
}

void Dispatcher::Refill(DestinationState& d, int64_t now) const {
  if (now > d.tokens_at_ms) {
    d.tokens = std::min(d.spec.burst, d.tokens + (now - d.tokens_at_ms) / 1000.0 * d.spec.rate_per_second);
  }
  d.tokens_at_ms = now;
}

HttpRequest Dispatcher::BuildRequest(const DestinationState& d, const NotificationRow& row) const {
  HttpRequest req;
  req.timeout = d.spec.timeout;
  req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "voxgate-alert-relay/0.1.0"}};
  const json doc = json::parse(row.body, nullptr, false);
  switch (d.spec.type) {
    case DestinationType::kDiscord:
      // wait=true: Discord answers once the message is saved, with its id (kept as remote_id).
      req.url = d.spec.url + (d.spec.url.find('?') == std::string::npos ? "?" : "&") + "wait=true";
      req.body = Dump(DiscordPayload(doc, d.spec.username));
      break;
    case DestinationType::kSlack:
      req.url = d.spec.url;
      req.body = Dump(SlackPayload(doc));
      break;
    case DestinationType::kWebhook:
      req.url = d.spec.url;
      req.body = row.body;
      req.headers.emplace_back("Idempotency-Key", row.id);
      break;
  }
  return req;
}

core::TimePoint Dispatcher::RunDue() {
  struct Start {
    size_t destination;
    std::string id;
    HttpRequest request;
  };
  std::vector<Start> starts;
  int64_t now = 0, next = 0;
  {
    std::lock_guard lock(mu_);
    now = NowMs();
    next = now + kMaxSleepMs;
    if (now >= flush_retry_at_ms_) {
      absl::Status failed;
      int failures = 0;
      auto due = outbox_.DueGroups(now);
      if (due.ok()) {
        for (GroupRow& g : *due) {
          if (auto s = FlushGroup(std::move(g), now); !s.ok()) {
            if (failures++ == 0) failed = s;
          }
        }
      } else {
        failed = due.status();
        failures = 1;
      }
      if (failures > 0) {
        // The due groups stay due (rolled back); retry them later, not on the next spin.
        flush_backoff_ms_ = flush_backoff_ms_ == 0 ? kFlushRetryMinMs : std::min(2 * flush_backoff_ms_, kFlushRetryMaxMs);
        flush_retry_at_ms_ = now + flush_backoff_ms_;
        core::LogError(due.ok() ? "cannot write an alert notification to the outbox" : "cannot read the alert outbox",
                       {{"error", std::string(failed.message())}, {"groups", failures}, {"retry_in_seconds", flush_backoff_ms_ / 1000.0}});
      } else {
        flush_backoff_ms_ = 0;
        flush_retry_at_ms_ = 0;
      }
    }
    if (now - last_prune_ms_ >= kPruneEveryMs) {
      last_prune_ms_ = now;
      if (auto s = outbox_.Prune(now - options_.retention.count(), now); !s.ok()) {
        core::LogWarning("cannot prune the alert outbox", {{"error", std::string(s.message())}});
      }
    }
    if (auto f = outbox_.NextFlushAt(); f.ok() && *f) next = std::min(next, std::max(**f, flush_retry_at_ms_));
    for (size_t i = 0; i < destinations_.size(); ++i) {
      DestinationState& d = destinations_[i];
      if (!d.in_flight_id.empty()) continue;  // its result wakes us
      if (now < d.paused_until_ms) {
        next = std::min(next, d.paused_until_ms);
        continue;
      }
      auto row = outbox_.NextDue(d.spec.name, now);
      if (!row.ok() || !*row) {
        if (auto at = outbox_.NextAttemptAt(d.spec.name); at.ok() && *at) next = std::min(next, std::max(**at, now));
        continue;
      }
      Refill(d, now);
      if (d.tokens < 1) {
        next = std::min(next, now + static_cast<int64_t>(std::ceil((1 - d.tokens) * 1000 / d.spec.rate_per_second)));
        continue;
      }
      if (auto s = outbox_.SetState((*row)->id, NotificationState::kInFlight, (*row)->attempts, (*row)->next_attempt_at_ms, now,
                                    (*row)->remote_id, (*row)->last_error);
          !s.ok()) {
        core::LogError("cannot write to the alert outbox", {{"error", std::string(s.message())}});
        continue;
      }
      d.tokens -= 1;
      d.in_flight_id = (*row)->id;
      starts.push_back({i, (*row)->id, BuildRequest(d, **row)});
    }
  }
  for (Start& s : starts) {
    transport_.Send(std::move(s.request), [this, d = s.destination, id = s.id](HttpResponse r) { OnResult(d, id, std::move(r)); });
  }
  return clock_.Now() + milliseconds(std::max<int64_t>(0, next - now));
}

void Dispatcher::OnResult(size_t index, const std::string& id, HttpResponse r) {
  {
    std::lock_guard lock(mu_);
    DestinationState& d = destinations_[index];
    d.in_flight_id.clear();
    const int64_t now = NowMs();
    auto row = outbox_.GetNotification(id);
    if (!row.ok() || !*row) return;
    NotificationRow& n = **row;
    const std::string& name = d.spec.name;
    json fields = {{"destination", name}, {"destination_type", DestinationTypeName(d.spec.type)}, {"notification_id", id}};
    absl::Status written;
    const bool expired = now - n.created_at_ms >= options_.give_up_after.count();
    if (r.status >= 200 && r.status < 300) {
      std::string remote_id;
      if (json body = json::parse(r.body, nullptr, false); body.is_object()) {
        if (auto it = body.find("id"); it != body.end() && it->is_string()) remote_id = internal::TruncateBytes(it->get<std::string>(), 64);
      }
      written = outbox_.SetState(id, NotificationState::kDelivered, n.attempts, n.next_attempt_at_ms, now, remote_id, "");
      DestinationCounter("voxgate_alert_notifications_sent_total", "Notifications delivered, by destination.", name).Increment();
      fields["attempts"] = n.attempts + 1;
      core::LogInfo("alert notification delivered", fields);
    } else if (r.status == 429 && !expired) {
      // The destination pauses; this notification keeps its place and is not a failed attempt
      // (but a destination that rate-limits it for give_up_after makes it fail, below).
      const int64_t pause = RetryAfterMs(r, now);
      d.paused_until_ms = now + pause;
      written = outbox_.SetState(id, NotificationState::kPending, n.attempts, d.paused_until_ms, now, "", "rate limited (HTTP 429)");
      DestinationCounter("voxgate_alert_rate_limited_total", "HTTP 429 answers from a destination.", name).Increment();
      fields["retry_after_seconds"] = pause / 1000.0;
      core::LogWarning("alert destination rate-limits the relay; pausing it", fields);
    } else {
      const std::string error = r.status == 0 ? r.error : absl::StrCat("HTTP ", r.status, ": ", internal::TruncateBytes(r.body, 300));
      fields["error"] = error;
      fields["attempts"] = n.attempts + 1;
      if (!Retryable(r.status) || expired) {
        written = outbox_.SetState(id, NotificationState::kFailed, n.attempts + 1, 0, now, "", error);
        DestinationCounter("voxgate_alert_notifications_failed_total", "Notifications given up on, by destination.", name).Increment();
        core::LogError(expired ? "alert notification failed for too long; giving up (kept in the outbox as failed)"
                               : "alert destination refused the notification; giving up (kept in the outbox as failed)",
                       fields);
      } else {
        const int64_t delay = BackoffMs(n.attempts + 1);
        written = outbox_.SetState(id, NotificationState::kPending, n.attempts + 1, now + delay, now, "", error);
        DestinationCounter("voxgate_alert_delivery_errors_total", "Failed delivery attempts that will be retried, by destination.", name).Increment();
        fields["retry_in_seconds"] = delay / 1000.0;
        core::LogWarning("alert notification not delivered; retrying", fields);
      }
    }
    if (!written.ok()) core::LogError("cannot write to the alert outbox", {{"error", std::string(written.message())}});
  }
  if (options_.wake) options_.wake();
}

int64_t Dispatcher::BackoffMs(int attempts) {
  const double base = static_cast<double>(options_.initial_backoff.count()) * std::pow(2.0, std::max(0, attempts - 1));
  const double capped = std::min(base, static_cast<double>(options_.max_backoff.count()));
  // "Equal jitter": half fixed, half random, so retries of many relays spread out but never
  // come sooner than half the backoff.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(capped * jitter(rng_)));
}

std::string Dispatcher::NewId() {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng_()), static_cast<unsigned long long>(rng_()));
  return buf;
}

int Dispatcher::in_flight() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& d : destinations_) n += !d.in_flight_id.empty();
  return n;
}

json Dispatcher::Status() {
  std::lock_guard lock(mu_);
  const int64_t now = NowMs();
  json destinations = json::array();
  for (const auto& d : destinations_) {
    destinations.push_back({{"name", d.spec.name},
                            {"type", DestinationTypeName(d.spec.type)},
                            {"undelivered", outbox_.CountUndelivered(d.spec.name).value_or(-1)},
                            {"in_flight", !d.in_flight_id.empty()},
                            {"paused_seconds", std::max<int64_t>(0, d.paused_until_ms - now) / 1000.0}});
  }
  return {{"alerts", outbox_.CountAlerts().value_or(-1)},
          {"groups", outbox_.CountGroups().value_or(-1)},
          {"undelivered", outbox_.CountUndelivered().value_or(-1)},
          {"failed", outbox_.CountByState(NotificationState::kFailed).value_or(-1)},
          {"destinations", std::move(destinations)}};
}

}  // namespace voxgate::alerts
