// The relay's HTTP client: a POST per notification over Beast. https verifies the server's
// certificate against the system's trust store and its host name, and sends SNI; http is
// allowed for receivers on a private network and for tests. Every step (resolve, connect, TLS
// handshake, write, read) has the request's timeout; the answer's body is capped at 64 KiB.
// Errors never name the URL (it holds the webhook's secret).
#pragma once

#include <memory>

#include "alerts/dispatcher.h"

namespace voxgate::alerts {

class HttpTransport : public Transport {
 public:
  // Runs `threads` I/O threads of its own.
  explicit HttpTransport(int threads = 1);
  ~HttpTransport() override;
  void Send(HttpRequest request, std::function<void(HttpResponse)> done) override;
  // Stops the I/O threads. Requests still on the wire get no answer (their notifications stay
  // in flight in the outbox and are sent again at the next start): wait for them first.
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::alerts
