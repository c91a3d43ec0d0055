#include "pool/dns_discovery.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "pool/pool.h"

namespace voxgate::pool {
namespace {

std::pair<std::string, int> SplitHostPort(const std::string& target) {
  const auto colon = target.rfind(':');
  return {target.substr(0, colon), std::stoi(target.substr(colon + 1))};
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ResolveWithSystem(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc == EAI_NONAME || rc == EAI_NODATA) return std::vector<std::string>{};  // no records: no engines
  if (rc != 0) return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  std::vector<std::string> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, ip, sizeof ip);
      out.push_back(absl::StrCat(ip, ":", port));
    } else if (a->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, ip, sizeof ip);
      out.push_back(absl::StrCat("[", ip, "]:", port));
    }
  }
  freeaddrinfo(found);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

DnsDiscovery::DnsDiscovery(std::string target, std::chrono::milliseconds refresh, Pool& pool, Resolver resolver)
    : host_(SplitHostPort(target).first),
      port_(SplitHostPort(target).second),
      refresh_(refresh),
      pool_(pool),
      resolver_(std::move(resolver)) {}

DnsDiscovery::~DnsDiscovery() { Stop(); }

absl::Status DnsDiscovery::Refresh() {
  auto resolved = resolver_(host_, port_);
  if (!resolved.ok()) {
    core::LogWarning("engine discovery failed; keeping the engines known",
                     {{"pool", pool_.name()}, {"dns", host_}, {"error", std::string(resolved.status().message())}});
    return resolved.status();
  }
  const std::set<std::string> now(resolved->begin(), resolved->end());
  for (const auto& address : now) {
    if (!known_.count(address)) pool_.AddEngine(address);
  }
  for (const auto& address : known_) {
    if (!now.count(address)) pool_.RemoveEngine(address);
  }
  if (now.empty() && !known_.empty()) core::LogWarning("engine discovery found no engines", {{"pool", pool_.name()}, {"dns", host_}});
  known_ = now;
  return absl::OkStatus();
}

void DnsDiscovery::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      (void)Refresh();  // failures are logged; the next round tries again
      lock.lock();
      cv_.wait_for(lock, refresh_, [this] { return stopping_; });
    }
  });
}

void DnsDiscovery::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace voxgate::pool
