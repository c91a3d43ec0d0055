// Serves any SpeechService over the engine gRPC protocol (voxgate.v1.Engine + grpc.health.v1).
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "speech/speech_service.h"

namespace voxgate::rpc {

class EngineServer {
 public:
  // Listens on `address` ("unix:/path" or "host:port"; port 0 picks a free port). Each call it
  // serves gets an access line ("rpc") and sends back what the tiers below reported, with
  // `model_version` (an engine's; empty for a tier) added.
  static absl::StatusOr<std::unique_ptr<EngineServer>> Start(speech::SpeechServicePtr service,
                                                             const std::string& address, std::string model_version = "");
  ~EngineServer();

  // The address clients should dial (with the chosen port when it was 0).
  const std::string& address() const { return address_; }
  // Health as reported to grpc.health.v1 (both "" and "voxgate.v1.Engine").
  void SetServing(bool serving);
  // Stops taking calls; open streams get until `grace` to finish, then are cancelled.
  void Shutdown(std::chrono::milliseconds grace);

  class Service;
  class Health;

 private:
  EngineServer();
  std::unique_ptr<Service> service_;
  std::unique_ptr<Health> health_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace voxgate::rpc
