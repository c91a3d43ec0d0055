// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a request belongs to and the
// span of the current tier. Each tier takes the caller's `traceparent` (or starts a trace), logs
// under a span of its own, and passes its span on as the parent of the next tier's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace voxgate::core {

struct TraceContext {
  std::string trace_id;  // 32 lowercase hex digits, not all zero; empty: no trace
  std::string span_id;   // 16 lowercase hex digits: this tier's span
  bool sampled = false;

  bool valid() const { return !trace_id.empty(); }
  // The `traceparent` header that makes this span the parent of the next tier's.
  std::string Traceparent() const;
  // The same trace under a new span of this tier.
  TraceContext ChildSpan() const;
};

// A traceparent header value; nullopt when malformed (version ff, wrong lengths, all-zero ids).
std::optional<TraceContext> ParseTraceparent(std::string_view header);
// Google's X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1 (the span id is decimal).
std::optional<TraceContext> ParseCloudTraceContext(std::string_view header);
// A new trace (random ids), sampled.
TraceContext NewTrace();
// A child span of the caller's trace from these headers (traceparent first, then
// X-Cloud-Trace-Context), or a new trace when neither parses.
TraceContext ContinueTrace(std::string_view traceparent, std::string_view cloud_trace_context = {});

}  // namespace voxgate::core
