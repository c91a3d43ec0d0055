#include "net/tcp_listen.h"

#include <boost/asio/ip/address.hpp>

#include "core/host_port.h"

namespace voxgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

absl::Status Listen(tcp::acceptor& acceptor, const std::string& address) {
  const auto hp = core::ParseHostPort(address);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(hp ? hp->host : "", ec);
  if (!hp || ec) return absl::InvalidArgumentError("address \"" + address + "\" is not host:port");
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(hp->port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError("cannot listen on " + address + ": " + ec.message());
  return absl::OkStatus();
}

std::string LocalAddress(const tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  const auto endpoint = acceptor.local_endpoint(ec);
  if (ec || !acceptor.is_open()) return "";
  return core::FormatHostPort(endpoint.address().to_string(), endpoint.port());
}

std::string RemoteIp(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  return ec ? "" : endpoint.address().to_string();
}

}  // namespace voxgate::net
