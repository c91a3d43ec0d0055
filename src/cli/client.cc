#include "cli/client.h"

#include <cstdlib>

#include <utility>  // before Asio's coroutine headers (g++ 12)

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>
#include <random>

namespace voxgate::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr auto kTimeout = std::chrono::seconds(600);

struct Target {
  std::string host, port;
};

absl::StatusOr<Target> ParseServer(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "ws") || u->host().empty()) {
    return absl::InvalidArgumentError("--server must look like http://host:port, got \"" + url + "\"");
  }
  return Target{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80"};
}

// The API key comes from the environment (VOXGATE_API_KEY), never from the command line, where
// `ps` would show it to everyone on the machine.
std::string Authorization() {
  const char* key = std::getenv("VOXGATE_API_KEY");
  return key != nullptr && *key != '\0' ? std::string("Bearer ") + key : "";
}

absl::StatusOr<HttpResult> Request(const std::string& server_url, http::request<http::string_body> req) {
  auto target = ParseServer(server_url);
  if (!target.ok()) return target.status();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  try {
    tcp::resolver resolver(ioc);
    stream.expires_after(kTimeout);
    stream.connect(resolver.resolve(target->host, target->port));
    req.set(http::field::host, target->host + ":" + target->port);
    req.set(http::field::user_agent, "voxctl/0.1");
    if (const std::string auth = Authorization(); !auth.empty()) req.set(http::field::authorization, auth);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    return HttpResult{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const boost::system::system_error& e) {
    return absl::UnavailableError("cannot reach " + server_url + ": " + e.code().message());
  }
}

}  // namespace

absl::StatusOr<HttpResult> Get(const std::string& server_url, const std::string& path) {
  http::request<http::string_body> req{http::verb::get, path, 11};
  return Request(server_url, std::move(req));
}

absl::StatusOr<HttpResult> PostTranslation(const std::string& server_url, const std::string& text, const std::string& source,
                                           const std::string& target) {
  http::request<http::string_body> req{http::verb::post, "/v1/translate", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = nlohmann::json{{"text", text}, {"source", source}, {"target", target}}.dump();
  return Request(server_url, std::move(req));
}

absl::StatusOr<HttpResult> PostSpeech(const std::string& server_url, const std::string& json_body) {
  http::request<http::string_body> req{http::verb::post, "/v1/audio/speech", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = json_body;
  return Request(server_url, std::move(req));
}

absl::StatusOr<HttpResult> PostTranscription(const std::string& server_url, const std::string& file_name,
                                             const std::string& file_bytes, const std::string& language,
                                             const std::string& response_format) {
  std::mt19937_64 rng{std::random_device{}()};
  const std::string boundary = "voxctl-" + std::to_string(rng());
  std::string body;
  auto field = [&](const std::string& name, const std::string& value) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  };
  field("model", "whisper-1");
  if (!language.empty()) field("language", language);
  field("response_format", response_format);
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file_name +
          "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  body += file_bytes;
  body += "\r\n--" + boundary + "--\r\n";
  http::request<http::string_body> req{http::verb::post, "/v1/audio/transcriptions", 11};
  req.set(http::field::content_type, "multipart/form-data; boundary=" + boundary);
  req.body() = std::move(body);
  return Request(server_url, std::move(req));
}

absl::Status StreamRecognize(const std::string& server_url, const std::string& language, const audio::Pcm& pcm,
                             double speed, const StreamEvents& events) {
  auto target = ParseServer(server_url);
  if (!target.ok()) return target.status();
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  absl::Status result = absl::OkStatus();

  auto send = [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(ioc);
    const size_t frame = static_cast<size_t>(pcm.sample_rate_hertz / 10);  // 100 ms
    auto next = std::chrono::steady_clock::now();
    for (size_t pos = 0; pos < pcm.samples.size(); pos += frame) {
      const size_t n = std::min(frame, pcm.samples.size() - pos);
      std::string bytes(n * 2, '\0');
      for (size_t i = 0; i < n; ++i) {
        const auto u = static_cast<uint16_t>(pcm.samples[pos + i]);
        bytes[2 * i] = static_cast<char>(u & 0xff);
        bytes[2 * i + 1] = static_cast<char>(u >> 8);
      }
      ws.binary(true);
      auto [ec, written] = co_await ws.async_write(asio::buffer(bytes), kAwait);
      if (ec) co_return;  // the reader reports why
      if (events.on_progress) events.on_progress(static_cast<double>(pos + n) / pcm.sample_rate_hertz);
      next += std::chrono::microseconds(static_cast<int64_t>(100000 / speed));
      timer.expires_at(next);
      co_await timer.async_wait(kAwait);
    }
    ws.text(true);
    co_await ws.async_write(asio::buffer(std::string(R"({"type":"end"})")), kAwait);
  };

  auto receive = [&]() -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    while (true) {
      buffer.clear();
      auto [ec, n] = co_await ws.async_read(buffer, kAwait);
      if (ec == websocket::error::closed) {
        const auto& reason = ws.reason();
        if (reason.code != websocket::close_code::normal) {
          result = absl::UnavailableError("server closed the stream (" + std::to_string(reason.code) + "): " +
                                          std::string(reason.reason.c_str()));
        }
        co_return;
      }
      if (ec) {
        result = absl::UnavailableError("stream broken: " + ec.message());
        co_return;
      }
      auto msg = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
      if (!msg.is_object()) continue;
      const std::string type = msg.value("type", "");
      if (type == "final" && events.on_final) events.on_final(msg.value("text", ""), msg.value("start", 0.0), msg.value("end", 0.0));
      if (type == "partial" && events.on_partial) events.on_partial(msg.value("text", ""));
      if (type == "error") result = absl::InvalidArgumentError(msg.value("message", "error"));
    }
  };

  try {
    tcp::resolver resolver(ioc);
    beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws).connect(resolver.resolve(target->host, target->port));
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.set_option(websocket::stream_base::decorator([auth = Authorization()](websocket::request_type& req) {
      if (!auth.empty()) req.set(http::field::authorization, auth);
    }));
    ws.handshake(target->host + ":" + target->port, "/v1/recognize?language=" + language + "&sample_rate=" +
                                                        std::to_string(pcm.sample_rate_hertz));
  } catch (const boost::system::system_error& e) {
    return absl::UnavailableError("cannot open a stream to " + server_url + ": " + e.code().message());
  }
  asio::co_spawn(ioc, send(), asio::detached);
  asio::co_spawn(ioc, receive(), asio::detached);
  ioc.run();
  return result;
}

}  // namespace voxgate::cli
