// The health of one engine as the pool sees it: active checks with healthy/unhealthy thresholds
// (Envoy's semantics: a new engine needs one passing check, a failed one `healthy_threshold`),
// and passive outlier ejection after consecutive stream failures, for a time that grows with
// each ejection. Pure logic on injected time; the pool owns the threads and the lock.
#pragma once

#include <chrono>
#include <string_view>

#include "core/clock.h"

namespace voxgate::pool {

struct HealthPolicy {
  int healthy_threshold = 2;
  int unhealthy_threshold = 1;
  int consecutive_failures_to_eject = 3;  // failed streams in a row
  core::Duration base_ejection = std::chrono::seconds(30);
  core::Duration max_ejection = std::chrono::seconds(300);
};

// kStarting..kEjected are health states; the pool adds its own view of an engine that is healthy
// but held back (kStandby), says it is draining, or was dropped by discovery with streams open.
enum class EngineState { kStarting, kHealthy, kUnhealthy, kEjected, kStandby, kDraining, kRemoved };
std::string_view EngineStateName(EngineState state);

class EngineHealth {
 public:
  explicit EngineHealth(const HealthPolicy& policy) : policy_(&policy) {}

  // The result of an active check. Returns true when the engine entered or left rotation.
  bool OnCheck(bool passed);
  // A call could not reach the engine at all: as a failed check, at once (the pool checks it
  // again now). Returns true when the engine left rotation.
  bool OnUnreachable();
  // A stream ended for an engine reason (not the client's). True when outlier detection asks to
  // eject it now; the pool decides (it never ejects more than its share) and calls Eject.
  bool OnStreamFailure();
  void OnStreamSuccess() { consecutive_stream_failures_ = 0; }
  void Eject(core::TimePoint now);

  EngineState state(core::TimePoint now) const;
  bool InRotation(core::TimePoint now) const { return state(now) == EngineState::kHealthy; }
  int ejections() const { return ejections_; }

 private:
  const HealthPolicy* policy_;
  bool ever_passed_ = false;
  bool healthy_ = false;
  int passes_ = 0;    // consecutive
  int failures_ = 0;  // consecutive
  int consecutive_stream_failures_ = 0;
  int ejections_ = 0;
  core::TimePoint ejected_until_{};
};

}  // namespace voxgate::pool
