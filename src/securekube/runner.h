// Runs kubectl as a child that inherits stdin, stdout and stderr (nothing is buffered in
// between) and waits for it. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to secure-kube reach
// kubectl; the ones sent to the whole process group (by the terminal, or by a process of that
// group such as timeout(1)) already reach it, so they are not sent twice (the rule sudo follows:
// a signal from a process in secure-kube's own process group is taken to be such a one).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::securekube {

struct RunOptions {
  // Set in the child's environment (replacing the inherited value).
  std::vector<std::pair<std::string, std::string>> environment;
  // stdin from /dev/null instead of ours (kubectl diff before apply must not eat a pipe).
  bool stdin_from_null = false;
  // When >= 0, the child's stdout and stderr (the terminal a confirmation is asked on).
  int output_fd = -1;
};

struct ChildExit {
  int code = 0;    // the exit status, or 128 + signal
  int signal = 0;  // the signal that killed it, 0 when it exited
};

// Runs `program` (searched in PATH when it holds no '/') and waits for it. NotFound /
// PermissionDenied when it cannot be started.
absl::StatusOr<ChildExit> RunAndWait(const std::string& program, const std::vector<std::string>& args,
                                     const RunOptions& options = {});

// Ends this process by `signo`, as the child died (so a shell sees the same status): the
// default action restored and no core file written; _exit(128 + signo) if it somehow survives.
[[noreturn]] void ExitBySignal(int signo);

// Whether a regular executable file `name` is in PATH (how kubectl finds plugins).
bool ExecutableInPath(const std::string& name);

}  // namespace voxgate::securekube
