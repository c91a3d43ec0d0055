#include "rpc/call_metadata.h"

#include <charconv>
#include <cstdio>
#include <string>

namespace voxgate::rpc {
namespace {

constexpr char kTraceparent[] = "traceparent";
constexpr char kPool[] = "voxgate-pool";
constexpr char kEngine[] = "voxgate-engine";
constexpr char kModelVersion[] = "voxgate-model-version";
constexpr char kQueueSeconds[] = "voxgate-queue-seconds";
constexpr char kEngineSeconds[] = "voxgate-engine-seconds";
constexpr char kAnswered[] = "voxgate-answered";

std::string Value(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

double Seconds(const std::string& text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() && v >= 0 ? v : 0;
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", s);
  return buf;
}

// Metadata values must be printable ASCII; an address or version never needs more.
bool Printable(const std::string& s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

void SendTrace(grpc::ClientContext& context, const core::TraceContext& trace) {
  if (trace.valid()) context.AddMetadata(kTraceparent, trace.Traceparent());
}

core::TraceContext ReceiveTrace(const grpc::CallbackServerContext& context) {
  return core::ContinueTrace(Value(context.client_metadata(), kTraceparent));
}

void SendReport(grpc::CallbackServerContext& context, const speech::CallReport::Values& report) {
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty() && Printable(value)) context.AddTrailingMetadata(key, value);
  };
  add(kPool, report.pool);
  add(kEngine, report.engine);
  add(kModelVersion, report.model_version);
  if (report.queue_seconds > 0) add(kQueueSeconds, FormatSeconds(report.queue_seconds));
  if (report.engine_seconds > 0) add(kEngineSeconds, FormatSeconds(report.engine_seconds));
}

void ReceiveReport(const grpc::ClientContext& context, speech::CallReport* report) {
  if (report == nullptr) return;
  const auto& trailers = context.GetServerTrailingMetadata();
  speech::CallReport::Values v;
  v.pool = Value(trailers, kPool);
  v.engine = Value(trailers, kEngine);
  v.model_version = Value(trailers, kModelVersion);
  v.queue_seconds = Seconds(Value(trailers, kQueueSeconds));
  v.engine_seconds = Seconds(Value(trailers, kEngineSeconds));
  report->Merge(v);
}

void MarkAnswered(grpc::CallbackServerContext& context) { context.AddTrailingMetadata(kAnswered, "1"); }

bool WasAnswered(const grpc::ClientContext& context) { return Value(context.GetServerTrailingMetadata(), kAnswered) == "1"; }

}  // namespace voxgate::rpc
