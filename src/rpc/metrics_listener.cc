#include "rpc/metrics_listener.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "core/log.h"
#include "core/metrics.h"
#include "net/tcp_listen.h"

namespace voxgate::rpc {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int kTimeoutSeconds = 5;
constexpr size_t kMaxRequestBytes = 16 * 1024;

void SetTimeouts(tcp::socket& socket) {
  timeval tv{kTimeoutSeconds, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

http::response<http::string_body> Answer(const http::request<http::string_body>& req, bool ready) {
  auto reply = [&](http::status status, std::string body, const char* type) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "voxgate-engine");
    res.set(http::field::content_type, type);
    res.keep_alive(false);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  if (req.method() != http::verb::get) {
    auto res = reply(http::status::method_not_allowed, R"({"error":"use GET"})", "application/json");
    res.set(http::field::allow, "GET");
    return res;
  }
  const std::string_view path = std::string_view(req.target()).substr(0, req.target().find('?'));
  if (path == "/metrics") return reply(http::status::ok, core::Metrics().RenderText(), "text/plain; version=0.0.4; charset=utf-8");
  if (path == "/healthz") return reply(http::status::ok, R"({"status":"ok"})", "application/json");
  if (path == "/readyz") {
    return ready ? reply(http::status::ok, R"({"status":"ready"})", "application/json")
                 : reply(http::status::service_unavailable, R"({"status":"not ready"})", "application/json");
  }
  return reply(http::status::not_found, R"({"error":"not found: an engine serves /metrics, /healthz and /readyz"})", "application/json");
}

}  // namespace

class MetricsListener::Impl {
 public:
  explicit Impl(std::function<bool()> ready) : acceptor_(io_), ready_(std::move(ready)) {}

  absl::Status Start(const std::string& address) {
    if (absl::Status s = net::Listen(acceptor_, address); !s.ok()) return s;
    address_ = net::LocalAddress(acceptor_);
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  ~Impl() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    // A blocking accept wakes for a connection; make one.
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  const std::string& address() const { return address_; }

 private:
  void Run() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      SetTimeouts(socket);
      beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      parser.header_limit(kMaxRequestBytes);
      parser.body_limit(kMaxRequestBytes);
      http::read(socket, buffer, parser, ec);
      if (ec) continue;  // timed out, too big or garbage: nothing to answer
      http::write(socket, Answer(parser.get(), ready_ ? ready_() : true), ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::function<bool()> ready_;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<MetricsListener>> MetricsListener::Start(const std::string& address, std::function<bool()> ready) {
  auto impl = std::make_unique<Impl>(std::move(ready));
  if (absl::Status s = impl->Start(address); !s.ok()) return s;
  return std::unique_ptr<MetricsListener>(new MetricsListener(std::move(impl)));
}

MetricsListener::MetricsListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsListener::~MetricsListener() = default;
const std::string& MetricsListener::address() const { return impl_->address(); }

}  // namespace voxgate::rpc
