#include "core/log.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/metrics.h"
#include "core/rfc3339.h"

namespace voxgate::core {
namespace {

constexpr size_t kMaxQueuedLines = 8192;
constexpr auto kDropReportInterval = std::chrono::seconds(1);

// The directories under src/ (and "main" for apps/): a fixed list, so a level for a module that
// does not exist is an error at start-up rather than a silent no-op.
const std::vector<std::string> kModules = {"alerts", "audio", "cli",    "core", "engines", "gateway", "gpu", "logs",
                                           "main",   "pool",  "router", "rpc",  "server",  "speech"};
constexpr size_t kOtherModule = 0;  // index into levels for files outside src/ and apps/ ("other")

std::string_view ModuleOf(std::string_view file) {
  if (const size_t src = file.rfind("/src/"); src != std::string_view::npos) {
    file.remove_prefix(src + 5);
    return file.substr(0, file.find('/'));
  }
  if (file.rfind("/apps/") != std::string_view::npos) return "main";
  return "other";
}

// Where a line comes from, from the repository root (src/pool/pool.cc).
std::string_view SourcePath(std::string_view file) {
  for (std::string_view root : {"/src/", "/apps/", "/bench/", "/tests/"}) {
    if (const size_t at = file.rfind(root); at != std::string_view::npos) return file.substr(at + 1);
  }
  return file;
}

// Levels: index 0 is "other", then kModules in order. A module without its own level (0) takes
// the default. `floor` is the lowest effective level, so a line below it costs one atomic load.
class Levels {
 public:
  Levels() {
    for (auto& l : own_) l.store(0);
    Recompute();
  }

  bool Enabled(Severity severity, std::string_view module) const {
    const int s = static_cast<int>(severity);
    if (s < floor_.load(std::memory_order_relaxed)) return false;
    const int own = own_[Index(module)].load(std::memory_order_relaxed);
    return s >= (own != 0 ? own : default_.load(std::memory_order_relaxed));
  }

  // The changes `levels` asks for (-1: the default), or an error message.
  static std::string Parse(const std::map<std::string, std::string>& levels,
                           std::vector<std::pair<int, Severity>>& changes) {
    for (const auto& [module, name] : levels) {
      const auto severity = ParseSeverity(name);
      if (!severity) return "log level for " + module + ": expected debug, info, warning, error, critical or off, got \"" + name + "\"";
      if (module == "default") {
        changes.emplace_back(-1, *severity);
        continue;
      }
      const auto it = std::find(kModules.begin(), kModules.end(), module);
      if (it == kModules.end()) {
        std::string known;
        for (const auto& m : kModules) known += (known.empty() ? "" : ", ") + m;
        return "unknown log module \"" + module + "\" (modules: default, " + known + ")";
      }
      changes.emplace_back(static_cast<int>(it - kModules.begin()) + 1, *severity);
    }
    return "";
  }

  std::string Set(const std::map<std::string, std::string>& levels) {
    std::vector<std::pair<int, Severity>> changes;
    if (std::string error = Parse(levels, changes); !error.empty()) return error;
    std::lock_guard lock(mu_);
    for (const auto& [index, severity] : changes) {
      (index < 0 ? default_ : own_[index]).store(static_cast<int>(severity));
    }
    Recompute();
    return "";
  }

  nlohmann::json Json() const {
    nlohmann::json modules = nlohmann::json::object();
    for (size_t i = 0; i < kModules.size(); ++i) {
      if (int own = own_[i + 1].load(); own != 0) modules[kModules[i]] = Lower(static_cast<Severity>(own));
    }
    return {{"default", Lower(static_cast<Severity>(default_.load()))}, {"modules", modules}};
  }

 private:
  static size_t Index(std::string_view module) {
    const auto it = std::find(kModules.begin(), kModules.end(), module);
    return it == kModules.end() ? kOtherModule : static_cast<size_t>(it - kModules.begin()) + 1;
  }
  static std::string Lower(Severity s) {
    std::string name(SeverityName(s));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }
  void Recompute() {
    int floor = default_.load();
    for (const auto& l : own_) {
      if (int own = l.load(); own != 0) floor = std::min(floor, own);
    }
    floor_.store(floor);
  }

  std::mutex mu_;  // serializes Set
  std::atomic<int> default_{static_cast<int>(Severity::kInfo)};
  std::array<std::atomic<int>, 16> own_;  // kModules.size() + 1 <= 16
  std::atomic<int> floor_{0};
};

Levels& TheLevels() {
  static Levels* levels = [] {
    auto* l = new Levels();
    if (const char* spec = std::getenv("VOXGATE_LOG_LEVEL"); spec != nullptr) {
      std::string error;
      auto parsed = ParseLogLevelSpec(spec, error);
      if (error.empty()) error = l->Set(parsed);
      if (!error.empty()) std::fprintf(stderr, "voxgate: VOXGATE_LOG_LEVEL ignored: %s\n", error.c_str());
    }
    return l;
  }();
  return *levels;
}

void WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // stdout is gone; nothing sensible left to do with the line
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The writer thread owns stdout; producers only append to a bounded queue.
class LogWriter {
 public:
  LogWriter() : thread_([this] { Run(); }) {}

  void Push(std::string line) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= kMaxQueuedLines) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      queue_.push_back(std::move(line));
    }
    cv_.notify_one();
  }

  void Flush() {
    std::unique_lock lock(mu_);
    flushed_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return queue_.empty() && !writing_; });
  }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait_for(lock, kDropReportInterval, [this] { return !queue_.empty(); });
      std::deque<std::string> batch;
      batch.swap(queue_);
      writing_ = true;
      lock.unlock();
      std::string out;
      for (auto& line : batch) {
        out += line;
        out += '\n';
      }
      out += DropReport();
      WriteAll(out);
      lock.lock();
      writing_ = false;
      flushed_cv_.notify_all();
    }
  }

  // Says once a second at most how many lines were dropped since the last report (written by the
  // writer itself, so it cannot be dropped).
  std::string DropReport() {
    const uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (dropped == reported_ || now - last_report_ < kDropReportInterval) return "";
    nlohmann::json line = {{"severity", "WARNING"},
                           {"message", "log lines dropped: the log writer could not keep up"},
                           {"time", FormatRfc3339Utc(std::chrono::system_clock::now())},
                           {"dropped", dropped - reported_},
                           {"dropped_total", dropped}};
    reported_ = dropped;
    last_report_ = now;
    return line.dump() + "\n";
  }

  std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  std::atomic<uint64_t> dropped_{0};
  uint64_t reported_ = 0;  // writer thread only
  std::chrono::steady_clock::time_point last_report_{};
  std::thread thread_;
};

LogWriter& Writer() {
  static LogWriter* writer = [] {
    auto* w = new LogWriter();  // never destroyed: logging works until exit
    Metrics().AddCallbackCounter("voxgate_log_lines_dropped_total",
                                 "Log lines dropped because the log writer's queue was full.",
                                 [w] { return static_cast<double>(w->dropped()); });
    return w;
  }();
  return *writer;
}

struct Sink {
  Severity min;
  std::function<void(const nlohmann::json&)> deliver;
};

std::mutex labels_mu;
nlohmann::json log_labels = nlohmann::json::object();
std::string trace_project = [] {
  const char* p = std::getenv("GOOGLE_CLOUD_PROJECT");
  return std::string(p != nullptr ? p : "");
}();
std::mutex sinks_mu;
std::vector<std::shared_ptr<const Sink>> sinks;
std::atomic<int> sinks_floor{static_cast<int>(Severity::kOff)};
thread_local bool in_sink = false;

void DeliverToSinks(Severity severity, const nlohmann::json& line) {
  if (in_sink || static_cast<int>(severity) < sinks_floor.load(std::memory_order_relaxed)) return;
  std::vector<std::shared_ptr<const Sink>> now;
  {
    std::lock_guard lock(sinks_mu);
    now = sinks;
  }
  in_sink = true;
  for (const auto& sink : now) {
    if (severity >= sink->min) sink->deliver(line);
  }
  in_sink = false;
}

}  // namespace

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kDebug: return "DEBUG";
    case Severity::kInfo: return "INFO";
    case Severity::kWarning: return "WARNING";
    case Severity::kError: return "ERROR";
    case Severity::kCritical: return "CRITICAL";
    case Severity::kOff: return "OFF";
  }
  return "DEFAULT";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (Severity s : {Severity::kDebug, Severity::kInfo, Severity::kWarning, Severity::kError, Severity::kCritical,
                     Severity::kOff}) {
    const std::string_view want = SeverityName(s);
    if (name.size() == want.size() &&
        std::equal(name.begin(), name.end(), want.begin(), [](char a, char b) { return std::toupper(a) == b; })) {
      return s;
    }
  }
  return std::nullopt;
}

std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t) {
  return FormatRfc3339(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count(), 6);
}

bool LogEnabledFor(Severity severity, std::string_view module) { return TheLevels().Enabled(severity, module); }

void Log(Severity severity, std::string_view message, nlohmann::json fields, SourceLocation where) {
  const std::string_view module = ModuleOf(where.file_name());
  if (!TheLevels().Enabled(severity, module)) return;
  nlohmann::json line = fields.is_object() ? std::move(fields) : nlohmann::json::object();
  line["severity"] = SeverityName(severity);
  line["message"] = message;
  line["time"] = FormatRfc3339Utc(std::chrono::system_clock::now());
  {
    std::lock_guard lock(labels_mu);
    nlohmann::json& labels = line["logging.googleapis.com/labels"] = log_labels;
    labels["module"] = module;
  }
  if (severity >= Severity::kWarning) {
    line["logging.googleapis.com/sourceLocation"] = {
        {"file", SourcePath(where.file_name())}, {"line", std::to_string(where.line())}, {"function", where.function_name()}};
  }
  DeliverToSinks(severity, line);
  // Replace invalid UTF-8 instead of throwing: a log line must never take a request down.
  Writer().Push(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

const std::vector<std::string>& LogModules() { return kModules; }

std::string SetLogLevels(const std::map<std::string, std::string>& levels) { return TheLevels().Set(levels); }

std::string CheckLogLevels(const std::map<std::string, std::string>& levels) {
  std::vector<std::pair<int, Severity>> changes;
  return Levels::Parse(levels, changes);
}

std::map<std::string, std::string> ParseLogLevelSpec(std::string_view spec, std::string& error) {
  std::map<std::string, std::string> levels;
  error.clear();
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      levels["default"] = std::string(item);
    } else if (eq == 0 || eq + 1 == item.size()) {
      error = "expected MODULE=LEVEL, got \"" + std::string(item) + "\"";
      return {};
    } else {
      levels[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
  }
  return levels;
}

nlohmann::json LogLevels() { return TheLevels().Json(); }

void SetLogLabels(nlohmann::json labels) {
  std::lock_guard lock(labels_mu);
  log_labels = labels.is_object() ? std::move(labels) : nlohmann::json::object();
}

void AddLogLabel(const std::string& key, const std::string& value) {
  std::lock_guard lock(labels_mu);
  log_labels[key] = value;
}

void SetLogTraceProject(std::string project) {
  std::lock_guard lock(labels_mu);
  trace_project = std::move(project);
}

void AddTraceFields(nlohmann::json& fields, const TraceContext& trace) {
  if (!trace.valid()) return;
  {
    std::lock_guard lock(labels_mu);
    fields["logging.googleapis.com/trace"] =
        trace_project.empty() ? trace.trace_id : "projects/" + trace_project + "/traces/" + trace.trace_id;
  }
  fields["logging.googleapis.com/spanId"] = trace.span_id;
  fields["logging.googleapis.com/trace_sampled"] = trace.sampled;
}

void AddLogSink(Severity min, std::function<void(const nlohmann::json& line)> sink) {
  std::lock_guard lock(sinks_mu);
  sinks.push_back(std::make_shared<const Sink>(Sink{min, std::move(sink)}));
  sinks_floor.store(std::min(sinks_floor.load(), static_cast<int>(min)));
}

uint64_t DroppedLogLines() { return Writer().dropped(); }

void FlushLogs() { Writer().Flush(); }

}  // namespace voxgate::core
