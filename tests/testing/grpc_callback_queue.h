// gRPC 1.51 serves the callback API from one process-wide completion queue, created when the first
// channel or server needs it and torn down when the last one goes away; that teardown races with
// itself (ASan: double free in grpc_cq_internal_unref). A server process holds its channels for
// life, so only tests, which make and drop them per case, hit it. They call
// HoldGrpcCallbackQueue() first: a channel that has made one callback call is kept for the whole
// binary, so the queue is torn down once, at exit.
#pragma once

#include <memory>

#include "rpc/remote_speech_service.h"
#include "testing/fake_speech_service.h"

namespace voxgate::testing {

inline void HoldGrpcCallbackQueue() {
  // A static pointer: held (and reachable, so not a leak) until the process exits.
  static rpc::RemoteSpeechService* const remote =
      new rpc::RemoteSpeechService("unix:/nonexistent/voxgate-keepalive.sock", {});
  static const bool held = [] {
    auto observer = std::make_shared<RecordingObserver>();
    auto stream = remote->StartRecognition({}, observer);
    if (stream.ok()) (*stream)->Finish();
    observer->WaitDone();
    return true;
  }();
  (void)held;
}

}  // namespace voxgate::testing
