// The Boost.Asio/Beast names the gateway's translation units share.
#pragma once

#include <utility>  // before Asio's coroutine headers (g++ 12)

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/beast.hpp>

namespace voxgate::gateway::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using WakeChannel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

}  // namespace voxgate::gateway::internal
