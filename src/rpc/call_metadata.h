// What travels beside the engine protocol's messages: the W3C trace context in the request
// metadata (`traceparent`, as OpenTelemetry's gRPC instrumentation sends it) and the callee's
// CallReport in the trailing metadata (voxgate-pool, voxgate-engine, voxgate-model-version,
// voxgate-queue-seconds, voxgate-engine-seconds), and voxgate-answered on every call it answers.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/callback_common.h>
#include <grpcpp/server_context.h>

#include "core/trace.h"
#include "speech/call_report.h"

namespace voxgate::rpc {

void SendTrace(grpc::ClientContext& context, const core::TraceContext& trace);
// This tier's span of the caller's trace (a new trace when the caller sent none).
core::TraceContext ReceiveTrace(const grpc::CallbackServerContext& context);

void SendReport(grpc::CallbackServerContext& context, const speech::CallReport::Values& report);
// Merges the callee's trailing report into `report` (nothing when null or none was sent).
void ReceiveReport(const grpc::ClientContext& context, speech::CallReport* report);

// Marks the status of a call the callee's service answered ("no healthy engine"), as opposed to
// one from the transport (the callee is down, crashed or cannot be reached).
void MarkAnswered(grpc::CallbackServerContext& context);
bool WasAnswered(const grpc::ClientContext& context);

}  // namespace voxgate::rpc
