#include "alerts/alert.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "core/rfc3339.h"

namespace voxgate::alerts {

std::string Fingerprint(const LabelSet& labels) {
  // NUL separators: {"a": "b=c"} and {"a=b": "c"} must differ.
  std::string text;
  for (const auto& [k, v] : labels) {
    text.append(k).push_back('\0');
    text.append(v).push_back('\0');
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 16);
}

bool ParseRfc3339(const std::string& s, int64_t& out_ms) {
  const std::optional<int64_t> micros = core::ParseRfc3339(s);
  if (!micros) return false;
  if (s.starts_with("0001-")) {  // Go's zero time: "not set"
    out_ms = 0;
    return true;
  }
  if (s.compare(0, 4, "1970") < 0) return false;
  out_ms = std::max<int64_t>(*micros / 1000, 1);  // 0 means "not set"
  return true;
}

std::string FormatRfc3339(int64_t ms) { return ms <= 0 ? "" : core::FormatRfc3339(ms * 1000, 3); }

const char* DestinationTypeName(DestinationType type) {
  switch (type) {
    case DestinationType::kDiscord:
      return "discord";
    case DestinationType::kSlack:
      return "slack";
    case DestinationType::kWebhook:
      return "webhook";
  }
  return "webhook";
}

}  // namespace voxgate::alerts
