#include "gateway/api_keys.h"

#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate::gateway {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

absl::StatusOr<ApiKeys> ApiKeys::FromConfig(const std::vector<core::ApiKeyConfig>& keys) {
  ApiKeys out;
  for (const auto& k : keys) {
    std::string hash = absl::AsciiStrToLower(k.sha256);
    if (!k.env.empty()) {
      const char* value = std::getenv(k.env.c_str());
      if (value == nullptr || *value == '\0') {
        return absl::FailedPreconditionError(absl::StrCat("API key \"", k.name, "\": environment variable ", k.env, " is not set"));
      }
      hash = Sha256Hex(value);
    }
    if (!out.by_hash_.emplace(hash, Caller{k.name, k.plan}).second) {
      return absl::InvalidArgumentError(absl::StrCat("API key \"", k.name, "\" is the same key as another"));
    }
  }
  return out;
}

absl::StatusOr<Caller> ApiKeys::Authenticate(std::string_view authorization) const {
  if (authorization.empty()) return absl::UnauthenticatedError("an API key is required: send Authorization: Bearer <key>");
  constexpr absl::string_view kBearer = "bearer ";
  const absl::string_view header(authorization.data(), authorization.size());
  if (header.size() <= kBearer.size() || !absl::StartsWithIgnoreCase(header, kBearer)) {
    return absl::UnauthenticatedError("malformed Authorization header: expected Bearer <key>");
  }
  const absl::string_view key = absl::StripAsciiWhitespace(header.substr(kBearer.size()));
  auto it = by_hash_.find(Sha256Hex(std::string_view(key.data(), key.size())));
  if (it == by_hash_.end()) return absl::UnauthenticatedError("unknown API key");
  return it->second;
}

}  // namespace voxgate::gateway
