#include "securekube/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "core/rfc3339.h"

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
  return core::FormatRfc3339(std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count(), 3);
}

absl::StatusOr<AuditLog> AuditLog::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the audit log path is empty");
  if (absl::Status status = MakeParents(path); !status.ok()) return status;
  // O_NONBLOCK: a FIFO in the log's place must not hang secure-kube until someone reads it (it
  // fails at once without a reader, and is refused below with one). O_NOFOLLOW: a symbolic link
  // in its place could point the log anywhere.
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int error = errno;
    if (error == ELOOP) return absl::UnavailableError("the audit log " + path + " is a symbolic link (refused)");
    if (error == ENXIO) return absl::UnavailableError("the audit log " + path + " is not a regular file (a FIFO?)");
    return Errno("cannot open the audit log " + path, error);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::UnavailableError("the audit log " + path + " is not a regular file");
  }
  // Blocking again: a regular file's writes are complete or short, never EAGAIN, but nothing
  // else in the process should see a surprising flag.
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int error = errno;
    close(fd);
    return Errno("cannot open the audit log " + path, error);
  }
  return AuditLog(path, fd);
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), line_open_(other.line_open_) {
  other.fd_ = -1;
}

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    line_open_ = other.line_open_;
    other.fd_ = -1;
  }
  return *this;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) close(fd_);
}

absl::Status AuditLog::Append(const nlohmann::json& entry) {
  // Arguments are whatever the user typed: invalid UTF-8 is replaced rather than thrown on.
  // After a cut line whose end could not be written, this line starts with the missing "\n".
  const std::string line = std::string(line_open_ ? "\n" : "") +
                           entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  ssize_t written;
  do {
    written = write(fd_, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return Errno("cannot write the audit log " + path_, errno);
  line_open_ = false;
  if (static_cast<size_t>(written) != line.size()) {
    // End the cut line, so that it alone is lost and the next one is whole.
    if (written > 0) {
      ssize_t ended;
      do {
        ended = write(fd_, "\n", 1);
      } while (ended < 0 && errno == EINTR);
      line_open_ = ended != 1;
    }
    return absl::UnavailableError("cannot write the audit log " + path_ + ": short write (disk full?)");
  }
  return absl::OkStatus();
}

}  // namespace voxgate::securekube
