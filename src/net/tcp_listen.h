// The TCP listeners of voxgate's HTTP servers (the gateway, the alert relay, an engine's admin
// listener), opened from the host:port addresses the config and the command lines give.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"

namespace voxgate::net {

// Opens `acceptor` on host:port (port 0 picks one): SO_REUSEADDR, bound, listening. The error
// names the address.
absl::Status Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address);
// The host:port `acceptor` is bound to, with the port it got; "" when it is not open.
std::string LocalAddress(const boost::asio::ip::tcp::acceptor& acceptor);
// The peer's IP address, for access lines; "" when the socket is already gone.
std::string RemoteIp(const boost::asio::ip::tcp::socket& socket);

}  // namespace voxgate::net
