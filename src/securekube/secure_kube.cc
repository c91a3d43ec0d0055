#include "securekube/secure_kube.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "securekube/audit_log.h"
#include "securekube/command_line.h"
#include "securekube/confirm.h"
#include "securekube/environments.h"
#include "securekube/prompt.h"
#include "securekube/runner.h"

#ifndef VOXGATE_VERSION
#define VOXGATE_VERSION "dev"
#endif

namespace voxgate::securekube {
namespace {

constexpr const char* kUsage = R"(secure-kube: kubectl, pinned to named environments, with guard rails.

Usage:
  secure-kube [options] ENV KUBECTL-ARGS...   run kubectl in environment ENV
  secure-kube [options] envs                  list the environments and their protection
  secure-kube [options] prompt [--shell S] [ENV]
                                              ENV's name in colour for a shell prompt
                                              (ENV defaults to $SECURE_KUBE_ENV; S: bash,
                                              bash-escapes, zsh, plain, none)
  secure-kube --help | --version

Runs `kubectl [--kubeconfig=K] --context=C --namespace=N KUBECTL-ARGS...`. Flags that pick
another context, cluster, server, user or namespace are refused (cluster-scoped objects are in
no namespace: only RBAC limits them). On a `confirm` environment a
command that changes anything asks for the environment's name on the terminal; `apply` shows
`kubectl diff` first. A `locked` environment refuses changes. Every command is audited.

Options (before ENV; everything after ENV is kubectl's):
  --environments FILE   environments file ($SECURE_KUBE_ENVIRONMENTS,
                        default ~/.config/secure-kube/environments.yaml)
  --audit-log FILE      audit log ($SECURE_KUBE_AUDIT_LOG,
                        default ~/.local/state/secure-kube/audit.jsonl)
  --kubectl PATH        the kubectl to run ($SECURE_KUBE_KUBECTL, default: kubectl in PATH)
  -y, --yes             confirm changes on `confirm` environments without asking
  -h, --help            this help

Exit codes: kubectl's own (when a signal killed kubectl, secure-kube ends by the same signal);
64 usage; 74 audit log not writable (changes refused); 75 not confirmed; 76 no terminal to
confirm on; 77 refused; 78 environments file invalid; 127 kubectl not found.
See docs/SECURE-KUBE.md.
)";

struct Options {
  std::string environments;
  std::string audit_log;
  std::string kubectl;
  bool yes = false;
};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

absl::StatusOr<std::string> Home() {
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') return std::string(home);
  const passwd* pw = getpwuid(getuid());
  return ChooseHome(nullptr, pw != nullptr ? pw->pw_dir : nullptr);
}

std::string UserName() {
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  const std::string user = Env("USER");
  return user.empty() ? std::to_string(getuid()) : user;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// 128 random bits as 32 hex digits.
std::string NewId() {
  std::random_device random;
  char id[33];
  std::snprintf(id, sizeof id, "%08x%08x%08x%08x", static_cast<unsigned>(random()), static_cast<unsigned>(random()),
                static_cast<unsigned>(random()), static_cast<unsigned>(random()));
  return id;
}

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// An argument list as one could paste it into a shell. Control characters (a terminal escape
// sequence in an argument would rewrite the banner) are shown as $'\xNN'.
std::string ShellQuoted(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& arg : args) {
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789-_./=:,@%+") == std::string::npos;
    if (plain) {
      out += arg;
      continue;
    }
    if (std::any_of(arg.begin(), arg.end(), IsControl)) {
      out += "$'";
      for (char c : arg) {
        if (IsControl(c)) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += hex;
        } else if (c == '\\' || c == '\'') {
          out += '\\';
          out += c;
        } else {
          out += c;
        }
      }
      out += '\'';
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

int Fail(int code, const std::string& message) {
  std::cerr << "secure-kube: " << message << "\n";
  return code;
}

// Parses secure-kube's own options; `next` is left at the first other word.
std::optional<int> ParseOptions(const std::vector<std::string>& argv, size_t& next, Options& options) {
  for (next = 1; next < argv.size(); ++next) {
    const std::string& arg = argv[next];
    if (arg.empty() || arg[0] != '-') return std::nullopt;
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "secure-kube " << VOXGATE_VERSION << " (voxgate)\n";
      return 0;
    }
    if (arg == "-y" || arg == "--yes") {
      options.yes = true;
      continue;
    }
    bool matched = false;
    for (auto [name, target] : {std::pair{"--environments", &options.environments},
                                std::pair{"--audit-log", &options.audit_log}, std::pair{"--kubectl", &options.kubectl}}) {
      const std::string flag = name;
      if (arg == flag) {
        if (next + 1 >= argv.size()) return Fail(kExitUsage, flag + " needs a value");
        *target = argv[++next];
        matched = true;
      } else if (arg.rfind(flag + "=", 0) == 0) {
        *target = arg.substr(flag.size() + 1);
        matched = true;
      }
    }
    if (!matched) {
      return Fail(kExitUsage, "unknown option '" + arg +
                                  "' (secure-kube's options come before the environment name; kubectl's after it; "
                                  "see --help)");
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> EnvironmentsPath(const Options& options) {
  if (!options.environments.empty()) return options.environments;
  if (std::string path = Env("SECURE_KUBE_ENVIRONMENTS"); !path.empty()) return path;
  absl::StatusOr<std::string> home = Home();
  if (!home.ok()) return home.status();
  return *home + "/.config/secure-kube/environments.yaml";
}

absl::StatusOr<std::string> AuditLogPath(const Options& options) {
  if (!options.audit_log.empty()) return options.audit_log;
  if (std::string path = Env("SECURE_KUBE_AUDIT_LOG"); !path.empty()) return path;
  absl::StatusOr<std::string> home = Home();
  if (!home.ok()) return home.status();
  return *home + "/.local/state/secure-kube/audit.jsonl";
}

std::string KubectlPath(const Options& options) {
  if (!options.kubectl.empty()) return options.kubectl;
  if (std::string path = Env("SECURE_KUBE_KUBECTL"); !path.empty()) return path;
  return "kubectl";
}

absl::StatusOr<Environments> LoadEnvironments(const Options& options) {
  absl::StatusOr<std::string> path = EnvironmentsPath(options);
  if (!path.ok()) return path.status();
  return LoadEnvironmentsFile(*path, Home().value_or(""));  // "~/" in the file then fails clearly
}

// Whether an -f value is something kubectl diff would consume (a FIFO, a character device, a
// socket) rather than a file or folder it can read again. URLs are fetched, not consumed.
bool ConsumedByReading(const std::string& name) {
  if (name.find("://") != std::string::npos) return false;
  struct stat st {};
  if (stat(name.c_str(), &st) != 0) return false;  // missing: diff and apply both say so
  return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int ListEnvironments(const Options& options) {
  absl::StatusOr<Environments> envs = LoadEnvironments(options);
  if (!envs.ok()) return Fail(kExitConfig, std::string(envs.status().message()));
  size_t width[4] = {4, 10, 7, 9};
  for (const Environment& env : envs->list) {
    width[0] = std::max(width[0], env.name.size());
    width[1] = std::max(width[1], ProtectionName(env.protection).size());
    width[2] = std::max(width[2], env.context.size());
    width[3] = std::max(width[3], env.kube_namespace.size());
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                 const std::string& e) {
    std::cout << a << std::string(width[0] + 2 - a.size(), ' ') << b << std::string(width[1] + 2 - b.size(), ' ')
              << c << std::string(width[2] + 2 - c.size(), ' ') << d << std::string(width[3] + 2 - d.size(), ' ')
              << e << "\n";
  };
  row("NAME", "PROTECTION", "CONTEXT", "NAMESPACE", "KUBECONFIG");
  for (const Environment& env : envs->list) {
    row(env.name, std::string(ProtectionName(env.protection)), env.context, env.kube_namespace,
        env.kubeconfig.empty() ? "-" : env.kubeconfig);
  }
  return 0;
}

int Prompt(const Options& options, const std::vector<std::string>& args) {
  PromptShell shell = PromptShell::kBash;
  std::string name = Env("SECURE_KUBE_ENV");
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--shell" && i + 1 < args.size()) {
      value = args[++i];
    } else if (args[i].rfind("--shell=", 0) == 0) {
      value = args[i].substr(8);
    } else if (!args[i].empty() && args[i][0] != '-') {
      name = args[i];
      continue;
    } else {
      return Fail(kExitUsage, "prompt: unknown option '" + args[i] + "' (expected --shell S and an environment)");
    }
    const std::optional<PromptShell> parsed = ParsePromptShell(value);
    if (!parsed) return Fail(kExitUsage, "prompt: unknown shell '" + value + "' (bash, bash-escapes, zsh, plain, none)");
    shell = *parsed;
  }
  if (name.empty()) return 0;  // no environment chosen: nothing in the prompt
  absl::StatusOr<Environments> envs = LoadEnvironments(options);
  if (!envs.ok()) return Fail(kExitConfig, std::string(envs.status().message()));
  const Environment* env = envs->Find(name);
  if (env == nullptr) return Fail(kExitUsage, "prompt: unknown environment '" + name + "'");
  std::cout << PromptText(*env, shell);
  return 0;
}

// One invocation against an environment, and its audit lines.
class Invocation {
 public:
  Invocation(const Options& options, std::string env_name, std::vector<std::string> args)
      : options_(options), env_name_(std::move(env_name)), args_(std::move(args)), kubectl_(KubectlPath(options)) {
    // argv is logged in plain text, but with the values of --from-literal, --token and the like
    // masked (MaskedForLog).
    base_ = {{"id", NewId()},          {"user", UserName()},        {"uid", getuid()},
             {"host", HostName()},     {"environment", env_name_}, {"argv", MaskedForLog(args_)}};
  }

  ~Invocation() {
    if (tty_ >= 0) close(tty_);
  }

  int Run() {
    absl::StatusOr<std::string> audit_path = AuditLogPath(options_);
    absl::StatusOr<AuditLog> audit = audit_path.ok() ? AuditLog::Open(*audit_path) : audit_path.status();
    if (audit.ok()) {
      audit_.emplace(*std::move(audit));
    } else {
      audit_error_ = std::string(audit.status().message());
    }

    absl::StatusOr<Environments> envs = LoadEnvironments(options_);
    if (!envs.ok()) return Refuse(kExitConfig, std::string(envs.status().message()));
    const Environment* env = envs->Find(env_name_);
    if (env == nullptr) {
      std::string known;
      for (const Environment& e : envs->list) known += (known.empty() ? "" : ", ") + e.name;
      return Refuse(kExitUsage, "unknown environment '" + env_name_ + "' (" + envs->source + " defines " + known + ")");
    }
    env_ = env;
    base_["context"] = env->context;
    base_["namespace"] = env->kube_namespace;
    base_["protection"] = ProtectionName(env->protection);
    // Every child (kubectl, the plugins it runs, kubectl diff) gets the environment's kubeconfig
    // in KUBECONFIG too, for a plugin that ignores --kubeconfig. Without one, KUBECONFIG stays
    // as the user has it, and the log says which kubeconfig that was.
    if (!env->kubeconfig.empty()) {
      run_options_.environment.emplace_back("KUBECONFIG", env->kubeconfig);
      base_["kubeconfig"] = env->kubeconfig;
      base_["kubeconfig_from"] = "environment";
    } else if (std::string inherited = Env("KUBECONFIG"); !inherited.empty()) {
      base_["kubeconfig"] = inherited;
      base_["kubeconfig_from"] = "KUBECONFIG";
    } else {
      absl::StatusOr<std::string> home = Home();
      base_["kubeconfig"] = home.ok() ? *home + "/.kube/config" : "~/.kube/config";
      base_["kubeconfig_from"] = "default";
    }
    for (const std::string& arg : args_) {
      if (arg == "--") break;
      if (arg == "--yes" || arg == "-y") {
        return Refuse(kExitUsage, arg + " is secure-kube's option: put it before the environment name (secure-kube " +
                                      arg + " " + env_name_ + " ...)");
      }
    }

    absl::StatusOr<KubectlPlan> plan = PlanKubectl(*env, args_, ExecutableInPath);
    if (!plan.ok()) {
      const bool refused = absl::IsPermissionDenied(plan.status());
      return Refuse(refused ? kExitRefused : kExitUsage, std::string(plan.status().message()));
    }
    plan_ = *std::move(plan);
    base_["verb"] = plan_.verb;
    base_["changing"] = plan_.changing;
    std::vector<std::string> kubectl_argv = {kubectl_};
    const std::vector<std::string> masked = MaskedForLog(plan_.args);
    kubectl_argv.insert(kubectl_argv.end(), masked.begin(), masked.end());
    base_["kubectl"] = kubectl_argv;

    if (!plan_.changing) return Execute();

    if (!audit_) {
      return Refuse(kExitAuditLog, audit_error_ + "; '" + plan_.verb +
                                       "' changes things and is not run without its audit line (fail closed)");
    }
    if (env->protection == Protection::kLocked) {
      return Refuse(kExitRefused, "environment '" + env->name + "' is locked: '" + plan_.verb +
                                      "' changes things and is refused (--yes does not unlock it; the environments "
                                      "file does)");
    }
    if (env->protection == Protection::kConfirm) {
      if (!options_.yes) {
        // Asked on the terminal: the banner and the diff go there too, next to the question.
        tty_ = OpenTerminal();
        if (tty_ < 0) {
          return Refuse(kExitNoTerminal, "'" + env->name + "' needs confirmation and there is no terminal to ask on; " +
                                             "nothing was run (pass --yes before the environment name to confirm)");
        }
      }
      Banner();
      if (plan_.diff_args) {
        if (std::optional<int> done = DiffFirst(); done) return *done;
      }
      if (options_.yes) {
        confirmed_by_ = "--yes";
        Say("confirmed by --yes");
      } else {
        const Confirmation answer = AskForName(
            tty_, tty_, "Type the environment's name (" + env->name + ") to run this, anything else to cancel: ",
            env->name);
        if (answer != Confirmation::kConfirmed) {
          return Refuse(kExitNotConfirmed, "not confirmed (the name typed was not '" + env->name + "'); nothing was run");
        }
        confirmed_by_ = "terminal";
      }
    }
    return Execute();
  }

 private:
  // Where the banner and the diff's messages go: the terminal being asked on, else stderr.
  int OutputFd() const { return tty_ >= 0 ? tty_ : STDERR_FILENO; }

  void Say(const std::string& message) {
    std::cerr << std::flush;
    WriteAll(OutputFd(), "secure-kube: " + message + "\n");
  }

  void Banner() {
    std::cerr << std::flush;
    const bool colour = isatty(OutputFd()) != 0;
    const std::string on = colour ? "\033[1;31m" : "", off = colour ? "\033[0m" : "";
    std::string verb;
    for (char c : plan_.verb) verb += IsControl(c) ? '?' : c;
    WriteAll(OutputFd(), on + "=== secure-kube: PROTECTED ENVIRONMENT '" + env_->name + "' ===" + off + "\n" +
                             "  context:   " + env_->context + "\n" +
                             "  namespace: " + env_->kube_namespace +
                             " (for namespaced objects; cluster-scoped ones, such as nodes, namespaces and CRDs, are "
                             "in none)\n" +
                             "  command:   kubectl " + ShellQuoted(args_) + "\n" + "  '" + verb +
                             "' changes things in " + env_->name + ".\n");
  }

  // `apply` on a protected environment: what it would change, before asking. Returns an exit
  // code when nothing is left to do.
  std::optional<int> DiffFirst() {
    if (plan_.manifests_from_stdin) {
      Say("no diff shown: the manifests come from stdin, which kubectl diff would consume");
      return std::nullopt;
    }
    for (const std::string& file : plan_.manifest_files) {
      if (ConsumedByReading(file)) {
        Say("no diff shown: " + ShellQuoted({file}) +
            " is not a regular file (a pipe or a device), which kubectl diff would consume");
        return std::nullopt;
      }
    }
    Say("kubectl diff (what apply would change):");
    RunOptions diff_options = run_options_;
    diff_options.stdin_from_null = true;  // never a byte of the input meant for apply
    diff_options.output_fd = tty_;
    absl::StatusOr<ChildExit> diff = RunAndWait(kubectl_, *plan_.diff_args, diff_options);
    if (!diff.ok()) return KubectlFailed(diff.status());
    base_["diff_exit_code"] = diff->code;
    if (diff->code == 0) {
      Say("kubectl diff reports no changes in '" + env_->name + "'; nothing to apply");
      Finish("allowed", 0, "no changes");
      return 0;
    }
    if (diff->signal != 0 || diff->code >= 128) {
      signal_ = diff->signal;
      const int code = Refuse(diff->code, "kubectl diff was interrupted; nothing was applied");
      if (signal_ != 0) EndBySignal();
      return code;
    }
    if (diff->code > 1) {
      Say("kubectl diff failed (exit " + std::to_string(diff->code) +
          "), so the changes cannot be shown; apply anyway only if you know them");
    }
    return std::nullopt;
  }

  int Execute() {
    if (plan_.changing) {
      nlohmann::json start = Entry();
      start["event"] = "start";
      start["decision"] = confirmed_by_.empty() ? "allowed" : "confirmed";
      if (!confirmed_by_.empty()) start["confirmed_by"] = confirmed_by_;
      if (absl::Status status = audit_->Append(start); !status.ok()) {
        audit_.reset();
        return Refuse(kExitAuditLog, std::string(status.message()) + "; '" + plan_.verb +
                                         "' is not run without its audit line (fail closed)");
      }
    } else if (!audit_) {
      std::cerr << "secure-kube: warning: " << audit_error_ << " (read-only command run unaudited)\n";
    }
    absl::StatusOr<ChildExit> child = RunAndWait(kubectl_, plan_.args, run_options_);
    if (!child.ok()) return KubectlFailed(child.status());
    signal_ = child->signal;
    Finish(confirmed_by_.empty() ? "allowed" : "confirmed", child->code, "");
    if (signal_ != 0) EndBySignal();
    return child->code;
  }

  // kubectl died of a signal: so does secure-kube, once its audit line is written, so that a
  // shell (or a supervisor) sees the same status it would have seen from kubectl.
  [[noreturn]] void EndBySignal() {
    std::cout << std::flush;
    std::cerr << std::flush;
    ExitBySignal(signal_);
  }

  int KubectlFailed(const absl::Status& status) {
    const bool missing = absl::IsNotFound(status);
    const std::string hint = missing ? " (install kubectl, or name it with --kubectl PATH or $SECURE_KUBE_KUBECTL)" : "";
    std::cerr << "secure-kube: " << status.message() << hint << "\n";
    const int code = missing ? kExitNoKubectl : kExitCannotRunKubectl;
    Finish("failed", code, std::string(status.message()));
    return code;
  }

  int Refuse(int code, const std::string& reason) {
    std::cerr << "secure-kube: " << reason << "\n";
    Finish("refused", code, reason);
    return code;
  }

  nlohmann::json Entry() const {
    nlohmann::json entry = base_;
    entry["time"] = FormatRfc3339Utc(std::chrono::system_clock::now());
    return entry;
  }

  void Finish(const std::string& decision, int exit_code, const std::string& reason) {
    if (!audit_) return;
    nlohmann::json end = Entry();
    end["event"] = "end";
    end["decision"] = decision;
    if (!confirmed_by_.empty()) end["confirmed_by"] = confirmed_by_;
    end["exit_code"] = exit_code;
    if (signal_ != 0) end["signal"] = signal_;
    if (!reason.empty()) end["reason"] = reason;
    if (absl::Status status = audit_->Append(end); !status.ok()) {
      std::cerr << "secure-kube: warning: " << status.message() << "\n";
    }
  }

  const Options& options_;
  const std::string env_name_;
  const std::vector<std::string> args_;
  const std::string kubectl_;
  const Environment* env_ = nullptr;
  KubectlPlan plan_;
  RunOptions run_options_;
  nlohmann::json base_;
  std::optional<AuditLog> audit_;
  std::string audit_error_;
  std::string confirmed_by_;
  int tty_ = -1;    // the terminal a confirmation is asked on
  int signal_ = 0;  // the signal kubectl (or kubectl diff) died of
};

}  // namespace

int SecureKubeMain(const std::vector<std::string>& argv) {
  Options options;
  size_t next = 1;
  if (std::optional<int> done = ParseOptions(argv, next, options); done) return *done;
  if (next >= argv.size()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string& word = argv[next];
  const std::vector<std::string> rest(argv.begin() + static_cast<std::ptrdiff_t>(next) + 1, argv.end());
  if (word == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (word == "version") {
    std::cout << "secure-kube " << VOXGATE_VERSION << " (voxgate)\n";
    return 0;
  }
  if (word == "envs") {
    if (!rest.empty()) return Fail(kExitUsage, "envs takes no arguments");
    return ListEnvironments(options);
  }
  if (word == "prompt") return Prompt(options, rest);
  return Invocation(options, word, rest).Run();
}

}  // namespace voxgate::securekube
