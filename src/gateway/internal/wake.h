// Waking a connection's coroutine from a speech service's threads, safely after the gateway is
// gone. A service keeps the observers it was given (StreamEvents, SynthesisEvents) as long as it
// likes: an engine that is behind may call one after the gateway has stopped and its io_context
// (which owns the channels' state) is destroyed. So the coroutine that waits detaches its wake-ups
// as it ends, however it ends, the gateway closes them all as it stops, and later wake-ups do
// nothing.
#pragma once

#include <cassert>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "gateway/internal/asio.h"

namespace voxgate::gateway::internal {

// Closes every Wake of an io_context at once. Gateway::Stop() closes it once the I/O threads have
// ended: the coroutines (and so their Detach) are destroyed only with the io_context, whose
// destruction tears the channels' state down without the channels' locks, so no Notify may reach
// a channel from then on. (Its shutdown closes it too, for an io_context nobody stopped.)
class WakeGate : public asio::execution_context::service {
 public:
  using key_type = WakeGate;
  static inline asio::execution_context::id id;

  struct State {
    std::shared_mutex mu;
    bool open = true;
  };

  explicit WakeGate(asio::execution_context& context) : service(context) {}
  void Close() {
    std::unique_lock lock(state_->mu);
    state_->open = false;
  }
  std::shared_ptr<State> state() const { return state_; }

 private:
  void shutdown() override { Close(); }
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

class Wake {
 public:
  explicit Wake(asio::any_io_executor executor)
      : gate_(asio::use_service<WakeGate>(asio::query(executor, asio::execution::context)).state()),
        channel_(std::in_place, std::move(executor), 1) {}

  // Any thread. Never runs the waiter inline (a channel posts its completion).
  void Notify() {
    std::shared_lock open(gate_->mu);
    if (!gate_->open) return;
    std::lock_guard lock(mu_);
    if (channel_) channel_->try_send(boost::system::error_code{});
  }
  // The owning coroutine only, before Detach.
  auto Wait() {
    assert(channel_.has_value());
    return channel_->async_receive(kAwait);
  }
  void Detach() {
    std::lock_guard lock(mu_);
    channel_.reset();
  }

 private:
  std::shared_ptr<WakeGate::State> gate_;  // the gate outlives its service: a Wake may outlive the io_context
  std::mutex mu_;
  std::optional<WakeChannel> channel_;
};

// The coroutine's hold on an observer it gives a service: Detach()es it when the coroutine ends
// (or when another takes its place), its frame destroyed with the io_context included. Move-only.
template <typename Events>
class EventsOwner {
 public:
  EventsOwner() = default;
  explicit EventsOwner(asio::any_io_executor executor) : events_(std::make_shared<Events>(std::move(executor))) {}
  EventsOwner(EventsOwner&& other) noexcept : events_(std::move(other.events_)) {}
  EventsOwner& operator=(EventsOwner&& other) noexcept {
    if (this != &other) {
      Release();
      events_ = std::move(other.events_);
    }
    return *this;
  }
  ~EventsOwner() { Release(); }

  Events* operator->() const { return events_.get(); }
  // What the service is given.
  const std::shared_ptr<Events>& observer() const { return events_; }

 private:
  void Release() {
    if (events_) events_->Detach();
    events_.reset();
  }
  std::shared_ptr<Events> events_;
};

}  // namespace voxgate::gateway::internal
