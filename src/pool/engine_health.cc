#include "pool/engine_health.h"

#include <algorithm>

namespace voxgate::pool {

std::string_view EngineStateName(EngineState state) {
  switch (state) {
    case EngineState::kStarting: return "starting";
    case EngineState::kHealthy: return "healthy";
    case EngineState::kUnhealthy: return "unhealthy";
    case EngineState::kEjected: return "ejected";
    case EngineState::kStandby: return "standby";
    case EngineState::kDraining: return "draining";
    case EngineState::kRemoved: return "removed";
  }
  return "unknown";
}

bool EngineHealth::OnCheck(bool passed) {
  const bool was = healthy_;
  if (passed) {
    failures_ = 0;
    passes_++;
    // A new engine joins on its first passing check; one that failed must pass several.
    if (!ever_passed_ || passes_ >= policy_->healthy_threshold) healthy_ = true;
    ever_passed_ = true;
  } else {
    passes_ = 0;
    failures_++;
    if (failures_ >= policy_->unhealthy_threshold) healthy_ = false;
  }
  return was != healthy_;
}

bool EngineHealth::OnUnreachable() {
  const bool was = healthy_;
  healthy_ = false;
  passes_ = 0;
  failures_ = std::max(failures_, policy_->unhealthy_threshold);
  return was;
}

bool EngineHealth::OnStreamFailure() {
  return ++consecutive_stream_failures_ >= policy_->consecutive_failures_to_eject;
}

void EngineHealth::Eject(core::TimePoint now) {
  ejections_++;
  consecutive_stream_failures_ = 0;
  const auto time = std::min(policy_->base_ejection * ejections_, policy_->max_ejection);
  ejected_until_ = now + time;
}

EngineState EngineHealth::state(core::TimePoint now) const {
  if (!ever_passed_) return EngineState::kStarting;
  if (!healthy_) return EngineState::kUnhealthy;
  if (now < ejected_until_) return EngineState::kEjected;
  return EngineState::kHealthy;
}

}  // namespace voxgate::pool
