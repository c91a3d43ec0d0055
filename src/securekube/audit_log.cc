#include "securekube/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/status/status.h"

namespace voxgate::securekube {
namespace {

absl::Status Errno(const std::string& what, int error) {
  return absl::UnavailableError(what + ": " + std::strerror(error));
}

// mkdir -p for the folders above `path`, new ones 0700.
absl::Status MakeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("cannot create " + dir, errno);
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatRfc3339Utc(std::chrono::system_clock::time_point time) {
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  const long fraction = static_cast<long>(millis - static_cast<long long>(seconds) * 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  const size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  char result[64];
  std::snprintf(result, sizeof result, "%.*s.%03ldZ", static_cast<int>(length), buffer, fraction);
  return result;
}

absl::StatusOr<AuditLog> AuditLog::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the audit log path is empty");
  if (absl::Status status = MakeParents(path); !status.ok()) return status;
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return Errno("cannot open the audit log " + path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::UnavailableError("the audit log " + path + " is not a regular file");
  }
  return AuditLog(path, fd);
}

AuditLog::AuditLog(AuditLog&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) close(fd_);
}

absl::Status AuditLog::Append(const nlohmann::json& entry) {
  // Arguments are whatever the user typed: invalid UTF-8 is replaced rather than thrown on.
  const std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ssize_t written;
  do {
    written = write(fd_, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return Errno("cannot write the audit log " + path_, errno);
  if (static_cast<size_t>(written) != line.size()) {
    return absl::UnavailableError("cannot write the audit log " + path_ + ": short write (disk full?)");
  }
  return absl::OkStatus();
}

}  // namespace voxgate::securekube
