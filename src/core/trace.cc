#include "core/trace.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <random>

namespace voxgate::core {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string RandomHex(int digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    out += buf;
  }
  out.resize(digits);
  if (AllZero(out)) out.back() = '1';  // all-zero ids are invalid
  return out;
}

}  // namespace

std::string TraceContext::Traceparent() const {
  return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00");
}

TraceContext TraceContext::ChildSpan() const {
  if (!valid()) return NewTrace();
  return {trace_id, RandomHex(16), sampled};
}

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags; later versions may append "-" fields.
  if (header.size() < 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  const std::string_view version = header.substr(0, 2), trace = header.substr(3, 32), span = header.substr(36, 16),
                         flags = header.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace) || !IsLowerHex(span) || !IsLowerHex(flags)) {
    return std::nullopt;
  }
  if (AllZero(trace) || AllZero(span)) return std::nullopt;
  if (version == "00" && header.size() != 55) return std::nullopt;
  if (header.size() > 55 && header[55] != '-') return std::nullopt;
  int flag_bits = 0;
  std::from_chars(flags.data(), flags.data() + 2, flag_bits, 16);
  return TraceContext{std::string(trace), std::string(span), (flag_bits & 1) != 0};
}

std::optional<TraceContext> ParseCloudTraceContext(std::string_view header) {
  const size_t slash = header.find('/');
  const std::string_view trace = header.substr(0, slash);
  if (trace.size() != 32) return std::nullopt;
  std::string lower(trace);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  if (!IsLowerHex(lower) || AllZero(lower)) return std::nullopt;
  TraceContext t{lower, RandomHex(16), true};
  if (slash != std::string_view::npos) {
    std::string_view rest = header.substr(slash + 1);
    uint64_t span = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), span);
    if (ec == std::errc() && span != 0) {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(span));
      t.span_id = buf;
    }
    const std::string_view options(end, static_cast<size_t>(rest.data() + rest.size() - end));
    if (options == ";o=0") t.sampled = false;
  }
  return t;
}

TraceContext NewTrace() { return {RandomHex(32), RandomHex(16), true}; }

TraceContext ContinueTrace(std::string_view traceparent, std::string_view cloud_trace_context) {
  if (auto t = ParseTraceparent(traceparent)) return t->ChildSpan();
  if (auto t = ParseCloudTraceContext(cloud_trace_context)) return t->ChildSpan();
  return NewTrace();
}

}  // namespace voxgate::core
