#include "alerts/http_transport.h"

#include <utility>  // before Asio's coroutine headers (g++ 12)

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <thread>

namespace voxgate::alerts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;  // NOLINT
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr size_t kMaxResponseBytes = 64 * 1024;

struct HttpTransport::Impl {
  explicit Impl(int n) : tls(ssl::context::tls_client), work(asio::make_work_guard(ioc)) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    for (int i = 0; i < std::max(1, n); ++i) threads.emplace_back([this] { ioc.run(); });
  }

  asio::io_context ioc;
  ssl::context tls;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::thread> threads;
};

namespace {

std::string Describe(const char* step, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) return std::string(step) + ": timed out";
  return std::string(step) + ": " + ec.message();
}

template <typename Stream>
asio::awaitable<HttpResponse> Exchange(Stream& stream, beast::tcp_stream& lowest, http::request<http::string_body>& req,
                                       std::chrono::milliseconds timeout) {
  HttpResponse out;
  lowest.expires_after(timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, kAwait);
  if (wec) {
    out.error = Describe("write", wec);
    co_return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  lowest.expires_after(timeout);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kAwait);
  if (rec && rec != http::error::body_limit) {
    out.error = Describe("read", rec);
    co_return out;
  }
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  if (auto it = res.find(http::field::retry_after); it != res.end()) out.retry_after = std::string(it->value());
  co_return out;
}

asio::awaitable<HttpResponse> Post(HttpTransport::Impl& impl, HttpRequest request) {
  HttpResponse out;
  auto url = boost::urls::parse_uri(request.url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host_address().empty()) {
    out.error = "the destination URL is not an http or https URL";
    co_return out;
  }
  const bool https = url->scheme() == "https";
  const std::string host = url->host_address();
  const std::string port = url->has_port() ? std::string(url->port()) : https ? "443" : "80";
  std::string target = std::string(url->encoded_path());
  if (target.empty()) target = "/";
  if (url->has_query()) target += "?" + std::string(url->encoded_query());

  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  asio::steady_timer timer(executor);
  timer.expires_after(request.timeout);
  auto resolved = co_await (resolver.async_resolve(host, port, kAwait) || timer.async_wait(kAwait));
  if (resolved.index() == 1) {
    out.error = "resolve: timed out";
    co_return out;
  }
  auto [rec, endpoints] = std::get<0>(resolved);
  if (rec) {
    out.error = Describe("resolve", rec);
    co_return out;
  }

  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, url->has_port() ? host + ":" + port : host);
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.set(http::field::connection, "close");
  req.body() = std::move(request.body);
  req.prepare_payload();

  if (!https) {
    beast::tcp_stream stream(executor);
    stream.expires_after(request.timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kAwait);
    if (cec) {
      out.error = Describe("connect", cec);
      co_return out;
    }
    out = co_await Exchange(stream, stream, req, request.timeout);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, impl.tls);
  // SNI, and the certificate must name this host.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    out.error = "tls: cannot set the server name";
    co_return out;
  }
  stream.set_verify_callback(ssl::host_name_verification(host));
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(request.timeout);
  auto [cec, ep] = co_await lowest.async_connect(endpoints, kAwait);
  if (cec) {
    out.error = Describe("connect", cec);
    co_return out;
  }
  lowest.expires_after(request.timeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kAwait);
  if (hec) {
    out.error = Describe("tls handshake", hec);
    co_return out;
  }
  out = co_await Exchange(stream, lowest, req, request.timeout);
  lowest.expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(kAwait);  // errors here do not change the answer
  co_return out;
}

}  // namespace

HttpTransport::HttpTransport(int threads) : impl_(std::make_unique<Impl>(threads)) {}

HttpTransport::~HttpTransport() { Stop(); }

void HttpTransport::Send(HttpRequest request, std::function<void(HttpResponse)> done) {
  asio::co_spawn(impl_->ioc, Post(*impl_, std::move(request)),
                 [done = std::move(done)](std::exception_ptr e, HttpResponse r) {
                   if (e) {
                     r = HttpResponse{};
                     r.error = "internal error in the HTTP client";
                   }
                   done(std::move(r));
                 });
}

void HttpTransport::Stop() {
  if (impl_->threads.empty()) return;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace voxgate::alerts
