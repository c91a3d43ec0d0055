// The environments file: which kube context, namespace and kubeconfig an environment name stands
// for, and how it is protected. Parsing never throws and never crashes: every problem comes back
// as one InvalidArgument status naming the file, the line and the environment.
//
//   environments:
//     prod:
//       context: gke_acme_europe-west1_prod
//       namespace: voxgate
//       kubeconfig: ~/.kube/prod.yaml   # optional; relative paths are from this file's folder
//       protection: locked              # none | confirm | locked (default: confirm)
//       allow_plugins: [ctx]              # kubectl plugins allowed on a protected environment
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::securekube {

enum class Protection {
  kNone,     // runs like kubectl
  kConfirm,  // changes need the environment's name typed on the terminal (or --yes)
  kLocked,   // changes are refused, even with --yes
};

std::string_view ProtectionName(Protection protection);
std::optional<Protection> ParseProtection(std::string_view name);

struct Environment {
  std::string name;
  std::string context;
  std::string kube_namespace;
  std::string kubeconfig;  // empty: kubectl's own choice ($KUBECONFIG, ~/.kube/config)
  Protection protection = Protection::kConfirm;
  // Plugins (`kubectl-NAME`: NAME) that may run on a confirm environment (with confirmation). A
  // plugin is handed the environment's flags and KUBECONFIG but may ignore them, so on a
  // protected environment the others are refused.
  std::vector<std::string> allow_plugins;
};

struct Environments {
  std::string source;  // the file they came from, for messages
  std::vector<Environment> list;  // in file order

  const Environment* Find(std::string_view name) const;
};

// Names that are secure-kube's own commands, so no environment may take them.
bool IsReservedEnvironmentName(std::string_view name);

// `text` is the file's content; `source` names it in messages and its folder anchors relative
// kubeconfig paths; `home` expands a leading "~/".
absl::StatusOr<Environments> ParseEnvironments(const std::string& text, const std::string& source,
                                               const std::string& home);

// The home folder: $HOME when set, else the user database's entry (`passwd_dir`, null when
// there is none). FailedPrecondition when neither is known: secure-kube does not guess "/".
absl::StatusOr<std::string> ChooseHome(const char* home_env, const char* passwd_dir);

// Reads and parses a file (at most 1 MiB).
absl::StatusOr<Environments> LoadEnvironmentsFile(const std::string& path, const std::string& home);

}  // namespace voxgate::securekube
