#include "alerts/relay_server.h"

#include <utility>  // before Asio's coroutine headers (g++ 12)

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/url/parse.hpp>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "alerts/dispatcher.h"
#include "alerts/http_transport.h"
#include "alerts/inputs.h"
#include "core/metrics.h"
#include "core/process.h"
#include "net/tcp_listen.h"

namespace voxgate::alerts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto kHeaderTimeout = std::chrono::seconds(10);
constexpr auto kBodyTimeout = std::chrono::seconds(30);
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxQueuedEvents = 1000;

milliseconds Millis(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000)); }

std::string Trim(std::string s) {
  const size_t end = s.find_last_not_of(" \t\r\n");
  s.erase(end == std::string::npos ? 0 : end + 1);
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  return s;
}

// A secret from an environment variable or a file; the error names where, never the value.
absl::StatusOr<std::string> ReadSecret(const std::string& env, const std::string& file, const std::string& what) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || Trim(v).empty()) return absl::FailedPreconditionError(absl::StrCat(what, ": the environment variable ", env, " is not set"));
    return Trim(v);
  }
  std::ifstream in(file);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(what, ": cannot read ", file));
  std::stringstream text;
  text << in.rdbuf();
  std::string value = Trim(text.str());
  if (value.empty()) return absl::FailedPreconditionError(absl::StrCat(what, ": ", file, " is empty"));
  return value;
}

std::string Sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), size);
}

std::string Base64Decode(std::string_view in) {
  if (in.empty() || in.size() > 4096 || in.size() % 4 != 0) return "";
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t size = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) size--;  // EVP_DecodeBlock counts padding
  out.resize(std::min(size, out.size()));
  return out;
}

Response MakeResponse(unsigned status, std::string body, const char* type = "application/json") {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, type);
  res.set(http::field::server, "voxgate-alert-relay");
  res.body() = std::move(body);
  return res;
}

Response ErrorResponse(unsigned status, const std::string& code, const std::string& message) {
  return MakeResponse(status, json({{"error", {{"code", code}, {"message", message}}}}).dump(-1, ' ', false, json::error_handler_t::replace));
}

struct Defaults {
  double per_minute;
  int burst;
};
Defaults RateDefaults(DestinationType type) {
  switch (type) {
    case DestinationType::kDiscord:
      return {30, 5};  // Discord: 30 messages a minute per channel
    case DestinationType::kSlack:
      return {60, 3};  // Slack: one message a second per incoming webhook, short bursts
    case DestinationType::kWebhook:
      return {120, 10};
  }
  return {60, 5};
}

}  // namespace

// The queue between the logging thread and the relay's thread; shared so that a log sink
// registered once can outlive the relay.
struct EventInbox {
  std::mutex mu;
  std::deque<json> lines;
  bool closed = false;
  std::function<void()> wake;
  core::Severity min = core::Severity::kError;
};

struct RelayServer::Impl {
  explicit Impl(RelayServerOptions o) : options(std::move(o)), ioc(std::max(1, options.io_threads)), input_acceptor(ioc), admin_acceptor(ioc) {}

  RelayServerOptions options;
  std::string token_digest;  // SHA-256 of the input token; empty: none needed
  EventOptions events;
  std::unique_ptr<Outbox> outbox;
  HttpTransport transport{1};
  std::unique_ptr<Dispatcher> dispatcher;

  asio::io_context ioc;
  asio::thread_pool store{1};  // commits (an fsync each) off the I/O threads
  tcp::acceptor input_acceptor, admin_acceptor;
  std::vector<std::thread> io_threads;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool woken = false;
  std::thread loop;
  std::shared_ptr<EventInbox> inbox = std::make_shared<EventInbox>();

  void Wake() {
    {
      std::lock_guard lock(mu);
      woken = true;
    }
    cv.notify_all();
  }

  void Loop();
  void DrainInbox();
  bool Authorized(const Request& req) const;
  asio::awaitable<Response> HandleInput(const Request& req, const std::string& remote);
  Response HandleAdmin(const Request& req);
  asio::awaitable<void> Session(tcp::socket socket, bool admin);
  asio::awaitable<void> Listen(tcp::acceptor& acceptor, bool admin);
};

void RelayServer::Impl::DrainInbox() {
  std::deque<json> lines;
  {
    std::lock_guard lock(inbox->mu);
    lines.swap(inbox->lines);
  }
  if (lines.empty()) return;
  std::vector<Alert> alerts;
  const int64_t now = dispatcher->NowMs();
  for (const json& line : lines) {
    if (auto a = AlertFromLogLine(line, events, now)) alerts.push_back(std::move(*a));
  }
  if (alerts.empty()) return;
  core::Metrics().GetCounter("voxgate_alert_received_total", "Alerts received, by input.", {{"source", "voxgate"}}).Increment(static_cast<double>(alerts.size()));
  auto r = dispatcher->Submit(alerts);
  if (!r.ok()) {
    core::Metrics().GetCounter("voxgate_alert_events_dropped_total", "voxgate's own events the relay could not queue or store.")
        .Increment(static_cast<double>(alerts.size()));
    core::LogError("cannot store voxgate's own events as alerts", {{"error", std::string(r.status().message())}, {"events", alerts.size()}});
  }
}

void RelayServer::Impl::Loop() {
  std::unique_lock lock(mu);
  while (!stopping) {
    lock.unlock();
    DrainInbox();
    const core::TimePoint next = dispatcher->RunDue();
    lock.lock();
    if (stopping) break;
    // The system clock's TimePoint is steady_clock's: wait until then or until woken.
    cv.wait_until(lock, std::min(next, std::chrono::steady_clock::now() + std::chrono::seconds(60)), [this] { return woken || stopping; });
    woken = false;
  }
}

bool RelayServer::Impl::Authorized(const Request& req) const {
  if (token_digest.empty()) return true;
  std::string presented;
  if (auto it = req.find(http::field::authorization); it != req.end()) {
    const std::string_view v = it->value();
    if (v.size() > 7 && beast::iequals(v.substr(0, 7), "Bearer ")) {
      presented = std::string(v.substr(7));
    } else if (v.size() > 6 && beast::iequals(v.substr(0, 6), "Basic ")) {
      // Cloud Monitoring's basic authentication: any user name, the token as the password.
      const std::string decoded = Base64Decode(v.substr(6));
      if (const size_t colon = decoded.find(':'); colon != std::string::npos) presented = decoded.substr(colon + 1);
    }
  } else if (auto url = boost::urls::parse_origin_form(req.target()); url) {
    // Cloud Monitoring's token authentication puts the token in the URL (?auth_token=...).
    for (const auto& p : url->params()) {
      if (p.key == "auth_token") presented = p.value;
    }
  }
  if (presented.empty()) return false;
  const std::string digest = Sha256(presented);
  return digest.size() == token_digest.size() && CRYPTO_memcmp(digest.data(), token_digest.data(), digest.size()) == 0;
}

asio::awaitable<Response> RelayServer::Impl::HandleInput(const Request& req, const std::string& remote) {
  const std::string path(req.target().substr(0, req.target().find('?')));
  if (path == "/healthz") co_return MakeResponse(200, "ok\n", "text/plain");
  std::string source;
  if (path == "/v1/alerts/alertmanager") source = "alertmanager";
  if (path == "/v1/alerts/cloud-monitoring") source = "cloud_monitoring";
  if (path == "/v1/alerts/events") source = "voxgate";
  if (source.empty()) {
    co_return ErrorResponse(404, "not_found", "unknown path; POST to /v1/alerts/alertmanager, /v1/alerts/cloud-monitoring or /v1/alerts/events");
  }
  auto count = [&](unsigned status) {
    core::Metrics()
        .GetCounter("voxgate_alert_input_requests_total", "Input requests, by input and status code.", {{"source", source}, {"code", std::to_string(status)}})
        .Increment();
  };
  if (req.method() != http::verb::post) {
    count(405);
    Response res = ErrorResponse(405, "method_not_allowed", "use POST");
    res.set(http::field::allow, "POST");
    co_return res;
  }
  if (!Authorized(req)) {
    count(401);
    core::LogWarning("alert input refused: missing or wrong token", {{"source", source}, {"remoteIp", remote}});
    Response res = ErrorResponse(401, "unauthenticated", "a valid token is required (Authorization: Bearer TOKEN, basic auth, or ?auth_token=TOKEN)");
    res.set(http::field::www_authenticate, "Bearer");
    co_return res;
  }
  const int64_t now = dispatcher->NowMs();
  absl::StatusOr<ParsedInput> parsed = source == "alertmanager"       ? ParseAlertmanager(req.body(), now)
                                       : source == "cloud_monitoring" ? ParseCloudMonitoring(req.body(), now)
                                                                      : ParseLogLines(req.body(), events, now);
  if (!parsed.ok()) {
    count(400);
    core::LogWarning("alert input refused: bad input", {{"source", source}, {"error", std::string(parsed.status().message())}, {"remoteIp", remote}});
    co_return ErrorResponse(400, "invalid_argument", std::string(parsed.status().message()));
  }
  std::vector<Alert> alerts = std::move(parsed->alerts);
  Dispatcher* d = dispatcher.get();
  auto submitted = co_await asio::co_spawn(
      store, [d, &alerts]() -> asio::awaitable<absl::StatusOr<SubmitResult>> { co_return d->Submit(alerts); }, asio::use_awaitable);
  if (!submitted.ok()) {
    const bool full = absl::IsResourceExhausted(submitted.status());
    const unsigned status = full ? 503 : 500;
    count(status);
    core::LogError(full ? "alert input refused: the outbox is full" : "alert input not stored",
                   {{"source", source}, {"error", std::string(submitted.status().message())}});
    Response res = ErrorResponse(status, full ? "unavailable" : "internal", std::string(submitted.status().message()));
    if (full) res.set(http::field::retry_after, "30");
    co_return res;
  }
  count(200);
  core::Metrics().GetCounter("voxgate_alert_received_total", "Alerts received, by input.", {{"source", source}}).Increment(static_cast<double>(alerts.size()));
  core::LogInfo("alert input", {{"source", source},
                                {"alerts", alerts.size()},
                                {"accepted", submitted->accepted},
                                {"deduplicated", submitted->deduplicated},
                                {"ignored", parsed->ignored},
                                {"remoteIp", remote}});
  co_return MakeResponse(200, json({{"status", "ok"},
                                    {"alerts", alerts.size()},
                                    {"accepted", submitted->accepted},
                                    {"deduplicated", submitted->deduplicated},
                                    {"ignored", parsed->ignored}})
                                  .dump());
}

Response RelayServer::Impl::HandleAdmin(const Request& req) {
  const std::string path(req.target().substr(0, req.target().find('?')));
  if (path == "/healthz") return MakeResponse(200, "ok\n", "text/plain");
  if (path == "/readyz") {
    std::lock_guard lock(mu);
    return stopping ? MakeResponse(503, "stopping\n", "text/plain") : MakeResponse(200, "ready\n", "text/plain");
  }
  if (path == "/metrics") return MakeResponse(200, core::Metrics().RenderText(), "text/plain; version=0.0.4");
  if (path == "/v1/status") return MakeResponse(200, json({{"alert_relay", dispatcher->Status()}}).dump());
  return ErrorResponse(404, "not_found", "unknown path (admin: /healthz, /readyz, /metrics, /v1/status)");
}

asio::awaitable<void> RelayServer::Impl::Session(tcp::socket socket, bool admin) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const std::string remote = net::RemoteIp(stream.socket());
  const size_t max_body = options.config.max_body_bytes;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(boost::none);  // checked by hand, so that a 413 can be answered
    stream.expires_after(kHeaderTimeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kAwait);
    if (ec) break;
    Response res;
    bool close = false;
    if (auto len = parser.content_length(); len && *len > max_body) {
      res = ErrorResponse(413, "too_large", absl::StrCat("the body of ", *len, " bytes exceeds the limit of ", max_body, " bytes"));
      close = true;
    } else {
      stream.expires_after(kBodyTimeout);
      parser.body_limit(max_body);
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kAwait);
      if (bec == http::error::body_limit) {
        res = ErrorResponse(413, "too_large", absl::StrCat("the body exceeds the limit of ", max_body, " bytes"));
        close = true;
      } else if (bec) {
        break;
      }
    }
    const Request& req = parser.get();
    // if/else, not ?: : g++ 12 destroys a temporary twice in `co_await (c ? a() : b())`.
    if (close) {
    } else if (admin) {
      res = HandleAdmin(req);
    } else {
      res = co_await HandleInput(req, remote);
    }
    res.keep_alive(!close && req.keep_alive());
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(10));
    auto [wec, wn] = co_await http::async_write(stream, res, kAwait);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> RelayServer::Impl::Listen(tcp::acceptor& acceptor, bool admin) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kAwait);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;  // e.g. EMFILE: keep serving the connections there are
    asio::co_spawn(socket.get_executor(), Session(std::move(socket), admin), asio::detached);
  }
}

RelayServer::RelayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RelayServer::~RelayServer() { Stop(); }

absl::StatusOr<std::unique_ptr<RelayServer>> RelayServer::Start(RelayServerOptions options) {
  const core::AlertRelayConfig& c = options.config;
  auto impl = std::make_unique<Impl>(options);
  DispatcherOptions d;
  for (const auto& dc : c.destinations) {
    Destination dest;
    dest.name = dc.name;
    dest.type = dc.type == "discord" ? DestinationType::kDiscord : dc.type == "slack" ? DestinationType::kSlack : DestinationType::kWebhook;
    auto url = ReadSecret(dc.url_env, dc.url_file, "alert destination " + dc.name);
    if (!url.ok()) return url.status();
    auto parsed = boost::urls::parse_uri(*url);
    if (!parsed || (parsed->scheme() != "https" && parsed->scheme() != "http") || parsed->host_address().empty()) {
      // Never the URL itself in the message: it is the secret.
      return absl::InvalidArgumentError(absl::StrCat("alert destination ", dc.name, ": the URL in ",
                                                     dc.url_env.empty() ? dc.url_file : "$" + dc.url_env, " is not an http(s) URL"));
    }
    if (parsed->scheme() == "http") {
      core::LogWarning("alert destination uses plain http (fine for a receiver on this machine or a private network)",
                       {{"destination", dc.name}});
    }
    dest.url = *url;
    const Defaults defaults = RateDefaults(dest.type);
    dest.rate_per_second = (dc.rate_per_minute > 0 ? dc.rate_per_minute : defaults.per_minute) / 60.0;
    dest.burst = dc.burst > 0 ? dc.burst : defaults.burst;
    dest.timeout = Millis(dc.timeout_seconds);
    if (!dc.username.empty()) dest.username = dc.username;
    d.destinations.push_back(std::move(dest));
  }
  for (const auto& rc : c.routes) {
    Route r;
    r.match = LabelSet(rc.match.begin(), rc.match.end());
    r.destinations = rc.destinations;
    r.group_by = rc.group_by;
    r.group_wait = Millis(rc.group_wait_seconds);
    r.group_interval = Millis(rc.group_interval_seconds);
    r.repeat_interval = Millis(rc.repeat_interval_seconds);
    r.send_resolved = rc.send_resolved;
    r.continue_matching = rc.continue_matching;
    d.routes.push_back(std::move(r));
  }
  d.initial_backoff = Millis(c.initial_backoff_seconds);
  d.max_backoff = Millis(c.max_backoff_seconds);
  d.give_up_after = Millis(c.give_up_after_hours * 3600);
  d.max_alerts = c.max_alerts;
  d.max_undelivered = c.max_undelivered;
  d.retention = Millis(c.retention_hours * 3600);
  Impl* raw = impl.get();
  d.wake = [raw] { raw->Wake(); };

  if (!c.token_env.empty() || !c.token_file.empty()) {
    auto token = ReadSecret(c.token_env, c.token_file, "alert_relay.input_token");
    if (!token.ok()) return token.status();
    impl->token_digest = Sha256(*token);
  }
  impl->events.min_severity = core::ParseSeverity(c.events_min_severity).value_or(core::Severity::kError);
  impl->events.resolve_timeout_ms = static_cast<int64_t>(c.events_resolve_timeout_seconds * 1000);
  impl->inbox->min = impl->events.min_severity;

  auto outbox = Outbox::Open(c.database);
  if (!outbox.ok()) return outbox.status();
  impl->outbox = std::move(*outbox);
  impl->dispatcher = std::make_unique<Dispatcher>(std::move(d), *impl->outbox, impl->transport, core::SystemClock());

  if (auto s = net::Listen(impl->input_acceptor, c.listen); !s.ok()) return s;
  if (!options.admin.empty()) {
    if (auto s = net::Listen(impl->admin_acceptor, options.admin); !s.ok()) return s;
    asio::co_spawn(impl->ioc, impl->Listen(impl->admin_acceptor, true), asio::detached);
  }
  asio::co_spawn(impl->ioc, impl->Listen(impl->input_acceptor, false), asio::detached);
  for (int i = 0; i < std::max(1, options.io_threads); ++i) impl->io_threads.emplace_back([raw] { raw->ioc.run(); });
  impl->inbox->wake = [raw] { raw->Wake(); };
  impl->loop = std::thread([raw] { raw->Loop(); });
  core::Metrics().AddCallbackGauge("voxgate_alert_outbox_undelivered", "Notifications in the outbox waiting for delivery.",
                                   [raw] { return raw->dispatcher->Status()["undelivered"].get<double>(); });
  core::Metrics().AddCallbackGauge("voxgate_alert_active_alerts", "Alerts the relay holds (firing, or resolved and not yet notified).",
                                   [raw] { return raw->dispatcher->Status()["alerts"].get<double>(); });
  return std::unique_ptr<RelayServer>(new RelayServer(std::move(impl)));
}

void RelayServer::Stop() {
  Impl& i = *impl_;
  if (i.io_threads.empty()) return;
  {
    std::lock_guard lock(i.inbox->mu);
    i.inbox->closed = true;
    i.inbox->wake = nullptr;
  }
  asio::post(i.ioc, [&i] {
    boost::system::error_code ec;
    i.input_acceptor.close(ec);
    i.admin_acceptor.close(ec);
  });
  // Deliveries on the wire get a moment to finish, so a stop rarely leaves one to send again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (i.dispatcher->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard lock(i.mu);
    i.stopping = true;
  }
  i.cv.notify_all();
  i.loop.join();
  i.ioc.stop();
  for (auto& t : i.io_threads) t.join();
  i.io_threads.clear();
  i.store.join();
  i.transport.Stop();
  core::Metrics().AddCallbackGauge("voxgate_alert_outbox_undelivered", "Notifications in the outbox waiting for delivery.", [] { return 0.0; });
  core::Metrics().AddCallbackGauge("voxgate_alert_active_alerts", "Alerts the relay holds (firing, or resolved and not yet notified).", [] { return 0.0; });
}

std::string RelayServer::listen_address() const { return net::LocalAddress(impl_->input_acceptor); }
std::string RelayServer::admin_address() const { return net::LocalAddress(impl_->admin_acceptor); }

std::function<void(const json&)> RelayServer::LogSink() {
  return [inbox = impl_->inbox](const json& line) {
    // Cheap checks first: this runs for every line at INFO and up, on the logging thread.
    if (!line.is_object()) return;
    if (!line.contains("event")) {
      auto s = line.find("severity");
      if (s == line.end() || !s->is_string()) return;
      const auto severity = core::ParseSeverity(s->get_ref<const std::string&>());
      if (!severity || static_cast<int>(*severity) < static_cast<int>(inbox->min)) return;
    }
    std::function<void()> wake;
    {
      std::lock_guard lock(inbox->mu);
      if (inbox->closed) return;
      if (inbox->lines.size() >= kMaxQueuedEvents) {
        core::Metrics().GetCounter("voxgate_alert_events_dropped_total", "voxgate's own events the relay could not queue or store.").Increment();
        return;
      }
      inbox->lines.push_back(line);
      wake = inbox->wake;
    }
    if (wake) wake();
  };
}

core::Severity RelayServer::log_sink_severity() const {
  return std::min(impl_->events.min_severity, core::Severity::kInfo, [](auto a, auto b) { return static_cast<int>(a) < static_cast<int>(b); });
}

int RunAlertRelay(const core::AlertRelayConfig& config, const std::string& admin) {
  core::SetLogLabels({{"tier", "alert-relay"}});
  RelayServerOptions options;
  options.config = config;
  options.admin = admin;
  auto server = RelayServer::Start(std::move(options));
  if (!server.ok()) {
    core::LogError("cannot start", {{"error", std::string(server.status().message())}});
    core::FlushLogs();
    return 1;
  }
  core::LogInfo("alert relay listening", {{"listen", (*server)->listen_address()}, {"admin", (*server)->admin_address()},
                                          {"database", config.database}, {"destinations", config.destinations.size()}});
  const int sig = core::WaitForStopSignal();
  core::LogInfo("stopping", {{"signal", strsignal(sig)}});
  (*server)->Stop();
  core::LogInfo("stopped", {{"exit_code", 0}});
  core::FlushLogs();
  return 0;
}

}  // namespace voxgate::alerts
