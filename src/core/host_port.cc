#include "core/host_port.h"

#include <charconv>

namespace voxgate::core {

std::optional<HostPort> ParseHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  HostPort hp;
  hp.host = address.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, ec] = std::from_chars(first, last, hp.port);
  if (first == last || ec != std::errc() || end != last || hp.port < 0 || hp.port > 65535) return std::nullopt;
  return hp;
}

std::string FormatHostPort(const std::string& ip, int port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace voxgate::core
