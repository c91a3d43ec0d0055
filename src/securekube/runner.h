// Runs kubectl as a child that inherits stdin, stdout and stderr (nothing is buffered in
// between) and waits for it. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to secure-kube reach
// kubectl; the ones the terminal sends to the whole foreground process group already reach it,
// so they are not sent twice (as sudo does).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::securekube {

// kubectl's exit status, or 128 + N when a signal N killed it. NotFound / PermissionDenied
// when `program` (searched in PATH when it holds no '/') cannot be started.
absl::StatusOr<int> RunAndWait(const std::string& program, const std::vector<std::string>& args);

// Whether an executable `name` is in PATH (how kubectl finds plugins).
bool ExecutableInPath(const std::string& name);

}  // namespace voxgate::securekube
