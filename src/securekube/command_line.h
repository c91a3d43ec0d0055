// What `secure-kube ENV ARGS...` runs: the kubectl arguments with the environment's flags in
// the one place kubectl reads them as global flags, the command's verb, and whether it changes
// anything. A pure function of the environment and the arguments, so every rule is unit-tested.
//
// How kubectl reads its command line (cobra + pflag), which the rules follow:
//  * Global flags may come before or after the command; a flag that takes a value takes the
//    next argument even when it starts with '-' (so `-n --` makes "--" the namespace, not the end
//    of the flags). pflag turns '_' into '-' in flag names (`--as_group` is `--as-group`).
//  * `-nfoo`, `-n=foo` and `-in foo` (bool shorthands first) all set the namespace. In a
//    cluster of shorthands, a letter that takes a value takes the rest of the word (or the next
//    argument), and `X=` always ends the word: everything after it is X's value.
//  * `--` ends the flags: what follows belongs to the remote command (exec, run, debug).
//  * A plugin (`kubectl-foo` in PATH) is found only when its name comes first, before any flag,
//    so for plugins the environment's flags go after the plugin's name.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "securekube/environments.h"

namespace voxgate::securekube {

struct KubectlPlan {
  // kubectl's arguments (argv[1..]): the environment's flags, then the user's arguments.
  std::vector<std::string> args;
  // "get", "rollout status", "plugin foo", or "" when no command is given (kubectl's help).
  std::string verb;
  bool changing = false;
  // -A / --all-namespaces: allowed for reading only.
  bool all_namespaces = false;
  // For a plain `apply`: the same command as `kubectl diff` (the flags diff does not take left
  // out), shown before a protected environment is asked.
  std::optional<std::vector<std::string>> diff_args;
  // `apply -f -` (or /dev/stdin, /dev/fd/N, /proc/self/fd/N): the manifests come from stdin or
  // a pipe, so a diff would consume them.
  bool manifests_from_stdin = false;
  // apply's -f values, so the caller can also look at what they are on disk (a FIFO or a
  // character device would be consumed by a diff too).
  std::vector<std::string> manifest_files;
  // A kubectl plugin (`kubectl-NAME` in PATH): "NAME", as in allow_plugins.
  std::string plugin;
};

// Whether an -f value names stdin or an inherited pipe rather than a file: "-", "/dev/stdin",
// "/dev/fd/N", "/proc/self/fd/N", "/proc/thread-self/fd/N".
bool IsStdinFilename(const std::string& name);

// `args` as written to the audit log: the values of --from-literal (K=V keeps K), --token,
// --password and --docker-password are replaced by "***" (before "--" only).
std::vector<std::string> MaskedForLog(const std::vector<std::string>& args);

// Whether an executable of this name ("kubectl-foo") is in PATH.
using PluginExists = std::function<bool(const std::string& executable)>;

// The flags secure-kube puts right after `kubectl` (or after a plugin's name).
std::vector<std::string> EnvironmentFlags(const Environment& env);

// InvalidArgument: not a command kubectl would run as meant (an unknown command, a flag of the
// command before the command's name). PermissionDenied: it tries to leave the environment
// (another context, cluster, server, identity or namespace; -A or --raw with a changing
// command; a plugin the environment does not allow, when it is protected).
absl::StatusOr<KubectlPlan> PlanKubectl(const Environment& env, const std::vector<std::string>& args,
                                        const PluginExists& plugin_exists);

}  // namespace voxgate::securekube
