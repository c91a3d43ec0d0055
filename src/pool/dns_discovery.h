// Engine discovery by DNS: every A/AAAA record of a name (a Kubernetes headless Service lists one
// per ready engine pod) is an engine. The name is resolved again every `refresh`; engines that
// appear join the pool (once healthy), engines that disappear finish their streams and go.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::pool {

class Pool;

// host:port → "ip:port" addresses ("[ip6]:port"). An empty list: the name has no records now.
using Resolver = std::function<absl::StatusOr<std::vector<std::string>>(const std::string& host, int port)>;
absl::StatusOr<std::vector<std::string>> ResolveWithSystem(const std::string& host, int port);

class DnsDiscovery {
 public:
  // `target`: host:port. The pool must outlive the discovery.
  DnsDiscovery(std::string target, std::chrono::milliseconds refresh, Pool& pool, Resolver resolver = ResolveWithSystem);
  ~DnsDiscovery();

  // Resolves now and brings the pool in step. When resolution fails (the DNS server is down) the
  // pool keeps the engines it knows: a lookup error is not news that they are gone.
  absl::Status Refresh();
  // Refreshes on a thread of its own until Stop.
  void Start();
  void Stop();

 private:
  const std::string host_;
  const int port_;
  const std::chrono::milliseconds refresh_;
  Pool& pool_;
  const Resolver resolver_;
  std::set<std::string> known_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace voxgate::pool
