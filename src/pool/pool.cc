#include "pool/pool.h"

#include <limits>

#include "core/log.h"
#include "core/metrics.h"

namespace voxgate::pool {

// Frees the engine slot when the stream ends, whatever ended it.
class Pool::CountingObserver : public speech::RecognitionObserver {
 public:
  CountingObserver(std::shared_ptr<Pool> pool, size_t engine, speech::RecognitionObserverPtr inner)
      : pool_(std::move(pool)), engine_(engine), inner_(std::move(inner)) {}
  void OnResult(speech::RecognitionResult result) override { inner_->OnResult(std::move(result)); }
  void OnReadyForAudio() override { inner_->OnReadyForAudio(); }
  void OnDone(absl::Status status) override {
    pool_->Release(engine_);
    if (absl::IsUnavailable(status)) pool_->OnEngineUnavailable(engine_);
    inner_->OnDone(std::move(status));
    inner_.reset();
  }

 private:
  std::shared_ptr<Pool> pool_;
  size_t engine_;
  speech::RecognitionObserverPtr inner_;
};

Pool::Pool(Options options, std::vector<std::shared_ptr<rpc::RemoteSpeechService>> engines)
    : options_(std::move(options)) {
  for (auto& e : engines) {
    Engine engine;
    engine.service = std::move(e);
    engines_.push_back(std::move(engine));
  }
  auto& metrics = core::Metrics();
  metrics.AddCallbackGauge("voxgate_pool_active_streams", "Streams open on the pool's engines.",
                           [this] { return active_streams(); }, {{"pool", options_.name}});
  metrics.AddCallbackGauge("voxgate_pool_healthy_engines", "Engines of the pool that pass health checks.",
                           [this] { return healthy_engines(); }, {{"pool", options_.name}});
}

Pool::~Pool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  // The registry outlives the pool: keep scrapes from reading a dead object.
  core::Metrics().AddCallbackGauge("voxgate_pool_active_streams", "Streams open on the pool's engines.",
                                   [] { return 0.0; }, {{"pool", options_.name}});
  core::Metrics().AddCallbackGauge("voxgate_pool_healthy_engines", "Engines of the pool that pass health checks.",
                                   [] { return 0.0; }, {{"pool", options_.name}});
}

void Pool::Start() { health_thread_ = std::thread([this] { HealthLoop(); }); }

void Pool::HealthLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    CheckAll();
    lock.lock();
    const auto wait = ever_healthy_ ? options_.health_interval : options_.startup_probe_interval;
    cv_.wait_for(lock, wait, [this] { return stopping_ || recheck_; });
    recheck_ = false;
  }
}

// Health checks block on the network, so they run without the lock, one engine at a time.
void Pool::CheckAll() {
  for (size_t i = 0; i < engines_.size(); ++i) {
    auto& service = *engines_[i].service;
    const absl::Status health = service.CheckHealth(options_.health_timeout);
    std::optional<speech::Capabilities> caps;
    bool need_describe;
    {
      std::lock_guard lock(mu_);
      need_describe = health.ok() && !engines_[i].described;
    }
    if (need_describe) {
      auto described = service.Describe();
      if (described.ok()) caps = std::move(*described);
    }
    std::lock_guard lock(mu_);
    Engine& e = engines_[i];
    if (caps) {
      e.capabilities = std::move(*caps);
      e.described = true;
    }
    const bool healthy = health.ok() && e.described;
    if (healthy != e.healthy) {
      core::Log(healthy ? core::Severity::kInfo : core::Severity::kWarning,
                healthy ? "engine healthy" : "engine unhealthy",
                {{"pool", options_.name}, {"engine", service.address()}, {"reason", std::string(health.message())}});
    }
    e.healthy = healthy;
    ever_healthy_ = ever_healthy_ || healthy;
  }
}

absl::StatusOr<speech::RecognitionStreamPtr> Pool::StartRecognition(const speech::RecognitionConfig& config,
                                                                    speech::RecognitionObserverPtr observer) {
  size_t best = engines_.size();
  {
    std::lock_guard lock(mu_);
    if (draining_) return absl::UnavailableError("the server is shutting down; retry on another instance");
    double best_load = std::numeric_limits<double>::infinity();
    int healthy = 0, capacity = 0;
    for (size_t i = 0; i < engines_.size(); ++i) {
      const Engine& e = engines_[i];
      if (!e.healthy) continue;
      healthy++;
      capacity += e.capabilities.capacity;
      if (e.outstanding >= e.capabilities.capacity) continue;
      const double load = static_cast<double>(e.outstanding) / e.capabilities.capacity;
      if (load < best_load) {
        best_load = load;
        best = i;
      }
    }
    if (healthy == 0) return absl::UnavailableError("no healthy engine in pool \"" + options_.name + "\" yet; retry after 1 s");
    if (best == engines_.size()) {
      return absl::ResourceExhaustedError("over capacity: all " + std::to_string(capacity) + " streams of pool \"" +
                                          options_.name + "\" are busy; retry after 1 s");
    }
    engines_[best].outstanding++;
  }
  auto counting = std::make_shared<CountingObserver>(shared_from_this(), best, std::move(observer));
  auto stream = engines_[best].service->StartRecognition(config, counting);
  if (!stream.ok()) Release(best);
  return stream;
}

// Passive health: a stream that found its engine unreachable takes the engine out of rotation at
// once (instead of at the next check) and has it checked again now.
void Pool::OnEngineUnavailable(size_t engine_index) {
  {
    std::lock_guard lock(mu_);
    if (engines_[engine_index].healthy) {
      core::LogWarning("engine unavailable during a stream; checking it now",
                       {{"pool", options_.name}, {"engine", engines_[engine_index].service->address()}});
    }
    engines_[engine_index].healthy = false;
    engines_[engine_index].described = false;  // a restarted engine may differ
    recheck_ = true;
  }
  cv_.notify_all();
}

void Pool::Release(size_t engine_index) {
  std::lock_guard lock(mu_);
  engines_[engine_index].outstanding--;
}

absl::StatusOr<speech::Capabilities> Pool::Describe() {
  std::lock_guard lock(mu_);
  speech::Capabilities caps;
  caps.engine = "pool";
  for (const Engine& e : engines_) {
    if (!e.healthy) continue;
    caps.capacity += e.capabilities.capacity;
    caps.active_streams += e.outstanding;
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
  if (draining_) return false;
  for (const Engine& e : engines_) {
    if (e.healthy) return true;
  }
  return false;
}

void Pool::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

int Pool::active_streams() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const Engine& e : engines_) n += e.outstanding;
  return n;
}

int Pool::healthy_engines() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const Engine& e : engines_) n += e.healthy;
  return n;
}

}  // namespace voxgate::pool
