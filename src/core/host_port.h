// Listen addresses as the config and the command lines write them: "host:port", "[v6]:port".
#pragma once

#include <optional>
#include <string>

namespace voxgate::core {

struct HostPort {
  std::string host;  // an IP address as written ("localhost" becomes 127.0.0.1), brackets removed
  int port = 0;      // 0..65535 (0: pick one)
};

// nullopt when it is not host:port with a port from 0 to 65535.
std::optional<HostPort> ParseHostPort(const std::string& address);
// "ip:port", "[v6]:port".
std::string FormatHostPort(const std::string& ip, int port);

}  // namespace voxgate::core
