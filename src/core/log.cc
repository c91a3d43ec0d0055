#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace voxgate::core {
namespace {

constexpr size_t kMaxQueuedLines = 8192;

Severity ParseSeverity(const char* name, Severity fallback) {
  if (name == nullptr) return fallback;
  std::string_view s(name);
  if (s == "debug") return Severity::kDebug;
  if (s == "info") return Severity::kInfo;
  if (s == "warning") return Severity::kWarning;
  if (s == "error") return Severity::kError;
  return fallback;
}

// The writer thread owns stdout; producers only append to a bounded queue.
class LogWriter {
 public:
  LogWriter() : thread_([this] { Run(); }) {}
  ~LogWriter() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

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
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      std::deque<std::string> batch;
      batch.swap(queue_);
      writing_ = true;
      lock.unlock();
      std::string out;
      for (auto& line : batch) {
        out += line;
        out += '\n';
      }
      WriteAll(out);
      lock.lock();
      writing_ = false;
      flushed_cv_.notify_all();
    }
  }

  static void WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return;  // stdout is gone; nothing sensible left to do with the line
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  bool writing_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

LogWriter& Writer() {
  static LogWriter* writer = new LogWriter();  // never destroyed: logging works until exit
  return *writer;
}

std::atomic<int> min_severity{static_cast<int>(ParseSeverity(std::getenv("VOXGATE_LOG_LEVEL"), Severity::kInfo))};
std::mutex labels_mu;
nlohmann::json log_labels = nlohmann::json::object();

}  // namespace

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kDebug: return "DEBUG";
    case Severity::kInfo: return "INFO";
    case Severity::kWarning: return "WARNING";
    case Severity::kError: return "ERROR";
    case Severity::kCritical: return "CRITICAL";
  }
  return "DEFAULT";
}

std::string FormatRfc3339Utc(std::chrono::system_clock::time_point t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1000000));
  return buf;
}

void Log(Severity severity, std::string_view message, nlohmann::json fields) {
  if (static_cast<int>(severity) < min_severity.load(std::memory_order_relaxed)) return;
  nlohmann::json line = fields.is_object() ? std::move(fields) : nlohmann::json::object();
  line["severity"] = SeverityName(severity);
  line["message"] = message;
  line["time"] = FormatRfc3339Utc(std::chrono::system_clock::now());
  {
    std::lock_guard lock(labels_mu);
    if (!log_labels.empty()) line["logging.googleapis.com/labels"] = log_labels;
  }
  // Replace invalid UTF-8 instead of throwing: a log line must never take a request down.
  Writer().Push(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void SetMinSeverity(Severity severity) { min_severity.store(static_cast<int>(severity)); }

void SetLogLabels(nlohmann::json labels) {
  std::lock_guard lock(labels_mu);
  log_labels = std::move(labels);
}

uint64_t DroppedLogLines() { return Writer().dropped(); }

void FlushLogs() { Writer().Flush(); }

}  // namespace voxgate::core
