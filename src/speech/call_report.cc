#include "speech/call_report.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace voxgate::speech {

void AddCallReportFields(nlohmann::json& fields, const CallReport::Values& report, double audio_seconds,
                         double tier_seconds) {
  if (!report.pool.empty()) fields["pool"] = report.pool;
  if (!report.engine.empty()) fields["engine"] = report.engine;
  if (!report.model_version.empty()) fields["model_version"] = report.model_version;
  nlohmann::json hops = {{"endpoint_s", tier_seconds}};
  if (!report.pool.empty()) hops["queue_s"] = report.queue_seconds;
  if (report.engine_seconds > 0) hops["engine_s"] = report.engine_seconds;
  fields["hops"] = std::move(hops);
  if (audio_seconds > 0 && report.engine_seconds > 0) fields["rtf"] = report.engine_seconds / audio_seconds;
}

namespace {
constexpr char kClientIdle[] = "type.voxgate.dev/client-idle";
}  // namespace

absl::Status ClientIdleError(double seconds, std::string_view what) {
  absl::Status s = absl::DeadlineExceededError(absl::StrCat("no ", absl::string_view(what.data(), what.size()), " for ", seconds, " s"));
  s.SetPayload(kClientIdle, absl::Cord());
  return s;
}

int HttpStatusFor(const absl::Status& s) {
  if (s.GetPayload(kClientIdle).has_value()) return 408;
  switch (s.code()) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kOutOfRange: return 413;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:  // a draining tier: go elsewhere
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kCancelled: return 499;
    default: return 500;
  }
}

std::string ErrorCode(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kResourceExhausted) return "over_capacity";
  if (s.code() == absl::StatusCode::kOutOfRange) return "too_large";
  return absl::AsciiStrToLower(absl::StatusCodeToString(s.code()));
}

std::string ShownMessage(const absl::Status& status) {
  return ShownText(std::string_view(status.message().data(), status.message().size()), kShownMessageBytes);
}

std::string ShownText(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not mid-character
  return absl::StrCat(std::string(text.substr(0, cut)), "… (", text.size(), " bytes)");
}

std::string OutcomeFor(int http_status) {
  if (http_status == 499) return "client_gone";
  if (http_status >= 500) return "server_error";
  if (http_status >= 400) return "client_error";
  return "ok";
}

}  // namespace voxgate::speech
