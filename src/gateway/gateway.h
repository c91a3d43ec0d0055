// The endpoint tier: the client-facing HTTP/WebSocket server and the admin listener.
//   public: GET /v1/recognize (WebSocket), POST /v1/audio/transcriptions, POST /v1/audio/speech,
//           GET /v1/audio/voices, GET /v1/models, POST /v1/translate, GET /vosk (vosk protocol),
//           / with x-mimi-process (mimi protocol), POST /speech_synthesis, /machine_translation
//   admin:  GET /healthz, /readyz, /metrics, /v1/status
//   vosk:   the vosk protocol at any path (optional)
// Every request becomes calls on one SpeechService (the router, in the all-in-one server).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/config.h"
#include "gateway/api_keys.h"
#include "speech/speech_service.h"

namespace voxgate::gateway {

struct GatewayOptions {
  std::string listen = "127.0.0.1:8080";  // port 0 picks a free port; empty: admin listener only
  std::string admin = "127.0.0.1:9090";
  std::string vosk_listen;  // a listener that speaks only the vosk protocol, at any path; empty: none
  core::LimitsConfig limits;
  int io_threads = 2;
  int decode_threads = 2;  // audio decoding and resampling of uploads, off the I/O threads
  // The JSON body of the admin listener's GET /v1/status (the pools' engines); unset: 404.
  std::function<std::string()> status_json;
  // Client requests must present one of these keys; empty: no key needed.
  ApiKeys api_keys;
};

class Gateway {
 public:
  Gateway(GatewayOptions options, speech::SpeechServicePtr service);
  ~Gateway();

  // Binds both listeners and starts serving.
  absl::Status Start();
  // "host:port" actually bound (useful with port 0).
  std::string listen_address() const;
  std::string admin_address() const;
  std::string vosk_address() const;
  // From now on /readyz fails and new requests and streams are refused with 503 / close 1013;
  // open ones continue.
  void StartDrain();
  // Requests and streams in progress.
  int active_requests() const;
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::gateway
