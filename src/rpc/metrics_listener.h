// An engine process's admin listener: GET /metrics (the process's Prometheus registry, GPU
// telemetry included), /healthz and /readyz, so an engine pod is scraped and probed like every
// other tier. Engines have no gateway; this is one thread serving one connection at a time, every
// read and write bounded by a timeout (scrapes and probes are small and rare).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace voxgate::rpc {

class MetricsListener {
 public:
  // Listens on host:port (port 0 picks one). `ready` answers /readyz.
  static absl::StatusOr<std::unique_ptr<MetricsListener>> Start(const std::string& address, std::function<bool()> ready);
  ~MetricsListener();

  // host:port, with the chosen port.
  const std::string& address() const;

  class Impl;

 private:
  explicit MetricsListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::rpc
