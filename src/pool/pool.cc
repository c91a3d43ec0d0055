#include "pool/pool.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <limits>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/metrics.h"
#include "speech/language.h"

namespace voxgate::pool {
namespace {

// How often open streams are asked whether their engine still makes progress.
constexpr auto kProgressCheckInterval = std::chrono::seconds(1);
// How often a healthy engine is asked again what it serves: the capacity of a tier behind this one
// changes as its own engines come and go.
constexpr auto kDescribeInterval = std::chrono::seconds(30);

core::Counter& QueueRejections(const std::string& pool, const char* reason) {
  return core::Metrics().GetCounter("voxgate_pool_queue_rejections_total",
                                    "Streams refused for want of an engine slot: queue full or queue timeout.",
                                    {{"pool", pool}, {"reason", reason}});
}

core::Histogram& QueueWait(const std::string& pool) {
  return core::Metrics().GetHistogram("voxgate_pool_queue_wait_seconds",
                                      "Time a stream waited for a free engine slot (0 when one was free).",
                                      core::LatencyBuckets(), {{"pool", pool}});
}

}  // namespace

Pool::Pool(Options options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines)
    : options_(std::move(options)),
      clock_(*options_.clock),
      queue_(options_.max_queued_streams),
      retry_budget_(options_.retry_budget_share, options_.min_retries) {
  for (auto& service : engines) {
    auto e = std::make_unique<Engine>(options_.health);
    e->address = service->address();
    e->service = std::move(service);
    engines_.push_back(std::move(e));
  }
  auto& metrics = core::Metrics();
  metrics.AddCallbackGauge("voxgate_pool_active_streams", "Streams open on the pool's engines.",
                           [this] { return active_streams(); }, {{"pool", options_.name}});
  metrics.AddCallbackGauge("voxgate_pool_healthy_engines", "Engines of the pool in rotation.",
                           [this] { return healthy_engines(); }, {{"pool", options_.name}});
  metrics.AddCallbackGauge("voxgate_pool_queued_streams", "Streams waiting for an engine slot.",
                           [this] { return static_cast<double>(queued_streams()); }, {{"pool", options_.name}});
  metrics.AddCallbackGauge("voxgate_pool_standby_engines", "Healthy engines held out of rotation as warm standbys.",
                           [this] { return standby_engines(); }, {{"pool", options_.name}});
}

Pool::~Pool() {
  Stop();
  // The registry outlives the pool: keep scrapes from reading a dead object.
  for (const char* name : {"voxgate_pool_active_streams", "voxgate_pool_healthy_engines", "voxgate_pool_queued_streams",
                           "voxgate_pool_standby_engines"}) {
    core::Metrics().AddCallbackGauge(name, "", [] { return 0.0; }, {{"pool", options_.name}});
  }
}

void Pool::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !health_thread_.joinable() && !dispatch_thread_.joinable()) return;
    stopping_ = true;
  }
  health_cv_.notify_all();
  dispatch_cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  if (dispatch_thread_.joinable()) dispatch_thread_.join();
}

void Pool::Start() {
  health_thread_ = std::thread([this] { HealthLoop(); });
  dispatch_thread_ = std::thread([this] { DispatchLoop(); });
}

void Pool::HealthLoop() {
  std::mt19937 random(std::random_device{}());
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    CheckAll();
    lock.lock();
    // Jitter keeps many pools from checking their engines in lockstep.
    const auto jitter = std::chrono::milliseconds(
        options_.health_jitter.count() > 0 ? std::uniform_int_distribution<int64_t>(0, options_.health_jitter.count())(random) : 0);
    const auto wait = ever_healthy_ ? options_.health_interval + jitter : options_.startup_probe_interval;
    health_cv_.wait_for(lock, wait, [this] { return stopping_ || recheck_; });
    recheck_ = false;
  }
}

// Health checks block on the network, so they run without the lock, all engines at once (a
// pool of many engines with some hung must still check each within its interval).
void Pool::CheckAll() {
  struct Check {
    size_t index;
    std::shared_ptr<rpc::RemoteSpeechService> service;
    bool describe;
    absl::Status health;
    std::optional<speech::Capabilities> capabilities;
  };
  std::vector<Check> checks;
  {
    std::lock_guard lock(mu_);
    const auto now = clock_.Now();
    for (size_t i = 0; i < engines_.size(); ++i) {
      Engine& e = *engines_[i];
      if (e.removed && e.outstanding == 0) e.service.reset();  // gone for good: close its channel
      const bool describe = !e.described || e.capabilities.incomplete || now - e.described_at >= kDescribeInterval;
      if (e.service != nullptr) checks.push_back({i, e.service, describe, {}, {}});
    }
  }
  std::vector<std::future<void>> running;
  for (Check& c : checks) {
    running.push_back(std::async(std::launch::async, [&c, timeout = options_.health_timeout] {
      c.health = c.service->CheckHealth(timeout);
      if (c.health.ok() && c.describe) {
        auto described = c.service->Describe();
        if (described.ok()) c.capabilities = std::move(*described);
      }
    }));
  }
  for (auto& r : running) r.wait();

  std::lock_guard lock(mu_);
  const auto now = clock_.Now();
  for (Check& c : checks) {
    Engine& e = *engines_[c.index];
    if (c.capabilities) {
      if (e.described && c.capabilities->capacity != e.capabilities.capacity) {
        core::LogInfo("engine capacity changed", {{"pool", options_.name}, {"engine", e.address},
                                                  {"from", e.capabilities.capacity}, {"to", c.capabilities->capacity}});
      }
      e.capabilities = std::move(*c.capabilities);
      e.described = true;
      e.described_at = now;
    }
    const bool was_in_rotation = e.health.InRotation(now);
    e.refused = false;
    e.last_check = c.health.ok() ? "ok" : std::string(c.health.message());
    e.draining = absl::IsFailedPrecondition(c.health);
    e.health.OnCheck(c.health.ok() && e.described);
    const bool in_rotation = e.health.InRotation(now);
    if (in_rotation != was_in_rotation) {
      nlohmann::json fields = {{"pool", options_.name}, {"engine", e.address},
                               {"state", std::string(EngineStateName(e.health.state(now)))}, {"reason", e.last_check}};
      // Events for the alert relay; an engine that says it is draining left on purpose.
      if (in_rotation || !e.draining) {
        fields["event"] = in_rotation ? "engine_healthy" : "engine_unhealthy";
        e.alerted = !in_rotation;
      }
      core::Log(in_rotation ? core::Severity::kInfo : core::Severity::kWarning,
                in_rotation ? "engine in rotation" : "engine out of rotation", std::move(fields));
      if (in_rotation) OnJoinedLocked(e, now);
      // An engine that stops answering (dead or hung) takes its streams with it; one that says
      // it is draining (NOT_SERVING) lets them finish. A standby takes its place either way.
      if (!in_rotation && !e.draining) EngineLostLocked(c.index);
      if (!in_rotation && !e.standby && !e.removed) PromoteStandbyLocked("an engine in rotation left");
    } else if (in_rotation && e.alerted) {
      // Its ejection ran out between two checks: no check saw it leave or come back.
      core::LogInfo("engine back in rotation after its ejection", {{"pool", options_.name}, {"engine", e.address}, {"event", "engine_healthy"}});
      e.alerted = false;
    }
    if (absl::IsUnavailable(c.health)) e.described = false;  // a restarted engine may differ
  }
  BalanceStandbyLocked(now);
  NoteServingLocked();
  ExportEngineStatesLocked(now);
  assign_needed_ = true;  // engines may have joined, ejections expired
  dispatch_cv_.notify_all();
}

// The pool-wide events: it lost its last engine in rotation, or has one (again, or for the first
// time since this process started: that resolves the alert of a process before it). Engines that
// are still loading are no alert.
void Pool::NoteServingLocked() {
  const bool serving = AnyInRotationLocked();
  if (serving_ != serving) {
    if (serving) {
      core::LogInfo(ever_healthy_ ? "pool has a healthy engine again" : "pool has a healthy engine",
                    {{"pool", options_.name}, {"event", "pool_healthy"}});
    } else if (ever_healthy_ && !draining_ && !stopping_) {
      core::LogError("pool has no healthy engine", {{"pool", options_.name}, {"event", "pool_no_healthy_engine"}});
    }
  }
  serving_ = serving;
  ever_healthy_ = ever_healthy_ || serving;
}

// voxgate_pool_engine_state{pool,engine,state}: 1 for each engine's state, 0 for the others
// (Prometheus' enum pattern), refreshed after every round of health checks.
void Pool::ExportEngineStatesLocked(core::TimePoint now) {
  constexpr EngineState kStates[] = {EngineState::kStarting, EngineState::kHealthy, EngineState::kUnhealthy, EngineState::kEjected,
                                     EngineState::kStandby,  EngineState::kDraining, EngineState::kRemoved};
  for (const auto& e : engines_) {
    if (e->state_gauges.empty()) {  // looked up once: the registry's lookup is a scan
      for (EngineState s : kStates) {
        e->state_gauges.push_back(&core::Metrics().GetGauge(
            "voxgate_pool_engine_state", "Each engine's state: 1 for the state it is in.",
            {{"pool", options_.name}, {"engine", e->address}, {"state", std::string(EngineStateName(s))}}));
      }
    }
    const EngineState state = StateLocked(*e, now);
    for (size_t i = 0; i < std::size(kStates); ++i) e->state_gauges[i]->Set(kStates[i] == state ? 1 : 0);
  }
}

bool Pool::InRotationLocked(const Engine& e, core::TimePoint now) const {
  return !e.removed && !e.standby && e.health.InRotation(now);
}

double Pool::RampLocked(const Engine& e, core::TimePoint now) const {
  if (options_.slow_start_window.count() <= 0 || e.ramp_start == core::TimePoint{}) return 1;
  const double elapsed = std::chrono::duration<double>(now - e.ramp_start) / options_.slow_start_window;
  return std::clamp(elapsed, options_.slow_start_min_share, 1.0);
}

EngineState Pool::StateLocked(const Engine& e, core::TimePoint now) const {
  if (e.removed) return EngineState::kRemoved;
  const EngineState health = e.health.state(now);
  if (health == EngineState::kHealthy && e.standby) return EngineState::kStandby;
  if (health != EngineState::kHealthy && e.draining) return EngineState::kDraining;
  return health;
}

void Pool::OnJoinedLocked(Engine& e, core::TimePoint now) {
  e.idle_since = now;
  int serving = 0;
  size_t standby = 0;
  for (const auto& other : engines_) {
    if (other.get() == &e) continue;
    serving += InRotationLocked(*other, now);
    standby += StateLocked(*other, now) == EngineState::kStandby;
  }
  e.standby = serving > 0 && standby < options_.min_ready;
  // Ramp up only next to engines that can take the rest (not at the pool's own start).
  e.ramp_start = ever_healthy_ && serving > 0 && !e.standby ? now : core::TimePoint{};
  if (e.standby) core::LogInfo("engine held as warm standby", {{"pool", options_.name}, {"engine", e.address}});
}

bool Pool::PromoteStandbyLocked(const char* reason) {
  const auto now = clock_.Now();
  for (const auto& e : engines_) {
    if (StateLocked(*e, now) != EngineState::kStandby) continue;
    e->standby = false;
    e->ramp_start = {};  // loaded and warm: full share at once
    e->idle_since = now;
    core::Metrics().GetCounter("voxgate_pool_standby_promotions_total", "Warm standby engines put into rotation.",
                               {{"pool", options_.name}}).Increment();
    core::LogInfo("standby engine promoted", {{"pool", options_.name}, {"engine", e->address}, {"reason", reason}});
    return true;
  }
  return false;
}

void Pool::BalanceStandbyLocked(core::TimePoint now) {
  int serving = 0;
  size_t standby = 0;
  for (const auto& e : engines_) {
    serving += InRotationLocked(*e, now);
    standby += StateLocked(*e, now) == EngineState::kStandby;
  }
  if (serving == 0 && PromoteStandbyLocked("no engine in rotation")) return;
  // After a spike: an engine idle for the cool-down goes back to standby.
  for (const auto& e : engines_) {
    if (standby >= options_.min_ready || serving <= 1) return;
    if (!InRotationLocked(*e, now) || e->outstanding > 0 || now - e->idle_since < options_.standby_cooldown) continue;
    e->standby = true;
    standby++;
    serving--;
    core::LogInfo("idle engine back to warm standby", {{"pool", options_.name}, {"engine", e->address}});
  }
}

void Pool::DispatchLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto tasks = std::move(tasks_);
    tasks_.clear();
    if (!tasks.empty()) {
      lock.unlock();
      for (auto& task : tasks) task();
      lock.lock();
      continue;
    }
    // Give freed slots to waiting streams, oldest first. (A slot freed while this runs sets the
    // flag again, so it is looked at in the next round.)
    if (assign_needed_) {
      assign_needed_ = false;
      while (queue_.Front() != nullptr) {
        Waiter front = *queue_.Front();
        lock.unlock();
        absl::Status s = TryAssign(front.stream, front.avoid);
        lock.lock();
        if (absl::IsResourceExhausted(s)) break;
        queue_.Remove(front.stream.get());
        if (!s.ok() && !absl::IsCancelled(s)) PostLocked([stream = front.stream, s] { stream->Fail(s); });
      }
    }
    for (Waiter& w : queue_.PopExpired(clock_.Now())) {
      if (w.avoid.has_value()) {  // a stream whose engine failed
        PostLocked([stream = std::move(w.stream), seconds = std::chrono::duration<double>(options_.failover_timeout).count()] {
          stream->Fail(absl::UnavailableError(absl::StrCat("the stream's engine failed or was full, and no other engine could take it over within ", seconds, " s")));
        });
        continue;
      }
      QueueRejections(options_.name, "timeout").Increment();
      const int capacity = [&] {
        int c = 0;
        for (const auto& e : engines_) c += InRotationLocked(*e, clock_.Now()) ? e->capabilities.capacity : 0;
        return c;
      }();
      PostLocked([stream = std::move(w.stream), message = OverCapacityMessage(capacity)] {
        stream->Fail(absl::ResourceExhaustedError(message));
      });
    }
    if (!tasks_.empty()) continue;
    const auto now = clock_.Now();
    bool streams_open = false;
    for (const auto& e : engines_) streams_open = streams_open || e->outstanding > 0;
    if (streams_open && now >= next_progress_check_) {
      next_progress_check_ = now + kProgressCheckInterval;
      lock.unlock();
      CheckProgress();
      lock.lock();
      progress_checked_at_ = now;
      continue;
    }
    // Simulated clocks only move when told; the wait itself is on real time, capped so a
    // deadline is never missed by more than a moment. An idle pool sleeps until woken.
    auto wait = std::chrono::milliseconds::max();
    if (auto next = queue_.NextDeadline()) {
      wait = std::min(std::chrono::milliseconds(200),
                      std::chrono::duration_cast<std::chrono::milliseconds>(*next - now) + std::chrono::milliseconds(1));
    }
    if (streams_open) wait = std::min(wait, std::chrono::milliseconds(200));
    const auto wake = [this] { return stopping_ || !tasks_.empty() || assign_needed_; };
    if (wait == std::chrono::milliseconds::max()) {
      dispatch_cv_.wait(lock, wake);
    } else {
      dispatch_cv_.wait_for(lock, std::max(wait, std::chrono::milliseconds(1)), wake);
    }
  }
  // What was posted still runs, and streams still waiting end now.
  auto tasks = std::move(tasks_);
  tasks_.clear();
  auto waiting = queue_.PopExpired(core::TimePoint::max());
  lock.unlock();
  for (auto& task : tasks) task();
  for (Waiter& w : waiting) w.stream->Fail(absl::UnavailableError("the pool is shutting down"));
}

std::string Pool::OverCapacityMessage(int capacity) const {
  const auto retry = std::max<int64_t>(1, std::llround(std::chrono::duration<double>(options_.queue_timeout).count()));
  return absl::StrCat("over capacity: all ", capacity, " streams of pool \"", options_.name, "\" are busy; retry after ",
                      retry, " s");
}

void Pool::PostLocked(std::function<void()> task) {
  tasks_.push_back(std::move(task));
  dispatch_cv_.notify_all();
}

std::vector<std::shared_ptr<PooledStream>> Pool::StreamsOnLocked(size_t engine) const {
  std::vector<std::shared_ptr<PooledStream>> streams;
  for (const auto& [ptr, weak] : engines_[engine]->streams) {
    if (auto s = weak.lock()) streams.push_back(std::move(s));
  }
  return streams;
}

void Pool::EngineLostLocked(size_t engine) {
  auto streams = StreamsOnLocked(engine);
  if (streams.empty()) return;
  PostLocked([streams = std::move(streams), engine] {
    for (const auto& s : streams) s->EngineLost(engine);
  });
}

bool Pool::AnyInRotationLocked() const {
  const auto now = clock_.Now();
  for (const auto& e : engines_) {
    if (InRotationLocked(*e, now)) return true;
  }
  return false;
}

int Pool::EjectedCountLocked() const {
  const auto now = clock_.Now();
  int n = 0;
  for (const auto& e : engines_) n += !e->removed && e->health.state(now) == EngineState::kEjected;
  return n;
}

std::optional<size_t> Pool::PickLocked(std::optional<size_t> avoid, const std::vector<bool>& tried) const {
  const auto now = clock_.Now();
  std::optional<size_t> best, fallback;
  double best_load = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < engines_.size(); ++i) {
    const Engine& e = *engines_[i];
    if (tried[i] || !InRotationLocked(e, now) || e.refused || e.outstanding >= e.capabilities.capacity) continue;
    if (avoid == i) {
      fallback = i;
      continue;
    }
    // Slow start weighs an engine that just joined as if it were smaller (never as full).
    const double load = static_cast<double>(e.outstanding) / (e.capabilities.capacity * RampLocked(e, now));
    if (load < best_load) {
      best_load = load;
      best = i;
    }
  }
  return best ? best : fallback;
}

absl::Status Pool::TryAssign(const std::shared_ptr<PooledStream>& stream, std::optional<size_t> avoid) {
  std::vector<bool> tried;
  while (true) {
    size_t engine;
    std::shared_ptr<rpc::RemoteSpeechService> service;
    std::string address;
    {
      std::lock_guard lock(mu_);
      tried.resize(engines_.size(), false);
      auto pick = PickLocked(avoid, tried);
      if (!pick && PromoteStandbyLocked("every engine in rotation is busy")) pick = PickLocked(avoid, tried);
      if (!pick) return absl::ResourceExhaustedError("no free engine slot");
      engine = *pick;
      tried[engine] = true;
      engines_[engine]->outstanding++;
      service = engines_[engine]->service;
      address = engines_[engine]->address;
    }
    absl::Status s = stream->Attach(engine, *service);
    if (s.ok()) {
      if (auto waited = stream->ReportPlacement(options_.name, address)) QueueWait(options_.name).Observe(*waited);
    }
    std::lock_guard lock(mu_);
    if (s.ok()) {
      engines_[engine]->streams.emplace_back(stream.get(), stream);
      return s;
    }
    Engine& e = *engines_[engine];
    if (--e.outstanding == 0) e.idle_since = clock_.Now();
    if (absl::IsCancelled(s)) return s;
    // The engine could not start the call: try the next (a full engine's count was stale, or it
    // just failed); a request the engine calls wrong is wrong everywhere.
    e.refused = absl::IsResourceExhausted(s);
    if (!IsEngineFailure(s) && !e.refused) return s;
    if (IsEngineFailure(s)) OnEngineFailureLocked(engine, s);
  }
}

absl::StatusOr<speech::RecognitionStreamPtr> Pool::StartRecognition(const speech::RecognitionConfig& config,
                                                                    speech::RecognitionObserverPtr observer) {
  int capacity = 0;
  {
    std::lock_guard lock(mu_);
    // ABORTED, not UNAVAILABLE: this tier is alive and finishing its streams; a pool in front of
    // it sends the stream elsewhere without taking this one out of rotation.
    if (draining_ || stopping_) return absl::AbortedError("the server is shutting down; retry on another instance");
    if (!AnyInRotationLocked()) return absl::UnavailableError("no healthy engine in pool \"" + options_.name + "\" yet; retry after 1 s");
    for (const auto& e : engines_) capacity += InRotationLocked(*e, clock_.Now()) ? e->capabilities.capacity : 0;
  }
  PooledStream::Options stream_options = options_.stream;
  stream_options.clock = &clock_;
  auto stream = std::make_shared<PooledStream>(stream_options, config, std::move(observer), shared_from_this());
  // Streams already waiting go first: a slot that just came free is theirs, and the dispatcher
  // hands it to the oldest. (A new stream that sees an empty queue races nobody it should wait for.)
  if (queued_streams() == 0) {
    const absl::Status s = TryAssign(stream, std::nullopt);
    if (s.ok()) return PooledStream::MakeHandle(std::move(stream));
    if (!absl::IsResourceExhausted(s)) return s;
  }
  // Every slot is taken, or streams wait for one: this one waits too, in turn.
  std::lock_guard lock(mu_);
  if (!queue_.Push({stream, clock_.Now() + options_.queue_timeout, std::nullopt})) {
    QueueRejections(options_.name, "full").Increment();
    return absl::ResourceExhaustedError(OverCapacityMessage(capacity));
  }
  assign_needed_ = true;  // a slot may have come free meanwhile
  dispatch_cv_.notify_all();
  return PooledStream::MakeHandle(std::move(stream));
}

void Pool::RequestEngine(std::shared_ptr<PooledStream> stream, std::optional<size_t> avoid) {
  absl::Status s = TryAssign(stream, avoid);
  if (s.ok() || absl::IsCancelled(s)) return;
  if (!absl::IsResourceExhausted(s)) return stream->Fail(s);
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    return stream->Fail(absl::UnavailableError("the pool is shutting down"));
  }
  if (!stream->wants_engine()) {
    PostLocked([stream] { stream->Fail(absl::CancelledError("the stream was cancelled")); });
    return;
  }
  queue_.Push({stream, clock_.Now() + options_.failover_timeout, avoid}, /*always=*/true);
  assign_needed_ = true;
  dispatch_cv_.notify_all();
}

bool Pool::Withdraw(const PooledStream* stream) {
  std::lock_guard lock(mu_);
  auto removed = queue_.Remove(stream);
  if (removed == nullptr) return false;
  PostLocked([removed] { removed->Fail(absl::CancelledError("the stream was cancelled")); });
  return true;
}

void Pool::EngineStreamDone(size_t engine, const PooledStream* stream, const absl::Status& status) {
  std::lock_guard lock(mu_);
  Engine& e = *engines_[engine];
  if (--e.outstanding == 0) e.idle_since = clock_.Now();
  auto it = std::find_if(e.streams.begin(), e.streams.end(), [&](const auto& p) { return p.first == stream; });
  if (it != e.streams.end()) e.streams.erase(it);
  assign_needed_ = true;
  dispatch_cv_.notify_all();
  // A refusal says the engine is full, not that it failed (the stream waits for another slot).
  e.refused = absl::IsResourceExhausted(status);
  if (IsEngineFailure(status)) {
    OnEngineFailureLocked(engine, status);
  } else if (!absl::IsCancelled(status) && !e.refused) {
    // A cancelled call says nothing of the engine: it is also how a stream leaves an engine
    // that hung, which must not wipe out that failure.
    e.health.OnStreamSuccess();
  }
}

// Passive health. An engine a call cannot reach leaves rotation at once and is checked now (it
// returns after `healthy_threshold` passing checks); one whose streams keep failing otherwise is
// ejected for a while, unless too much of the pool is ejected already.
void Pool::OnEngineFailureLocked(size_t engine, const absl::Status& status) {
  Engine& e = *engines_[engine];
  const auto now = clock_.Now();
  recheck_ = true;
  health_cv_.notify_all();
  // An engine that answered UNAVAILABLE itself (a tier with "no healthy engine", an engine
  // shutting down) is alive: whether it can serve at all is for its health check, checked now,
  // to say; its other streams go on. The stream or call tries another engine.
  if (absl::IsUnavailable(status) && !rpc::IsUnreachable(status)) return;
  const bool was_in_rotation = InRotationLocked(e, now);
  if (absl::IsUnavailable(status)) {
    if (e.health.OnUnreachable()) {
      core::LogWarning("engine unreachable; out of rotation until it passes health checks",
                       {{"pool", options_.name}, {"engine", e.address}, {"reason", std::string(status.message())},
                        {"event", "engine_unhealthy"}});
      e.alerted = true;
      EngineLostLocked(engine);
      // A standby takes the failed engine's place (the failed one becomes the standby when it
      // is back).
      if (was_in_rotation) PromoteStandbyLocked("an engine in rotation failed");
    }
    NoteServingLocked();
    return;
  }
  const int max_ejected = std::max(1, static_cast<int>(options_.max_ejected_share * engines_.size()));
  if (e.health.OnStreamFailure() && e.health.state(now) == EngineState::kHealthy && EjectedCountLocked() < max_ejected) {
    e.health.Eject(now);
    core::Metrics().GetCounter("voxgate_pool_ejections_total", "Engines ejected by outlier detection.", {{"pool", options_.name}}).Increment();
    core::LogWarning("engine ejected: its streams keep failing",
                     {{"pool", options_.name}, {"engine", e.address}, {"ejections", e.health.ejections()},
                      {"reason", std::string(status.message())}, {"event", "engine_unhealthy"}});
    e.alerted = true;
    EngineLostLocked(engine);
    if (was_in_rotation) PromoteStandbyLocked("an engine in rotation was ejected");
  }
  NoteServingLocked();
}

void Pool::ReportEngineFailure(size_t engine, const absl::Status& status) {
  // Short of CPU, an engine can leave one stream without a result for the whole timeout while it
  // answers the others: that stream moves, but the engine is not failing. (Streams are asked
  // outside the pool's lock: they call into the pool under their own.)
  std::vector<std::shared_ptr<PooledStream>> streams;
  {
    std::lock_guard lock(mu_);
    streams = StreamsOnLocked(engine);
  }
  const auto since = clock_.Now() - std::chrono::duration_cast<core::Duration>(
                                        std::chrono::duration<double>(options_.stream.result_timeout_seconds));
  const bool answers_others = std::any_of(streams.begin(), streams.end(), [&](const auto& s) { return s->AnsweredOn(engine, since); });
  std::lock_guard lock(mu_);
  if (answers_others) {
    core::LogWarning("a stream got no result in time while its engine answered others (short of CPU?); "
                     "it moves, the engine stays in rotation",
                     {{"pool", options_.name}, {"engine", engines_[engine]->address}, {"reason", std::string(status.message())}});
    return;
  }
  core::LogWarning("engine stopped making progress on a stream",
                   {{"pool", options_.name}, {"engine", engines_[engine]->address}, {"reason", std::string(status.message())}});
  OnEngineFailureLocked(engine, status);
}

void Pool::CountFailover(double replayed_seconds) {
  core::Metrics().GetCounter("voxgate_pool_failovers_total", "Streams moved to another engine after their engine failed.",
                             {{"pool", options_.name}}).Increment();
  core::Metrics().GetCounter("voxgate_pool_replayed_audio_seconds_total", "Audio replayed to a new engine after a failover.",
                             {{"pool", options_.name}}).Increment(replayed_seconds);
}

// A unary call (a translation, or a synthesis until its first audio) and its attempts so far.
struct Pool::UnaryCall {
  std::function<bool(const speech::ModelInfo&)> serves;
  // The answer when no engine in rotation serves the call: `known` tells whether an engine the
  // pool knows (but that is down) would; `models` are what the known engines offer.
  std::function<absl::Status(bool known, const std::vector<speech::ModelInfo>& models)> not_served;
  std::chrono::system_clock::time_point deadline;
  std::vector<bool> tried;
  bool retrying = false;  // holds a place in the retry budget
  absl::Status last_error;
};

bool Pool::BeginUnaryCall() {
  std::lock_guard lock(mu_);
  if (draining_ || stopping_) return false;
  unary_calls_++;
  return true;
}

absl::StatusOr<std::pair<size_t, std::shared_ptr<rpc::RemoteSpeechService>>> Pool::AcquireForCall(UnaryCall& call) {
  std::lock_guard lock(mu_);
  const auto now = clock_.Now();
  auto serves = [&](const Engine& e) { return std::any_of(e.capabilities.models.begin(), e.capabilities.models.end(), call.serves); };
  call.tried.resize(engines_.size(), false);
  std::optional<size_t> best;
  double best_load = std::numeric_limits<double>::infinity();
  int capacity = 0;  // of the engines that serve the call
  for (size_t i = 0; i < engines_.size(); ++i) {
    const Engine& e = *engines_[i];
    if (!InRotationLocked(e, now) || !serves(e)) continue;
    capacity += e.capabilities.capacity;
    if (call.tried[i] || e.outstanding >= e.capabilities.capacity) continue;
    const double load = static_cast<double>(e.outstanding) / (e.capabilities.capacity * RampLocked(e, now));
    if (load < best_load) {
      best_load = load;
      best = i;
    }
  }
  if (best) {
    call.tried[*best] = true;
    engines_[*best]->outstanding++;
    return std::make_pair(*best, engines_[*best]->service);
  }
  unary_calls_--;
  if (call.retrying) retry_budget_.Release();
  if (!call.last_error.ok()) return call.last_error;  // every engine that could was tried
  if (capacity > 0) return absl::ResourceExhaustedError(OverCapacityMessage(capacity));
  std::vector<speech::ModelInfo> models;
  // An engine that is down (restarting, say) still counts with what it last described: the call
  // is one to retry (503), not one no engine serves (404, which clients never retry). So is any
  // call before an engine of the pool has described itself (replicas serve alike, so one will do).
  bool known = false, any_described = false;
  for (const auto& e : engines_) {
    if (e->removed) continue;
    known = known || serves(*e);
    any_described = any_described || e->SaidWhatItServes();
    models.insert(models.end(), e->capabilities.models.begin(), e->capabilities.models.end());
  }
  return call.not_served(known || !any_described, models);
}

bool Pool::ReleaseAfterCall(UnaryCall& call, size_t engine, const absl::Status& status, bool may_retry) {
  bool retry = false;
  {
    std::lock_guard lock(mu_);
    Engine& e = *engines_[engine];
    if (--e.outstanding == 0) e.idle_since = clock_.Now();
    assign_needed_ = true;  // a slot came free for queued streams too
    dispatch_cv_.notify_all();
    const bool full = absl::IsResourceExhausted(status);  // every slot of the engine was busy
    if (IsEngineFailure(status) || full) {
      if (!full) OnEngineFailureLocked(engine, status);
      // Another engine may answer, if time is left and the budget allows; a request the engine
      // found wrong (bad language, empty text) is wrong everywhere and is never retried.
      call.last_error = status;
      retry = may_retry && std::chrono::system_clock::now() < call.deadline &&
              (call.retrying || retry_budget_.TryAcquire(unary_calls_));
      call.retrying = call.retrying || retry;
    } else if (!absl::IsCancelled(status)) {
      e.health.OnStreamSuccess();
    }
    if (!retry) {
      unary_calls_--;
      if (call.retrying) retry_budget_.Release();
    }
  }
  if (retry) {
    core::Metrics().GetCounter("voxgate_pool_retries_total", "Unary calls retried on another engine after an engine failed or was full.",
                               {{"pool", options_.name}}).Increment();
  }
  return retry;
}

void Pool::Translate(speech::TranslationRequest request, speech::TranslationCallback done) {
  if (!BeginUnaryCall()) return done(absl::AbortedError("the server is shutting down; retry on another instance"));
  auto call = std::make_shared<UnaryCall>();
  call->deadline = request.deadline;
  // "en" serves "en-US" and the other way round: translation pairs are matched on the language.
  call->serves = [request](const speech::ModelInfo& m) {
    return (request.model.empty() || m.name == request.model) && speech::TranslatesPair(m, request.source_language, request.target_language);
  };
  std::string wanted = request.source_language + "->" + request.target_language;
  if (!request.model.empty()) wanted += " with model \"" + request.model + "\"";
  call->not_served = [this, wanted](bool known, const auto& models) {
    const std::vector<std::string> pairs = speech::TranslationPairs(models);
    return known ? absl::UnavailableError(absl::StrCat("no healthy engine in pool \"", options_.name, "\" translates ", wanted, "; retry after 1 s"))
                 : absl::NotFoundError(absl::StrCat("no engine translates ", wanted, "; pairs served: ", pairs.empty() ? "none" : absl::StrJoin(pairs, ", ")));
  };
  TranslateAttempt(std::move(call), std::make_shared<speech::TranslationRequest>(std::move(request)), std::move(done));
}

void Pool::TranslateAttempt(std::shared_ptr<UnaryCall> call, std::shared_ptr<const speech::TranslationRequest> request,
                            speech::TranslationCallback done) {
  auto engine = AcquireForCall(*call);
  if (!engine.ok()) return done(engine.status());
  auto [index, service] = *engine;
  if (request->report) request->report->SetPlacement(options_.name, service->address());
  service->Translate(*request, [this, self = shared_from_this(), call, request, done = std::move(done), index = index](
                                   absl::StatusOr<speech::TranslationResponse> result) mutable {
    if (ReleaseAfterCall(*call, index, result.status(), true)) return TranslateAttempt(call, request, std::move(done));
    done(std::move(result));
  });
}

// Forwards one attempt's audio; an attempt that fails for an engine reason before any audio
// reached the caller is tried again on another engine (after that the caller has half a voice).
class Pool::SynthesisAttempt : public speech::SynthesisObserver {
 public:
  SynthesisAttempt(std::shared_ptr<Pool> pool, std::shared_ptr<UnaryCall> call, std::shared_ptr<const speech::SynthesisRequest> request,
                   speech::SynthesisObserverPtr caller, size_t engine)
      : pool_(std::move(pool)), call_(std::move(call)), request_(std::move(request)), caller_(std::move(caller)), engine_(engine) {}

  bool OnAudio(std::span<const int16_t> samples, int sample_rate_hertz) override {
    delivered_ = true;
    return caller_->OnAudio(samples, sample_rate_hertz);
  }
  void OnDone(absl::Status status) override {
    if (pool_->ReleaseAfterCall(*call_, engine_, status, !delivered_)) return pool_->StartSynthesisAttempt(call_, request_, caller_);
    caller_->OnDone(std::move(status));
  }

 private:
  std::shared_ptr<Pool> pool_;
  std::shared_ptr<UnaryCall> call_;
  std::shared_ptr<const speech::SynthesisRequest> request_;
  speech::SynthesisObserverPtr caller_;
  size_t engine_;
  bool delivered_ = false;
};

void Pool::Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) {
  if (!BeginUnaryCall()) return observer->OnDone(absl::AbortedError("the server is shutting down; retry on another instance"));
  auto call = std::make_shared<UnaryCall>();
  call->deadline = request.deadline;
  call->serves = [request](const speech::ModelInfo& m) { return speech::SpeaksRequest(m, request); };
  call->not_served = [this, request](bool known, const auto& models) {
    if (!known) return speech::NotSpoken(models, request);
    return absl::UnavailableError(absl::StrCat("no healthy engine in pool \"", options_.name, "\" speaks ", speech::SpeechWanted(request), "; retry after 1 s"));
  };
  StartSynthesisAttempt(std::move(call), std::make_shared<speech::SynthesisRequest>(std::move(request)), std::move(observer));
}

void Pool::StartSynthesisAttempt(std::shared_ptr<UnaryCall> call, std::shared_ptr<const speech::SynthesisRequest> request,
                                 speech::SynthesisObserverPtr observer) {
  auto engine = AcquireForCall(*call);
  if (!engine.ok()) return observer->OnDone(engine.status());
  auto [index, service] = *engine;
  if (request->report) request->report->SetPlacement(options_.name, service->address());
  service->Synthesize(*request, std::make_shared<SynthesisAttempt>(shared_from_this(), call, request, std::move(observer), index));
}

// What the pool offers, and what it can take now: the models of every engine it has (one that
// is down or restarting still offers what it last described, so a tier or client in front asks
// and hears "retry", not "no such model"); capacity and load of the engines in rotation only.
// Incomplete until one engine has said what it serves (replicas serve alike, so one will do).
absl::StatusOr<speech::Capabilities> Pool::Describe() {
  std::lock_guard lock(mu_);
  speech::Capabilities caps;
  caps.engine = "pool";
  caps.incomplete = true;
  const auto now = clock_.Now();
  for (const auto& engine : engines_) {
    const Engine& e = *engine;
    if (e.removed) continue;
    if (e.SaidWhatItServes()) caps.incomplete = false;
    if (InRotationLocked(e, now)) {
      caps.capacity += e.capabilities.capacity;
      caps.active_streams += e.outstanding;
    }
    for (const auto& m : e.capabilities.models) {
      bool seen = false;
      for (const auto& have : caps.models) seen = seen || have.name == m.name;
      if (!seen) caps.models.push_back(m);
    }
  }
  return caps;
}

bool Pool::IsServing() {
  std::lock_guard lock(mu_);
  return !draining_ && AnyInRotationLocked();
}

void Pool::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

int Pool::active_streams() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& e : engines_) n += e->outstanding;
  return n;
}

int Pool::healthy_engines() const {
  std::lock_guard lock(mu_);
  const auto now = clock_.Now();
  int n = 0;
  for (const auto& e : engines_) n += InRotationLocked(*e, now);
  return n;
}

core::TimePoint Pool::progress_checked_at() const {
  std::lock_guard lock(mu_);
  return progress_checked_at_;
}

int Pool::standby_engines() const {
  std::lock_guard lock(mu_);
  const auto now = clock_.Now();
  int n = 0;
  for (const auto& e : engines_) n += StateLocked(*e, now) == EngineState::kStandby;
  return n;
}

size_t Pool::queued_streams() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::vector<Pool::EngineStatus> Pool::EngineStatuses() const {
  std::lock_guard lock(mu_);
  const auto now = clock_.Now();
  std::vector<EngineStatus> out;
  for (const auto& e : engines_) {
    if (e->removed && e->outstanding == 0) continue;
    out.push_back({e->address, StateLocked(*e, now), e->outstanding, e->capabilities.capacity, e->last_check});
  }
  return out;
}

void Pool::AddEngine(const std::string& address) {
  std::lock_guard lock(mu_);
  for (auto& e : engines_) {
    if (e->address != address) continue;
    if (!e->removed) return;
    // Back again (a pod that was not ready): it earns its place with health checks as a new one.
    e->removed = false;
    e->health = EngineHealth(options_.health);
    e->described = false;
    e->last_check = "not checked yet";
    if (e->service == nullptr) e->service = std::make_shared<rpc::RemoteSpeechService>(address, rpc::RemoteSpeechService::Options{});
    recheck_ = true;
    health_cv_.notify_all();
    return;
  }
  auto e = std::make_unique<Engine>(options_.health);
  e->address = address;
  e->service = std::make_shared<rpc::RemoteSpeechService>(address, rpc::RemoteSpeechService::Options{});
  engines_.push_back(std::move(e));
  core::LogInfo("engine discovered", {{"pool", options_.name}, {"engine", address}});
  recheck_ = true;
  health_cv_.notify_all();
}

void Pool::RemoveEngine(const std::string& address) {
  std::lock_guard lock(mu_);
  for (auto& e : engines_) {
    if (e->address != address || e->removed) continue;
    e->removed = true;
    e->standby = false;
    nlohmann::json fields = {{"pool", options_.name}, {"engine", address}, {"open_streams", e->outstanding}};
    if (e->alerted) fields["event"] = "engine_removed";  // an engine that is gone is no longer unhealthy
    e->alerted = false;
    core::LogInfo("engine no longer discovered; finishing its streams", std::move(fields));
    BalanceStandbyLocked(clock_.Now());
    return;
  }
}

void Pool::CheckProgress() {
  std::vector<std::shared_ptr<PooledStream>> streams;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < engines_.size(); ++i) {
      auto on_engine = StreamsOnLocked(i);
      streams.insert(streams.end(), on_engine.begin(), on_engine.end());
    }
  }
  for (const auto& s : streams) s->CheckProgress();
}

}  // namespace voxgate::pool
