#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/log.h"
#include "core/process.h"

namespace voxgate::core {
namespace {

// While ParseConfig runs: the variables each value expanded from the environment came from, by
// key path, so that an error about such a value names them.
thread_local const std::map<std::string, std::string>* values_from_environment = nullptr;

// A YAML mapping that knows its path and rejects keys nobody asked for.
class Section {
 public:
  Section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) Fail(path_, "expected a mapping");
  }

  template <typename T>
  void Read(const std::string& key, T& out, T min, T max) {
    known_.insert(key);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    const std::string path = Key(key);
    if (!v.IsScalar()) Fail(path, "expected a number");
    T value{};
    if (!YAML::convert<T>::decode(v, value) || value < min || value > max) {
      std::ostringstream msg;
      msg << "expected " << (std::is_integral_v<T> ? "an integer" : "a number") << " from " << min << " to " << max
          << ", got \"" << v.Scalar() << "\"";
      Fail(path, msg.str());
    }
    out = value;
  }

  void Read(const std::string& key, std::string& out) {
    known_.insert(key);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    if (!v.IsScalar() || v.Scalar().empty()) Fail(Key(key), "expected a non-empty string");
    out = v.Scalar();
  }

  void Read(const std::string& key, std::vector<std::string>& out) {
    known_.insert(key);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    if (!v.IsSequence()) Fail(Key(key), "expected a list of strings");
    out.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar() || v[i].Scalar().empty()) Fail(Key(key) + "[" + std::to_string(i) + "]", "expected a non-empty string");
      out.push_back(v[i].Scalar());
    }
  }

  void Read(const std::string& key, std::map<std::string, std::string>& out) {
    known_.insert(key);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    if (!v.IsMap()) Fail(Key(key), "expected a mapping of names to strings");
    out.clear();
    for (const auto& kv : v) {
      const std::string name = kv.first.as<std::string>();
      if (!kv.second.IsScalar() || kv.second.Scalar().empty()) Fail(Key(key) + "." + name, "expected a non-empty string");
      out[name] = kv.second.Scalar();
    }
  }

  void Read(const std::string& key, bool& out) {
    known_.insert(key);
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    bool value = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, value)) Fail(Key(key), "expected true or false, got \"" + (v.IsScalar() ? v.Scalar() : std::string("...")) + "\"");
    out = value;
  }

  Section Child(const std::string& key) {
    known_.insert(key);
    return Section(node_[key], Key(key));
  }

  // The items of a list of mappings.
  std::vector<Section> List(const std::string& key) {
    known_.insert(key);
    YAML::Node v = node_[key];
    std::vector<Section> items;
    if (!v || v.IsNull()) return items;
    if (!v.IsSequence()) Fail(Key(key), "expected a list");
    for (size_t i = 0; i < v.size(); ++i) items.emplace_back(v[i], Key(key) + "[" + std::to_string(i) + "]");
    return items;
  }

  // Call after reading every key: anything left is a typo or an option this version lacks.
  void RejectUnknownKeys() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (!known_.count(key)) {
        std::string known_list;
        for (const auto& k : known_) known_list += (known_list.empty() ? "" : ", ") + k;
        Fail(Key(key), "unknown key (known keys here: " + known_list + ")");
      }
    }
  }

  const std::string& path() const { return path_; }

  [[noreturn]] static void Fail(const std::string& path, const std::string& what) {
    std::string from;
    if (values_from_environment != nullptr) {
      if (auto it = values_from_environment->find(path); it != values_from_environment->end()) from = " (from " + it->second + ")";
    }
    throw ConfigError(path + ": " + what + from);
  }

 private:
  std::string Key(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  YAML::Node node_;
  std::string path_;
  std::set<std::string> known_;
};

}  // namespace

std::string BuiltInEngineService(const std::string& engine) {
  if (engine == "pocketsphinx") return "asr";
  if (engine == "apertium") return "mt";
  if (engine == "espeak") return "tts";
  return "";
}

namespace {

EngineConfig ParseEngine(Section s) {
  EngineConfig e;
  s.Read("engine", e.engine);
  s.Read("address", e.address);
  s.Read("dns", e.dns);
  s.Read("refresh_seconds", e.refresh_seconds, 0.1, 3600.0);
  s.Read("capacity", e.capacity, 0, 1024);
  s.Read("replicas", e.replicas, 1, 64);
  s.Read("args", e.args);
  s.RejectUnknownKeys();
  if (e.engine.empty() + e.address.empty() + e.dns.empty() != 2) {
    Section::Fail(s.path(), "set exactly one of `engine` (a built-in engine to start), `address` (an engine already running) "
                            "or `dns` (host:port whose A/AAAA records are the engines, e.g. a Kubernetes headless Service)");
  }
  if (!e.dns.empty()) {
    const auto colon = e.dns.rfind(':');
    int port = 0;
    const char* end = e.dns.data() + e.dns.size();
    if (colon == std::string::npos || colon == 0 || std::from_chars(e.dns.data() + colon + 1, end, port).ptr != end ||
        port < 1 || port > 65535) {
      Section::Fail(s.path() + ".dns", "expected host:port, got \"" + e.dns + "\"");
    }
  }
  if (e.engine.empty() || !BuiltInEngineService(e.engine).empty()) return e;
  Section::Fail(s.path() + ".engine", "unknown built-in engine \"" + e.engine + "\" (built in: pocketsphinx, apertium)");
}

PoolConfig ParsePool(Section s) {
  PoolConfig p;
  s.Read("name", p.name);
  s.Read("service", p.service);
  s.Read("languages", p.languages);
  Section hc = s.Child("health_check");
  hc.Read("interval_seconds", p.health_check.interval_seconds, 0.05, 3600.0);
  hc.Read("timeout_seconds", p.health_check.timeout_seconds, 0.01, 600.0);
  hc.Read("jitter_seconds", p.health_check.jitter_seconds, 0.0, 3600.0);
  hc.Read("healthy_threshold", p.health_check.healthy_threshold, 1, 100);
  hc.Read("unhealthy_threshold", p.health_check.unhealthy_threshold, 1, 100);
  hc.RejectUnknownKeys();
  Section od = s.Child("outlier_detection");
  od.Read("consecutive_failures", p.outlier_detection.consecutive_failures, 1, 1000);
  od.Read("base_ejection_seconds", p.outlier_detection.base_ejection_seconds, 0.0, 86400.0);
  od.Read("max_ejection_seconds", p.outlier_detection.max_ejection_seconds, 0.0, 86400.0);
  od.Read("max_ejected_percent", p.outlier_detection.max_ejected_percent, 0, 100);
  od.RejectUnknownKeys();
  Section q = s.Child("queue");
  q.Read("max_streams", p.queue.max_streams, 0, 100000);
  q.Read("timeout_seconds", p.queue.timeout_seconds, 0.0, 3600.0);
  q.RejectUnknownKeys();
  Section fo = s.Child("failover");
  fo.Read("max_replay_seconds", p.failover.max_replay_seconds, 0.0, 3600.0);
  fo.Read("max_failovers", p.failover.max_failovers, 0, 100);
  fo.Read("timeout_seconds", p.failover.timeout_seconds, 0.0, 3600.0);
  fo.RejectUnknownKeys();
  s.Read("min_ready", p.min_ready, 0, 1000);
  s.Read("slow_start_seconds", p.slow_start_seconds, 0.0, 3600.0);
  Section ps = s.Child("progress");
  ps.Read("result_timeout_seconds", p.result_timeout_seconds, 0.5, 3600.0);
  ps.RejectUnknownKeys();
  for (auto& e : s.List("engines")) p.engines.push_back(ParseEngine(std::move(e)));
  s.RejectUnknownKeys();
  if (p.name.empty()) Section::Fail(s.path() + ".name", "required");
  if (p.service != "asr" && p.service != "mt" && p.service != "tts") {
    Section::Fail(s.path() + ".service", "unknown service \"" + p.service + "\" (known: asr, mt, tts)");
  }
  for (size_t i = 0; i < p.engines.size(); ++i) {
    const std::string& engine = p.engines[i].engine;
    if (!engine.empty() && BuiltInEngineService(engine) != p.service) {
      Section::Fail(s.path() + ".engines[" + std::to_string(i) + "].engine",
                    engine + " serves " + BuiltInEngineService(engine) + "; this pool's service is " + p.service);
    }
  }
  if (p.languages.empty()) Section::Fail(s.path() + ".languages", "list at least one language code, e.g. [en-US]");
  if (p.engines.empty()) Section::Fail(s.path() + ".engines", "list at least one engine");
  return p;
}

ApiKeyConfig ParseApiKey(Section& s) {
  ApiKeyConfig k;
  s.Read("name", k.name);
  s.Read("plan", k.plan);
  s.Read("sha256", k.sha256);
  s.Read("env", k.env);
  s.RejectUnknownKeys();
  if (k.name.empty()) Section::Fail(s.path() + ".name", "required (it names the caller in logs)");
  if (k.sha256.empty() == k.env.empty()) {
    Section::Fail(s.path(), "set exactly one of `sha256` (the key's SHA-256 in hex: printf %s KEY | sha256sum) or `env` "
                            "(an environment variable holding the key); never the key itself");
  }
  if (!k.sha256.empty() && (k.sha256.size() != 64 || k.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
    Section::Fail(s.path() + ".sha256", "expected 64 hex digits");
  }
  return k;
}

AlertRelayConfig ParseAlertRelay(Section s) {
  AlertRelayConfig a;
  a.enabled = true;
  s.Read("listen", a.listen);
  s.Read("database", a.database);
  Section token = s.Child("input_token");
  token.Read("env", a.token_env);
  token.Read("file", a.token_file);
  token.RejectUnknownKeys();
  if (!a.token_env.empty() && !a.token_file.empty()) Section::Fail(token.path(), "set one of `env` or `file`");
  Section l = s.Child("limits");
  l.Read("max_body_bytes", a.max_body_bytes, size_t{1024}, size_t{64} << 20);
  l.Read("max_alerts", a.max_alerts, 1, 10000000);
  l.Read("max_undelivered", a.max_undelivered, 1, 10000000);
  l.Read("retention_hours", a.retention_hours, 0.0, 24.0 * 365);
  l.RejectUnknownKeys();
  Section e = s.Child("events");
  e.Read("min_severity", a.events_min_severity);
  e.Read("resolve_timeout_seconds", a.events_resolve_timeout_seconds, 1.0, 7 * 86400.0);
  e.RejectUnknownKeys();
  if (!ParseSeverity(a.events_min_severity)) {
    Section::Fail(e.path() + ".min_severity", "expected debug, info, warning, error, critical or off, got \"" + a.events_min_severity + "\"");
  }
  Section r = s.Child("retry");
  r.Read("initial_backoff_seconds", a.initial_backoff_seconds, 0.01, 3600.0);
  r.Read("max_backoff_seconds", a.max_backoff_seconds, 0.01, 86400.0);
  r.Read("give_up_after_hours", a.give_up_after_hours, 0.001, 24.0 * 30);
  r.RejectUnknownKeys();
  std::set<std::string> names;
  for (auto& d : s.List("destinations")) {
    AlertDestinationConfig dc;
    std::string url;
    d.Read("name", dc.name);
    d.Read("type", dc.type);
    d.Read("url", url);
    d.Read("url_env", dc.url_env);
    d.Read("url_file", dc.url_file);
    Section rl = d.Child("rate_limit");
    rl.Read("per_minute", dc.rate_per_minute, 0.01, 100000.0);
    rl.Read("burst", dc.burst, 1, 10000);
    rl.RejectUnknownKeys();
    d.Read("timeout_seconds", dc.timeout_seconds, 0.1, 600.0);
    d.Read("username", dc.username);
    d.RejectUnknownKeys();
    if (dc.name.empty()) Section::Fail(d.path() + ".name", "required (it names the destination in logs and metrics)");
    if (!names.insert(dc.name).second) Section::Fail(d.path() + ".name", "two destinations named \"" + dc.name + "\"");
    if (dc.type != "discord" && dc.type != "slack" && dc.type != "webhook") {
      Section::Fail(d.path() + ".type", "expected discord, slack or webhook, got \"" + dc.type + "\"");
    }
    if (!url.empty()) {
      Section::Fail(d.path() + ".url", "a webhook URL is a secret: put it in an environment variable (`url_env`) or a file (`url_file`)");
    }
    if (dc.url_env.empty() == dc.url_file.empty()) Section::Fail(d.path(), "set exactly one of `url_env` or `url_file`");
    a.destinations.push_back(std::move(dc));
  }
  if (a.destinations.empty()) Section::Fail(s.path() + ".destinations", "list at least one destination (discord, slack or webhook)");
  for (auto& rs : s.List("routes")) {
    AlertRouteConfig rc;
    rs.Read("match", rc.match);
    rs.Read("destinations", rc.destinations);
    rs.Read("group_by", rc.group_by);
    rs.Read("group_wait_seconds", rc.group_wait_seconds, 0.0, 86400.0);
    rs.Read("group_interval_seconds", rc.group_interval_seconds, 0.1, 86400.0);
    rs.Read("repeat_interval_seconds", rc.repeat_interval_seconds, 1.0, 30 * 86400.0);
    rs.Read("send_resolved", rc.send_resolved);
    rs.Read("continue", rc.continue_matching);
    rs.RejectUnknownKeys();
    for (size_t i = 0; i < rc.destinations.size(); ++i) {
      if (!names.contains(rc.destinations[i])) {
        Section::Fail(rs.path() + ".destinations[" + std::to_string(i) + "]", "no destination named \"" + rc.destinations[i] + "\"");
      }
    }
    a.routes.push_back(std::move(rc));
  }
  s.RejectUnknownKeys();
  return a;
}

RouteConfig ParseRoute(Section s, const std::set<std::string>& pools) {
  RouteConfig r;
  s.Read("service", r.service);
  s.Read("language", r.language);
  s.Read("model", r.model);
  s.Read("plan", r.plan);
  std::string pool;
  s.Read("pool", pool);
  if (!pool.empty()) r.pools.push_back({pool, 1});
  int index = 0;
  for (auto& split : s.List("split")) {
    RouteConfig::Split target;
    split.Read("pool", target.pool);
    split.Read("weight", target.weight, 0.0, 1e6);
    split.RejectUnknownKeys();
    if (!pools.contains(target.pool)) Section::Fail(s.path() + ".split[" + std::to_string(index) + "].pool", "no pool named "" + target.pool + """);
    r.pools.push_back(target);
    index++;
  }
  Section shadow = s.Child("shadow");
  shadow.Read("pool", r.shadow_pool);
  shadow.Read("share", r.shadow_share, 0.0, 1.0);
  shadow.RejectUnknownKeys();
  s.RejectUnknownKeys();
  if (r.service != "asr" && r.service != "mt" && r.service != "tts") {
    Section::Fail(s.path() + ".service", "unknown service \"" + r.service + "\" (known: asr, mt, tts)");
  }
  if (r.language.empty()) Section::Fail(s.path() + ".language", "required: a language code, a primary language such as en, or *");
  if (pool.empty() == (index == 0)) Section::Fail(s.path(), "set exactly one of `pool` or `split`");
  if (!pool.empty() && !pools.contains(pool)) Section::Fail(s.path() + ".pool", "no pool named \"" + pool + "\"");
  double total = 0;
  for (const auto& t : r.pools) total += t.weight;
  if (!(total > 0)) Section::Fail(s.path() + ".split", "the weights add up to 0");
  if (!r.shadow_pool.empty() && !pools.contains(r.shadow_pool)) Section::Fail(s.path() + ".shadow.pool", "no pool named \"" + r.shadow_pool + "\"");
  return r;
}

std::vector<RouteConfig> RoutesPerPoolLanguage(const std::vector<PoolConfig>& pools) {
  std::vector<RouteConfig> routes;
  for (const PoolConfig& p : pools) {
    for (const std::string& language : p.languages) {
      RouteConfig r;
      r.service = p.service;
      r.language = language;
      r.pools.push_back({p.name, 1});
      routes.push_back(std::move(r));
    }
  }
  return routes;
}

// `${NAME}` in a value is the environment variable NAME, and `$${` a literal `${`. An unset
// variable, or a name that is not one, is an error naming the key. `names`: "${NAME}" of each.
std::string ExpandEnvironment(const std::string& text, const std::string& path, std::string& names) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
    } else if (text.compare(i, 2, "${") == 0) {
      const size_t end = text.find('}', i + 2);
      if (end == std::string::npos) Section::Fail(path, "\"${\" without its \"}\" (write $${ for a literal ${)");
      const std::string name = text.substr(i + 2, end - i - 2);
      const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                         std::all_of(name.begin(), name.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
      if (!valid) Section::Fail(path, "\"${" + name + "}\" does not name an environment variable");
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) Section::Fail(path, "environment variable " + name + " is not set");
      out += value;
      names += (names.empty() ? "${" : ", ${") + name + "}";
      i = end + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

// Expands the environment in every value of the tree, before any is read, and notes in `from`
// the variables of each value that had any. `seen`: the nodes expanded already (a YAML alias is
// the anchored node itself, met again).
void ExpandEnvironment(YAML::Node node, const std::string& path, std::vector<YAML::Node>& seen,
                       std::map<std::string, std::string>& from) {
  for (const YAML::Node& done : seen) {
    if (done.is(node)) return;
  }
  seen.push_back(node);
  if (node.IsScalar()) {
    if (node.Scalar().find("${") == std::string::npos) return;
    std::string names;
    const std::string tag = node.Tag();  // "!": quoted in the source, a string whatever it holds
    node = ExpandEnvironment(node.Scalar(), path, names);
    node.SetTag(tag);
    if (!names.empty()) from[path] = names;
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) ExpandEnvironment(node[i], path + "[" + std::to_string(i) + "]", seen, from);
  } else if (node.IsMap()) {
    for (auto kv : node) {
      if (!kv.first.IsScalar()) Section::Fail(path.empty() ? "(top level)" : path, "a key that is not a plain name");
      const std::string key = kv.first.Scalar();
      ExpandEnvironment(kv.second, path.empty() ? key : path + "." + key, seen, from);
    }
  }
}

std::string EscapeExpansions(const std::string& value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "${") == 0) out += '$';
    out += value[i];
  }
  return out;
}

// Writes an expanded tree as a config that reads the same: quoted scalars quoted, a literal "${"
// as "$${", aliases written out in full. (Only for a tree ParseConfig took: no deeper than its
// sections.)
void EmitExpanded(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") out << YAML::DoubleQuoted;
      out << EscapeExpansions(node.Scalar());
      break;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const YAML::Node& item : node) EmitExpanded(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key << kv.first.Scalar() << YAML::Value;
        EmitExpanded(out, kv.second);
      }
      out << YAML::EndMap;
      break;
    default:
      out << YAML::Null;
  }
}

std::string ReadConfigText(const std::string& path) {
  // A directory opens as an empty file: the built-in default would run in place of the config.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": a directory, not a config file");
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the file");
  return text.str();
}

}  // namespace

int DefaultEngineCapacity() {
  return std::max(2, UsableCpus() * 4);
}

ServerConfig ParseConfig(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": not valid YAML: " + e.what());
  }
  ServerConfig c;
  std::map<std::string, std::string> from_environment;
  values_from_environment = &from_environment;
  struct Forget {
    ~Forget() { values_from_environment = nullptr; }
  } forget;
  try {
    std::vector<YAML::Node> expanded;
    ExpandEnvironment(root, "", expanded, from_environment);
    Section s(root, "");
    s.Read("listen", c.listen);
    s.Read("vosk_listen", c.vosk_listen);
    s.Read("admin", c.admin);
    s.Read("drain_grace_seconds", c.drain_grace_seconds, 0.0, 3600.0);
    Section l = s.Child("limits");
    l.Read("max_upload_bytes", c.limits.max_upload_bytes, size_t{1024}, size_t{4} << 30);
    l.Read("max_frame_bytes", c.limits.max_frame_bytes, size_t{1024}, size_t{64} << 20);
    c.limits.max_upload_memory_bytes = 0;  // unset: set below from max_upload_bytes
    l.Read("max_upload_memory_bytes", c.limits.max_upload_memory_bytes, size_t{1024}, size_t{1} << 40);
    l.Read("max_connections", c.limits.max_connections, 1, 1 << 20);
    l.Read("max_stream_seconds", c.limits.max_stream_seconds, 1.0, 86400.0);
    l.Read("idle_timeout_seconds", c.limits.idle_timeout_seconds, 0.1, 3600.0);
    l.Read("request_timeout_seconds", c.limits.request_timeout_seconds, 1.0, 86400.0);
    l.RejectUnknownKeys();
    if (c.limits.max_upload_memory_bytes == 0) {
      c.limits.max_upload_memory_bytes = std::max(LimitsConfig{}.max_upload_memory_bytes,
                                                  c.limits.max_upload_bytes + kMultipartFramingBytes);
    } else if (c.limits.max_upload_memory_bytes < c.limits.max_upload_bytes + kMultipartFramingBytes) {
      Section::Fail("limits.max_upload_memory_bytes",
                    "must be at least max_upload_bytes + " + std::to_string(kMultipartFramingBytes) +
                        " (one whole upload and its multipart framing), got " +
                        std::to_string(c.limits.max_upload_memory_bytes));
    }
    std::set<std::string> names;
    for (auto& p : s.List("pools")) {
      c.pools.push_back(ParsePool(std::move(p)));
      if (!names.insert(c.pools.back().name).second) Section::Fail("pools", "two pools named \"" + c.pools.back().name + "\"");
    }
    for (auto& r : s.List("routes")) c.routes.push_back(ParseRoute(std::move(r), names));
    std::set<std::string> key_names;
    for (auto& k : s.List("api_keys")) {
      c.api_keys.push_back(ParseApiKey(k));
      if (!key_names.insert(c.api_keys.back().name).second) Section::Fail(k.path() + ".name", "two API keys named \"" + c.api_keys.back().name + "\"");
    }
    Section alert_relay = s.Child("alert_relay");
    if (root.IsMap() && root["alert_relay"] && !root["alert_relay"].IsNull()) c.alert_relay = ParseAlertRelay(std::move(alert_relay));
    Section logging = s.Child("logging");
    logging.Read("levels", c.logging.levels);
    if (std::string error = CheckLogLevels(c.logging.levels); !error.empty()) Section::Fail("logging.levels", error);
    logging.Read("trace_project", c.logging.trace_project);
    logging.RejectUnknownKeys();
    s.RejectUnknownKeys();
  } catch (const ConfigError& e) {
    throw ConfigError(source + ": " + e.what());
  }
  if (c.pools.empty()) c.pools = DefaultConfig().pools;
  if (c.routes.empty()) c.routes = RoutesPerPoolLanguage(c.pools);
  return c;
}

ServerConfig LoadConfigFile(const std::string& path) { return ParseConfig(ReadConfigText(path), path); }

std::string ResolveConfigFile(const std::string& path) {
  const std::string text = ReadConfigText(path);
  ParseConfig(text, path);  // so that what follows cannot fail: the same text, the same environment
  YAML::Node root = YAML::Load(text);
  std::vector<YAML::Node> expanded;
  std::map<std::string, std::string> from_environment;
  ExpandEnvironment(root, "", expanded, from_environment);
  YAML::Emitter out;
  if (root.IsNull()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;  // an empty config: "{}", not "~"
  } else {
    EmitExpanded(out, root);
  }
  if (!out.good()) throw ConfigError(path + ": cannot write it back as YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

ServerConfig DefaultConfig() {
  ServerConfig c;
  PoolConfig pool;
  pool.name = "asr-en-us";
  pool.languages = {"en-US"};
  EngineConfig engine;
  engine.engine = "pocketsphinx";
  pool.engines.push_back(engine);
  c.pools.push_back(pool);
  PoolConfig mt;
  mt.name = "mt";
  mt.service = "mt";
  mt.languages = {"en", "es"};  // translated from: the installed pairs en->es, es->en
  EngineConfig apertium;
  apertium.engine = "apertium";
  mt.engines.push_back(apertium);
  c.pools.push_back(mt);
  PoolConfig tts;
  tts.name = "tts";
  tts.service = "tts";
  tts.languages = {"*"};  // espeak-ng speaks ~100 languages
  EngineConfig espeak;
  espeak.engine = "espeak";
  espeak.replicas = 2;  // espeak-ng synthesises one text at a time per process
  tts.engines.push_back(espeak);
  c.pools.push_back(tts);
  c.routes = RoutesPerPoolLanguage(c.pools);
  return c;
}

}  // namespace voxgate::core
