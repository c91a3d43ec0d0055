// secure-kube's command line: `secure-kube [options] ENV KUBECTL-ARGS...`, `envs`, `prompt`.
// The decisions (which flags, which verbs, what protection asks for) live in command_line,
// environments and confirm; this ties them together with the audit log and the child process.
#pragma once

#include <string>
#include <vector>

namespace voxgate::securekube {

// secure-kube's own exit codes. Anything else is kubectl's; when kubectl dies of a signal, secure-kube
// ends by the same signal (128 + N in the audit log).
inline constexpr int kExitUsage = 64;          // bad options, unknown environment or command
inline constexpr int kExitAuditLog = 74;       // the audit log cannot be written: changes refused
inline constexpr int kExitNotConfirmed = 75;   // the name typed was not the environment's
inline constexpr int kExitNoTerminal = 76;     // confirmation needed, no terminal, no --yes
inline constexpr int kExitRefused = 77;        // leaves the environment, or a locked environment
inline constexpr int kExitConfig = 78;         // the environments file is missing or invalid
inline constexpr int kExitNoKubectl = 127;     // kubectl cannot be found
inline constexpr int kExitCannotRunKubectl = 126;

// argv[0] is the program name.
int SecureKubeMain(const std::vector<std::string>& argv);

}  // namespace voxgate::securekube
