// A SpeechService in another process, reached over the engine gRPC protocol.
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "speech/speech_service.h"

namespace voxgate::rpc {

// An UNAVAILABLE from the transport: the engine could not be reached, crashed or went away.
// (An engine or tier may itself answer UNAVAILABLE, "no healthy engine": that is not one.)
bool IsUnreachable(const absl::Status& status);

class RemoteSpeechService : public speech::SpeechService {
 public:
  struct Options {
    std::chrono::milliseconds describe_timeout{2000};
    double max_buffered_seconds = 30;  // audio queued for sending per stream
  };
  RemoteSpeechService(std::string address, Options options);
  ~RemoteSpeechService() override;

  absl::StatusOr<speech::RecognitionStreamPtr> StartRecognition(const speech::RecognitionConfig& config,
                                                                speech::RecognitionObserverPtr observer) override;
  absl::StatusOr<speech::Capabilities> Describe() override;
  void Translate(speech::TranslationRequest request, speech::TranslationCallback done) override;
  void Synthesize(speech::SynthesisRequest request, speech::SynthesisObserverPtr observer) override;
  // Asks grpc.health.v1 once (blocking up to `timeout`); IsServing() reports the last answer.
  absl::Status CheckHealth(std::chrono::milliseconds timeout);
  bool IsServing() override;

  const std::string& address() const { return address_; }

  class Call;  // one streaming call (public so the stream handle can name it)

 private:
  const std::string address_;
  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<bool> serving_{false};
};

}  // namespace voxgate::rpc
