// API keys of the client-facing endpoint. A request presents `Authorization: Bearer <key>`; the
// key names the caller (for logs) and its plan (for routing). Keys are secrets: the config holds
// their SHA-256 or the name of an environment variable, and only hashes are kept in memory.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace voxgate::gateway {

// Who called: empty when the endpoint has no keys configured (anyone may call).
struct Caller {
  std::string name;
  std::string plan;
};

class ApiKeys {
 public:
  // Reads `env` keys from the environment now; an unset or empty variable is an error.
  static absl::StatusOr<ApiKeys> FromConfig(const std::vector<core::ApiKeyConfig>& keys);
  bool empty() const { return by_hash_.empty(); }
  // From the Authorization header's value. UNAUTHENTICATED for a missing, malformed or unknown
  // key (the message never repeats the key).
  absl::StatusOr<Caller> Authenticate(std::string_view authorization) const;

 private:
  std::map<std::string, Caller> by_hash_;  // lowercase hex SHA-256 of the key
};

// Lowercase hex SHA-256 (`voxctl`-free way to make one: `printf %s KEY | sha256sum`).
std::string Sha256Hex(std::string_view data);

}  // namespace voxgate::gateway
