#include "securekube/environments.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"

namespace voxgate::securekube {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxNameLength = 63;

// "FILE:LINE: " for a node that has a position (nodes built by hand have none).
std::string Where(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return source + ": ";
  return source + ":" + std::to_string(mark.line + 1) + ": ";
}

absl::Status Error(const std::string& source, const YAML::Node& node, const std::string& message) {
  return absl::InvalidArgumentError(Where(source, node) + message);
}

// What a user typed, quoted and kept short, for messages.
std::string Quoted(const std::string& text) {
  std::string shown;
  for (char c : text.substr(0, 80)) shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return "'" + shown + (text.size() > 80 ? "...'" : "'");
}

bool IsValidEnvironmentName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// A Kubernetes namespace name (an RFC 1123 label).
bool IsValidNamespace(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(name.front()) || !lower_alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return lower_alnum(c) || c == '-'; });
}

bool HasControlCharacters(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return path.substr(0, slash + 1);
}

absl::StatusOr<std::string> ResolveKubeconfig(const std::string& value, const std::string& source,
                                              const std::string& home) {
  if (value == "~" || value.rfind("~/", 0) == 0) {
    if (home.empty()) return absl::FailedPreconditionError("the home folder is unknown (HOME is not set)");
    return home + value.substr(1);
  }
  if (!value.empty() && value[0] == '/') return value;
  return FolderOf(source) + value;
}

// A scalar that must be a non-empty single-line string.
absl::StatusOr<std::string> ReadString(const std::string& source, const std::string& env, const std::string& key,
                                       const YAML::Node& value) {
  if (!value.IsScalar() || value.Scalar().empty()) {
    return Error(source, value, "environment " + Quoted(env) + ": " + key + " must be a non-empty string");
  }
  if (HasControlCharacters(value.Scalar())) {
    return Error(source, value, "environment " + Quoted(env) + ": " + key + " must be one line of text");
  }
  return value.Scalar();
}

absl::StatusOr<Environment> ParseEnvironment(const std::string& source, const std::string& home, const std::string& name,
                                             const YAML::Node& key_node, const YAML::Node& node) {
  Environment env;
  env.name = name;
  if (!node.IsMap()) {
    return Error(source, node.IsNull() ? key_node : node,
                 "environment " + Quoted(name) + " must be a mapping with context, namespace and protection");
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Error(source, kv.first, "environment " + Quoted(name) + ": keys must be strings");
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      return Error(source, kv.first, "environment " + Quoted(name) + ": " + Quoted(key) + " is given twice");
    }
    if (key != "context" && key != "namespace" && key != "kubeconfig" && key != "protection" &&
        key != "allow_plugins") {
      return Error(source, kv.first,
                   "environment " + Quoted(name) + ": unknown key " + Quoted(key) +
                       " (expected context, namespace, kubeconfig, protection, allow_plugins)");
    }
    if (key == "allow_plugins") {
      if (!kv.second.IsSequence()) {
        return Error(source, kv.second, "environment " + Quoted(name) + ": allow_plugins must be a list of plugin names");
      }
      for (const YAML::Node& item : kv.second) {
        absl::StatusOr<std::string> plugin = ReadString(source, name, "allow_plugins", item);
        if (!plugin.ok()) return plugin.status();
        if (plugin->find('/') != std::string::npos || plugin->rfind("kubectl-", 0) == 0) {
          return Error(source, item,
                       "environment " + Quoted(name) + ": allow_plugins entry " + Quoted(*plugin) +
                           " must be a plugin's name (NAME for kubectl-NAME in PATH)");
        }
        env.allow_plugins.push_back(*plugin);
      }
      continue;
    }
    absl::StatusOr<std::string> value = ReadString(source, name, key, kv.second);
    if (!value.ok()) return value.status();
    if (key == "context") {
      if ((*value)[0] == '-') return Error(source, kv.second, "environment " + Quoted(name) + ": context must not start with '-'");
      env.context = *value;
    } else if (key == "namespace") {
      if (!IsValidNamespace(*value)) {
        return Error(source, kv.second,
                     "environment " + Quoted(name) + ": namespace " + Quoted(*value) +
                         " is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)");
      }
      env.kube_namespace = *value;
    } else if (key == "kubeconfig") {
      absl::StatusOr<std::string> path = ResolveKubeconfig(*value, source, home);
      if (!path.ok()) return Error(source, kv.second, "environment " + Quoted(name) + ": kubeconfig " + Quoted(*value) +
                                                         ": " + std::string(path.status().message()));
      env.kubeconfig = *path;
    } else {
      const std::optional<Protection> protection = ParseProtection(*value);
      if (!protection) {
        return Error(source, kv.second,
                     "environment " + Quoted(name) + ": unknown protection " + Quoted(*value) +
                         " (expected none, confirm or locked)");
      }
      env.protection = *protection;
    }
  }
  if (env.context.empty()) return Error(source, key_node, "environment " + Quoted(name) + ": context is missing");
  if (env.kube_namespace.empty()) return Error(source, key_node, "environment " + Quoted(name) + ": namespace is missing");
  return env;
}

absl::StatusOr<Environments> ParseDocument(const YAML::Node& root, const std::string& source, const std::string& home) {
  if (!root || root.IsNull()) return absl::InvalidArgumentError(source + ": the file is empty (expected an 'environments:' mapping)");
  if (!root.IsMap()) return Error(source, root, "expected a mapping with the key 'environments'");
  YAML::Node environments;
  bool found = false;  // a default YAML::Node counts as defined (null), so it cannot say
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    if (key != "environments") {
      return Error(source, kv.first, "unknown top-level key " + Quoted(key) + " (expected 'environments')");
    }
    if (found) return Error(source, kv.first, "'environments' is given twice");
    environments = kv.second;
    found = true;
  }
  if (!found) return Error(source, root, "no 'environments' mapping");
  if (!environments.IsMap() || environments.size() == 0) {
    return Error(source, environments, "'environments' must be a mapping of environment names to settings");
  }
  Environments result;
  result.source = source;
  // yaml-cpp keeps every entry of a mapping, repeated keys included, so duplicates are seen here.
  for (const auto& kv : environments) {
    if (!kv.first.IsScalar()) return Error(source, kv.first, "environment names must be strings");
    const std::string name = kv.first.Scalar();
    if (!IsValidEnvironmentName(name)) {
      return Error(source, kv.first,
                   "environment name " + Quoted(name) +
                       " must start with a letter or digit and hold only letters, digits, '-', '_' and '.' (at most 63)");
    }
    if (IsReservedEnvironmentName(name)) {
      return Error(source, kv.first, "environment name " + Quoted(name) + " is a secure-kube command; choose another");
    }
    if (result.Find(name) != nullptr) return Error(source, kv.first, "environment " + Quoted(name) + " is defined twice");
    absl::StatusOr<Environment> env = ParseEnvironment(source, home, name, kv.first, kv.second);
    if (!env.ok()) return env.status();
    result.list.push_back(*std::move(env));
  }
  return result;
}

}  // namespace

std::string_view ProtectionName(Protection protection) {
  switch (protection) {
    case Protection::kNone:
      return "none";
    case Protection::kConfirm:
      return "confirm";
    case Protection::kLocked:
      return "locked";
  }
  return "?";
}

std::optional<Protection> ParseProtection(std::string_view name) {
  if (name == "none") return Protection::kNone;
  if (name == "confirm") return Protection::kConfirm;
  if (name == "locked") return Protection::kLocked;
  return std::nullopt;
}

const Environment* Environments::Find(std::string_view name) const {
  for (const Environment& env : list) {
    if (env.name == name) return &env;
  }
  return nullptr;
}

bool IsReservedEnvironmentName(std::string_view name) {
  return name == "envs" || name == "prompt" || name == "help" || name == "version";
}

absl::StatusOr<Environments> ParseEnvironments(const std::string& text, const std::string& source,
                                               const std::string& home) {
  try {
    return ParseDocument(YAML::Load(text), source, home);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(source + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(source + ": not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    // yaml-cpp can run out of memory or depth on hostile input; that is still a bad file.
    return absl::InvalidArgumentError(source + ": cannot be read as YAML: " + e.what());
  }
}

absl::StatusOr<std::string> ChooseHome(const char* home_env, const char* passwd_dir) {
  if (home_env != nullptr && home_env[0] != '\0') return std::string(home_env);
  if (passwd_dir != nullptr && passwd_dir[0] != '\0') return std::string(passwd_dir);
  return absl::FailedPreconditionError(
      "cannot find your home folder: HOME is not set and the user database has no entry for this user; set HOME, "
      "or name the files with --environments and --audit-log");
}

absl::StatusOr<Environments> LoadEnvironmentsFile(const std::string& path, const std::string& home) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return absl::NotFoundError("cannot read the environments file " + path + ": " + std::strerror(error));
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) return absl::InvalidArgumentError(path + ": larger than 1 MiB; is this the right file?");
  }
  if (in.bad()) return absl::InvalidArgumentError("cannot read the environments file " + path);
  return ParseEnvironments(text, path, home);
}

}  // namespace voxgate::securekube
