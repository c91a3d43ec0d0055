// Fuzzes secure-kube's two parsers of what a user types: the environments file (YAML, errors
// only as statuses) and the kubectl argument classifier (the input split at NUL bytes into
// arguments). Invariants: a parsed file has unique, complete environments; a plan is the user's
// arguments unchanged with the environment's flags inserted once, before any "--"; a plugin only
// on an environment that allows it; the audit log's masked arguments are as many, the same after "--".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "securekube/command_line.h"
#include "securekube/environments.h"

namespace sk = voxgate::securekube;

namespace {

void CheckPlan(const sk::Environment& env, const std::vector<std::string>& args) {
  const auto plan = sk::PlanKubectl(env, args, [](const std::string& name) { return name == "kubectl-foo"; });
  if (!plan.ok()) return;
  const std::vector<std::string> flags = sk::EnvironmentFlags(env);
  if (plan->args.size() != args.size() + flags.size()) __builtin_trap();
  // Find where the flags were inserted; everything else must be the user's arguments in order.
  size_t at = 0;
  while (at + flags.size() <= plan->args.size() &&
         !std::equal(flags.begin(), flags.end(), plan->args.begin() + static_cast<std::ptrdiff_t>(at))) {
    ++at;
  }
  if (at + flags.size() > plan->args.size()) __builtin_trap();
  for (size_t i = 0; i < at; ++i) {
    if (plan->args[i] != args[i] || args[i] == "--") __builtin_trap();
  }
  for (size_t i = at; i < args.size(); ++i) {
    if (plan->args[i + flags.size()] != args[i]) __builtin_trap();
  }
  if (plan->changing && plan->all_namespaces) __builtin_trap();
  if (plan->diff_args && plan->verb != "apply") __builtin_trap();
  if (!plan->plugin.empty() && env.protection != sk::Protection::kNone &&
      std::find(env.allow_plugins.begin(), env.allow_plugins.end(), plan->plugin) == env.allow_plugins.end()) {
    __builtin_trap();
  }
}

void CheckMasked(const std::vector<std::string>& args) {
  const std::vector<std::string> masked = sk::MaskedForLog(args);
  if (masked.size() != args.size()) __builtin_trap();
  const auto dash_dash = std::find(args.begin(), args.end(), std::string("--"));
  for (size_t i = static_cast<size_t>(dash_dash - args.begin()); i < args.size(); ++i) {
    if (masked[i] != args[i]) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  const std::string input(reinterpret_cast<const char*>(data), size);

  const auto envs = sk::ParseEnvironments(input, "fuzz.yaml", "/home/fuzz");
  if (envs.ok()) {
    std::set<std::string> names;
    for (const sk::Environment& env : envs->list) {
      if (!names.insert(env.name).second || env.context.empty() || env.kube_namespace.empty()) __builtin_trap();
      if (sk::IsReservedEnvironmentName(env.name)) __builtin_trap();
      CheckPlan(env, {"get", "pods"});
    }
  }

  std::vector<std::string> args;
  std::string current;
  for (char c : input) {
    if (c == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  args.push_back(current);
  sk::Environment env;
  env.name = "prod";
  env.context = "ctx";
  env.kube_namespace = "app";
  env.kubeconfig = (size % 2) ? "/k" : "";
  env.allow_plugins = {"foo"};
  CheckPlan(env, args);
  env.allow_plugins.clear();
  CheckPlan(env, args);
  CheckMasked(args);
  return 0;
}
