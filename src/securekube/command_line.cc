#include "securekube/command_line.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "absl/status/status.h"

namespace voxgate::securekube {
namespace {

// What a global flag does to the environment.
enum class Role {
  kHarmless,  // verbosity, timeouts, caches: allowed anywhere
  kFixed,     // picks the cluster, the identity or how the server is trusted: always refused
  kNamespace, // allowed only with the environment's own namespace
};

struct GlobalFlag {
  std::string_view name;
  char shorthand;  // 0: none
  bool takes_value;
  Role role;
};

// kubectl 1.32's global flags (`kubectl options`), plus -h/--help.
constexpr std::array kGlobalFlags = {
    GlobalFlag{"as", 0, true, Role::kFixed},
    GlobalFlag{"as-group", 0, true, Role::kFixed},
    GlobalFlag{"as-uid", 0, true, Role::kFixed},
    GlobalFlag{"cache-dir", 0, true, Role::kHarmless},
    GlobalFlag{"certificate-authority", 0, true, Role::kFixed},
    GlobalFlag{"client-certificate", 0, true, Role::kFixed},
    GlobalFlag{"client-key", 0, true, Role::kFixed},
    GlobalFlag{"cluster", 0, true, Role::kFixed},
    GlobalFlag{"context", 0, true, Role::kFixed},
    GlobalFlag{"disable-compression", 0, false, Role::kHarmless},
    GlobalFlag{"insecure-skip-tls-verify", 0, false, Role::kFixed},
    GlobalFlag{"kubeconfig", 0, true, Role::kFixed},
    GlobalFlag{"log-flush-frequency", 0, true, Role::kHarmless},
    GlobalFlag{"match-server-version", 0, false, Role::kHarmless},
    GlobalFlag{"namespace", 'n', true, Role::kNamespace},
    GlobalFlag{"password", 0, true, Role::kFixed},
    GlobalFlag{"profile", 0, true, Role::kHarmless},
    GlobalFlag{"profile-output", 0, true, Role::kHarmless},
    GlobalFlag{"request-timeout", 0, true, Role::kHarmless},
    GlobalFlag{"server", 's', true, Role::kFixed},
    GlobalFlag{"tls-server-name", 0, true, Role::kFixed},
    GlobalFlag{"token", 0, true, Role::kFixed},
    GlobalFlag{"user", 0, true, Role::kFixed},
    GlobalFlag{"username", 0, true, Role::kFixed},
    GlobalFlag{"v", 'v', true, Role::kHarmless},
    GlobalFlag{"vmodule", 0, true, Role::kHarmless},
    GlobalFlag{"warnings-as-errors", 0, false, Role::kHarmless},
    GlobalFlag{"help", 'h', false, Role::kHarmless},
};

const GlobalFlag* FindLong(std::string_view name) {
  for (const GlobalFlag& flag : kGlobalFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

const GlobalFlag* FindShort(char c) {
  for (const GlobalFlag& flag : kGlobalFlags) {
    if (flag.shorthand == c) return &flag;
  }
  return nullptr;
}

// What a command's shorthand does with the rest of its word, from every `kubectl CMD --help` of
// kubectl 1.32: a letter that takes a value takes the rest of the word (`-lapp=x`, `-fv`) or,
// at its end, the next argument; a boolean lets the next letter go on.
enum class Arity { kBool, kValue, kUnknown };

Arity CommandShorthand(std::string_view verb, char c) {
  switch (c) {
    case 'A': case 'R': case 'i': case 't': case 'q':
      return Arity::kBool;  // -A -R -i/--stdin -t/--tty -q/--quiet, wherever they exist
    case 'c': case 'e': case 'k': case 'l': case 'L': case 'o': case 'P': case 'r': case 'u':
      return Arity::kValue;  // -c container(s), -e env, -k kustomize, -l selector, -L, -o, -P, -r, -u
    case 'f':
      return verb == "logs" ? Arity::kBool : Arity::kValue;  // logs --follow; elsewhere --filename
    case 'p':
      return verb == "logs" ? Arity::kBool : Arity::kValue;  // logs --previous; patch --patch, proxy --port
    case 'w':
      return verb == "proxy" ? Arity::kValue : Arity::kBool;  // proxy --www; get/events/rollout --watch
    default:
      return Arity::kUnknown;  // no command of kubectl has it: kubectl fails, or it is a plugin's
  }
}

// Long flags that never take a value, so a "--" right after them really ends the flags.
bool IsKnownBoolLong(std::string_view name) {
  if (const GlobalFlag* flag = FindLong(name)) return !flag->takes_value;
  return name == "stdin" || name == "tty" || name == "quiet" || name == "rm" || name == "attach" ||
         name == "all-namespaces" || name == "leave-stdin-open" || name == "privileged" || name == "recursive";
}

enum class VerbKind { kReadOnly, kChanging, kBySubcommand };

struct Verb {
  std::string_view name;
  VerbKind kind;
};

// kubectl 1.32's commands (`kubectl help`, and the hidden ones).
constexpr std::array kVerbs = {
    Verb{"get", VerbKind::kReadOnly},          Verb{"describe", VerbKind::kReadOnly},
    Verb{"logs", VerbKind::kReadOnly},         Verb{"top", VerbKind::kReadOnly},
    Verb{"explain", VerbKind::kReadOnly},      Verb{"api-resources", VerbKind::kReadOnly},
    Verb{"api-versions", VerbKind::kReadOnly}, Verb{"version", VerbKind::kReadOnly},
    Verb{"cluster-info", VerbKind::kReadOnly}, Verb{"diff", VerbKind::kReadOnly},
    Verb{"events", VerbKind::kReadOnly},       Verb{"wait", VerbKind::kReadOnly},
    Verb{"kustomize", VerbKind::kReadOnly},    Verb{"completion", VerbKind::kReadOnly},
    Verb{"options", VerbKind::kReadOnly},      Verb{"help", VerbKind::kReadOnly},
    Verb{"plugin", VerbKind::kReadOnly},       Verb{"__complete", VerbKind::kReadOnly},
    Verb{"__completeNoDesc", VerbKind::kReadOnly},
    Verb{"create", VerbKind::kChanging},       Verb{"expose", VerbKind::kChanging},
    Verb{"run", VerbKind::kChanging},          Verb{"set", VerbKind::kChanging},
    Verb{"edit", VerbKind::kChanging},         Verb{"delete", VerbKind::kChanging},
    Verb{"scale", VerbKind::kChanging},        Verb{"autoscale", VerbKind::kChanging},
    Verb{"certificate", VerbKind::kChanging},  Verb{"cordon", VerbKind::kChanging},
    Verb{"uncordon", VerbKind::kChanging},     Verb{"drain", VerbKind::kChanging},
    Verb{"taint", VerbKind::kChanging},        Verb{"attach", VerbKind::kChanging},
    Verb{"exec", VerbKind::kChanging},         Verb{"port-forward", VerbKind::kChanging},
    Verb{"proxy", VerbKind::kChanging},        Verb{"cp", VerbKind::kChanging},
    Verb{"debug", VerbKind::kChanging},        Verb{"patch", VerbKind::kChanging},
    Verb{"replace", VerbKind::kChanging},      Verb{"label", VerbKind::kChanging},
    Verb{"annotate", VerbKind::kChanging},     Verb{"alpha", VerbKind::kChanging},
    Verb{"rollout", VerbKind::kBySubcommand},  Verb{"auth", VerbKind::kBySubcommand},
    Verb{"config", VerbKind::kBySubcommand},   Verb{"apply", VerbKind::kBySubcommand},
};

const Verb* FindVerb(std::string_view name) {
  for (const Verb& verb : kVerbs) {
    if (verb.name == name) return &verb;
  }
  return nullptr;
}

bool IsReadOnlySubcommand(std::string_view verb, std::string_view sub) {
  if (verb == "rollout") return sub == "status" || sub == "history";
  if (verb == "auth") return sub == "can-i" || sub == "whoami";
  if (verb == "config") {
    return sub == "view" || sub == "get-contexts" || sub == "get-clusters" || sub == "get-users" ||
           sub == "current-context";
  }
  if (verb == "apply") return sub == "view-last-applied";
  return false;
}

std::string NormalizeName(std::string_view name) {
  std::string normalized(name);
  std::replace(normalized.begin(), normalized.end(), '_', '-');
  return normalized;
}

// Go's strconv.ParseBool, false for anything it would reject (kubectl then fails on its own).
bool BoolValue(std::string_view value) {
  return value == "1" || value == "t" || value == "T" || value == "true" || value == "TRUE" || value == "True";
}

std::string Shown(const std::string& arg) {
  std::string shown;
  for (char c : arg.substr(0, 80)) shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return "'" + shown + (arg.size() > 80 ? "...'" : "'");
}

bool IsFlag(const std::string& arg) { return arg.size() > 1 && arg[0] == '-'; }

// One pass over the arguments before "--", as pflag reads them.
class Scanner {
 public:
  Scanner(const Environment& env, const std::vector<std::string>& args) : env_(env), args_(args) {}

  absl::Status Scan() {
    for (size_t i = 0; i < args_.size(); ++i) {
      const std::string& arg = args_[i];
      if (arg == "--") {
        // After a flag that may take a value, "--" may be that value and flags go on.
        if (!previous_may_take_value_) break;
        previous_may_take_value_ = false;
        continue;
      }
      absl::Status status = absl::OkStatus();
      if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
        status = Long(i);
      } else if (IsFlag(arg)) {
        status = Short(i);
      } else {
        Positional(i);
        previous_may_take_value_ = false;
      }
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  std::optional<size_t> verb_index() const { return verb_index_; }
  std::optional<size_t> subcommand_index() const { return subcommand_index_; }
  bool all_namespaces() const { return all_namespaces_; }
  bool flag_before_verb() const { return flag_before_verb_; }
  bool raw() const { return raw_; }

 private:
  absl::Status Long(size_t& i) {
    const std::string& arg = args_[i];
    const std::string body = arg.substr(2);
    const size_t eq = body.find('=');
    const std::string name = NormalizeName(body.substr(0, eq));
    const bool inline_value = eq != std::string::npos;
    previous_may_take_value_ = false;
    if (!verb_index_) flag_before_verb_ = true;
    if (name == "all-namespaces") {
      if (!verb_index_) return BeforeVerb(arg);
      if (!inline_value || BoolValue(body.substr(eq + 1))) all_namespaces_ = true;
      after_verb_flag_ = true;
      return absl::OkStatus();
    }
    const GlobalFlag* flag = FindLong(name);
    if (flag == nullptr) {
      if (!verb_index_) return BeforeVerb(arg);
      after_verb_flag_ = true;
      if (name == "raw") raw_ = true;
      previous_may_take_value_ = !inline_value && !IsKnownBoolLong(name);
      return absl::OkStatus();
    }
    std::optional<std::string> value;
    if (inline_value) {
      value = body.substr(eq + 1);
    } else if (flag->takes_value && i + 1 < args_.size()) {
      value = args_[++i];
    }
    return Check(*flag, arg, value);
  }

  absl::Status Short(size_t& i) {
    const std::string& arg = args_[i];
    previous_may_take_value_ = false;
    if (!verb_index_) flag_before_verb_ = true;
    const std::string_view verb = verb_index_ ? std::string_view(args_[*verb_index_]) : std::string_view();
    // A letter before whose arity is unknown: it may have taken the rest of the word as its
    // value, or be a boolean. Both readings are checked: the later letters are still looked at,
    // and none of them may take the next argument out of sight (it is scanned as well).
    bool uncertain = false;
    for (size_t j = 1; j < arg.size(); ++j) {
      const char c = arg[j];
      // pflag: `-X=...` gives X the rest of the word, whatever X is.
      const bool equals = j + 1 < arg.size() && arg[j + 1] == '=';
      if (c == 'A') {
        if (!verb_index_) return BeforeVerb(arg);
        after_verb_flag_ = true;
        if (equals) {
          if (BoolValue(arg.substr(j + 2))) all_namespaces_ = true;
          return absl::OkStatus();
        }
        all_namespaces_ = true;
        continue;
      }
      const GlobalFlag* flag = FindShort(c);
      if (flag != nullptr && flag->takes_value) {
        std::optional<std::string> value;
        if (j + 1 < arg.size()) {
          value = arg.substr(equals ? j + 2 : j + 1);
        } else if (i + 1 < args_.size()) {
          value = args_[i + 1];
          if (uncertain) {
            previous_may_take_value_ = true;  // the next word is scanned: "--" there may be a value
          } else {
            ++i;
          }
        }
        return Check(*flag, arg, value);
      }
      if (flag != nullptr) {  // -h
        if (equals) return absl::OkStatus();
        continue;
      }
      if (!verb_index_) return BeforeVerb(arg);
      after_verb_flag_ = true;
      if (equals) return absl::OkStatus();  // the rest is this letter's value
      switch (CommandShorthand(verb, c)) {
        case Arity::kValue:
          // Its value (the rest of the word, or the next argument) is the command's: the next
          // argument is still scanned as if it were one of its own, so nothing hides in it.
          previous_may_take_value_ = j + 1 == arg.size();
          return absl::OkStatus();
        case Arity::kBool:
          break;
        case Arity::kUnknown:
          uncertain = true;
          previous_may_take_value_ = j + 1 == arg.size();
          break;
      }
    }
    return absl::OkStatus();
  }

  void Positional(size_t i) {
    if (!verb_index_) {
      verb_index_ = i;
    } else if (!subcommand_index_ && !subcommand_unknown_) {
      // Only a word right after the command (global flags aside) is sure to be its subcommand:
      // cobra lets a command's own flags take the next word as their value.
      if (after_verb_flag_) {
        subcommand_unknown_ = true;
      } else {
        subcommand_index_ = i;
      }
    }
  }

  absl::Status Check(const GlobalFlag& flag, const std::string& arg, const std::optional<std::string>& value) {
    switch (flag.role) {
      case Role::kHarmless:
        return absl::OkStatus();
      case Role::kFixed:
        return absl::PermissionDeniedError(
            Shown(arg) + ": the environment '" + env_.name + "' fixes the cluster and identity (context '" +
            env_.context + "'); secure-kube refuses --" + std::string(flag.name) +
            ". Define another environment to use another context, cluster, server or user.");
      case Role::kNamespace:
        if (!value) {
          return absl::PermissionDeniedError(Shown(arg) + " needs a value (the environment's namespace is '" +
                                             env_.kube_namespace + "')");
        }
        if (*value != env_.kube_namespace) {
          return absl::PermissionDeniedError(
              Shown(arg) + " would use namespace " + Shown(*value) + ", but the environment '" + env_.name +
              "' is namespace '" + env_.kube_namespace +
              "'. Define another environment for another namespace. (In a cluster of shorthands like -xn, a "
              "letter secure-kube does not know is read both ways: give each flag's value as its own argument.)");
        }
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  static absl::Status BeforeVerb(const std::string& arg) {
    return absl::InvalidArgumentError(Shown(arg) +
                                      " comes before the kubectl command, where only kubectl's global flags may "
                                      "stand; put it after the command (e.g. `get pods " +
                                      arg + "`)");
  }

  const Environment& env_;
  const std::vector<std::string>& args_;
  std::optional<size_t> verb_index_;
  std::optional<size_t> subcommand_index_;
  bool subcommand_unknown_ = false;
  bool after_verb_flag_ = false;  // a flag of the command between it and its subcommand
  bool all_namespaces_ = false;
  bool flag_before_verb_ = false;
  bool previous_may_take_value_ = false;
  bool raw_ = false;  // --raw URI: a request to any path, namespace or not
};

// The plain `apply`'s arguments as `kubectl diff` takes them: global flags and the flags the two
// share; apply's own flags (and their values: apply takes no other words) are left out.
// The -f values go to `filenames`.
std::vector<std::string> DiffArguments(const std::vector<std::string>& args, size_t verb_index,
                                       std::vector<std::string>& filenames) {
  auto shared_value = [](const std::string& name) {
    return name == "filename" || name == "kustomize" || name == "selector" || name == "prune-allowlist" ||
           name == "field-manager";
  };
  auto shared_bool = [](const std::string& name) {
    return name == "recursive" || name == "prune" || name == "server-side" || name == "force-conflicts" ||
           name == "show-managed-fields";
  };
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(verb_index));
  out.push_back("diff");
  for (size_t i = verb_index + 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    const bool has_next = i + 1 < args.size();
    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      const std::string body = arg.substr(2);
      const size_t eq = body.find('=');
      const std::string name = NormalizeName(body.substr(0, eq));
      const GlobalFlag* global = FindLong(name);
      const bool takes_value = shared_value(name) || (global != nullptr && global->takes_value);
      if (takes_value || shared_bool(name) || global != nullptr) {
        out.push_back(arg);
        const bool separate = takes_value && eq == std::string::npos && has_next;
        if (separate) out.push_back(args[++i]);
        if (name == "filename" && (separate || eq != std::string::npos)) {
          filenames.push_back(separate ? out.back() : body.substr(eq + 1));
        }
      } else if (eq == std::string::npos && has_next && !IsFlag(args[i + 1])) {
        ++i;  // apply's own flag's value
      }
      continue;
    }
    if (IsFlag(arg)) {
      // Copied when every letter is one diff knows (-R, -h, then at most one of -f -k -l -n -v).
      bool copy = true;
      bool value_next = false;
      for (size_t j = 1; j < arg.size(); ++j) {
        const char c = arg[j];
        if (c == 'R' || c == 'h') continue;
        if (c == 'f' || c == 'k' || c == 'l' || c == 'n' || c == 'v') {
          value_next = j + 1 == arg.size();
          if (c == 'f') {
            if (!value_next) {
              filenames.push_back(arg.substr(arg[j + 1] == '=' ? j + 2 : j + 1));
            } else if (has_next) {
              filenames.push_back(args[i + 1]);
            }
          }
          break;
        }
        copy = false;
        break;
      }
      if (copy) {
        out.push_back(arg);
        if (value_next && has_next) out.push_back(args[++i]);
      } else if (has_next && !IsFlag(args[i + 1])) {
        ++i;
      }
      continue;
    }
    out.push_back(arg);
  }
  return out;
}

std::string PluginExecutable(const std::vector<std::string>& pieces, size_t count) {
  std::string name = "kubectl";
  for (size_t i = 0; i < count; ++i) {
    std::string piece = pieces[i];
    std::replace(piece.begin(), piece.end(), '-', '_');
    name += "-" + piece;
  }
  return name;
}

}  // namespace

std::vector<std::string> EnvironmentFlags(const Environment& env) {
  std::vector<std::string> flags;
  if (!env.kubeconfig.empty()) flags.push_back("--kubeconfig=" + env.kubeconfig);
  flags.push_back("--context=" + env.context);
  flags.push_back("--namespace=" + env.kube_namespace);
  return flags;
}

absl::StatusOr<KubectlPlan> PlanKubectl(const Environment& env, const std::vector<std::string>& args,
                                        const PluginExists& plugin_exists) {
  Scanner scanner(env, args);
  if (absl::Status status = scanner.Scan(); !status.ok()) return status;

  KubectlPlan plan;
  plan.all_namespaces = scanner.all_namespaces();
  const std::vector<std::string> env_flags = EnvironmentFlags(env);
  const std::optional<size_t> verb_index = scanner.verb_index();
  const Verb* verb = verb_index ? FindVerb(args[*verb_index]) : nullptr;

  if (verb_index && verb == nullptr) {
    // Not a kubectl command: a plugin, found as kubectl finds it (the longest run of leading
    // words naming an executable), or nothing kubectl would run.
    const std::string& name = args[*verb_index];
    if (scanner.flag_before_verb()) {
      return absl::InvalidArgumentError("'" + name +
                                        "' is not a kubectl command, and kubectl finds a plugin only when its "
                                        "name comes first, before any flag");
    }
    size_t words = 0;
    while (words < args.size() && !IsFlag(args[words]) && args[words] != "--") ++words;
    size_t found = 0;
    for (size_t count = words; count > 0 && found == 0; --count) {
      if (plugin_exists(PluginExecutable(args, count))) found = count;
    }
    if (found == 0) {
      return absl::InvalidArgumentError("unknown kubectl command '" + name + "' (not a kubectl command, and no " +
                                        PluginExecutable(args, 1) + " plugin in PATH)");
    }
    plan.args.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(found));
    plan.args.insert(plan.args.end(), env_flags.begin(), env_flags.end());
    plan.args.insert(plan.args.end(), args.begin() + static_cast<std::ptrdiff_t>(found), args.end());
    plan.plugin = PluginExecutable(args, found).substr(8);
    plan.verb = "plugin " + plan.plugin;
    plan.changing = true;  // nothing is known about what a plugin does
    // A plugin gets the environment's flags (and KUBECONFIG), but nothing makes it use them: on
    // a protected environment only the plugins the environment names may run.
    if (env.protection != Protection::kNone &&
        std::find(env.allow_plugins.begin(), env.allow_plugins.end(), plan.plugin) == env.allow_plugins.end()) {
      return absl::PermissionDeniedError("plugin '" + plan.plugin + "' is not allowed in the " +
                                         std::string(ProtectionName(env.protection)) + " environment '" + env.name +
                                         "': a plugin may ignore --context and --namespace. List it in the "
                                         "environment's allow_plugins to run it there.");
    }
  } else {
    plan.args = env_flags;
    plan.args.insert(plan.args.end(), args.begin(), args.end());
    if (verb != nullptr) {
      plan.verb = std::string(verb->name);
      const std::optional<size_t> sub = scanner.subcommand_index();
      switch (verb->kind) {
        case VerbKind::kReadOnly:
          plan.changing = false;
          break;
        case VerbKind::kChanging:
          plan.changing = true;
          break;
        case VerbKind::kBySubcommand:
          if (sub) plan.verb += " " + args[*sub];
          plan.changing = !(sub && IsReadOnlySubcommand(verb->name, args[*sub]));
          break;
      }
      // cobra finds apply's subcommands (edit-, set-, view-last-applied) past its flags too.
      bool apply_subcommand = sub.has_value();
      for (size_t i = *verb_index + 1; i < args.size() && args[i] != "--"; ++i) {
        if (args[i].size() > 13 && args[i].substr(args[i].size() - 13) == "-last-applied") apply_subcommand = true;
      }
      if (verb->name == "apply" && !apply_subcommand) {
        std::vector<std::string> diff = env_flags;
        const std::vector<std::string> rest = DiffArguments(args, *verb_index, plan.manifest_files);
        diff.insert(diff.end(), rest.begin(), rest.end());
        plan.manifests_from_stdin =
            std::any_of(plan.manifest_files.begin(), plan.manifest_files.end(), IsStdinFilename);
        plan.diff_args = std::move(diff);
      }
    }
  }
  if (plan.changing && plan.all_namespaces) {
    return absl::PermissionDeniedError("-A/--all-namespaces with '" + plan.verb +
                                       "' would change things outside the environment's namespace '" +
                                       env.kube_namespace + "'; secure-kube allows -A only for reading");
  }
  if (plan.changing && plan.plugin.empty() && scanner.raw()) {
    // --raw sends the request to the path given, whatever --namespace says.
    return absl::PermissionDeniedError("--raw with '" + plan.verb + "' would send a change to any API path, " +
                                       "outside the environment's namespace '" + env.kube_namespace +
                                       "'; secure-kube allows --raw only for reading (get --raw)");
  }
  return plan;
}

bool IsStdinFilename(const std::string& name) {
  if (name == "-" || name == "/dev/stdin") return true;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> MaskedForLog(const std::vector<std::string>& args) {
  constexpr std::string_view kMask = "***";
  auto secret = [](const std::string& name) {
    return name == "token" || name == "password" || name == "docker-password" || name == "from-literal" || name == "env";
  };
  // KEY=VALUE (--from-literal, --env, the words of `set env`) keeps KEY: it says which key was
  // set, not to what.
  auto masked_assignment = [&](const std::string& value) {
    const size_t eq = value.find('=');
    return eq == std::string::npos ? std::string(kMask) : value.substr(0, eq + 1) + std::string(kMask);
  };
  auto masked_value = [&](const std::string& name, const std::string& value) {
    return name == "from-literal" || name == "env" ? masked_assignment(value) : std::string(kMask);
  };
  bool set_env = false;
  std::vector<std::string> out = args;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg == "env" && i > 0 && args[i - 1] == "set") set_env = true;
    if (set_env && !IsFlag(arg) && arg.find('=') != std::string::npos) {
      out[i] = masked_assignment(arg);
      continue;
    }
    if (arg.size() <= 2 || arg[0] != '-' || arg[1] != '-') continue;
    const std::string body = arg.substr(2);
    const size_t eq = body.find('=');
    const std::string name = NormalizeName(body.substr(0, eq));
    if (!secret(name)) continue;
    if (eq != std::string::npos) {
      out[i] = "--" + body.substr(0, eq + 1) + masked_value(name, body.substr(eq + 1));
    } else if (i + 1 < out.size()) {
      ++i;
      out[i] = masked_value(name, args[i]);
    }
  }
  return out;
}

}  // namespace voxgate::securekube
