// The audit log: one JSON object per line, appended with O_APPEND in a single write(2), so lines
// of concurrent invocations never interleave (the kernel serialises appends to a regular file).
// The file is created 0600 (its folders 0700): it records who ran what where.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace voxgate::securekube {

// RFC 3339 in UTC with milliseconds: 2025-06-20T12:34:56.789Z.
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point time);

class AuditLog {
 public:
  // Opens (creating the file and its folders) for appending. Fails when the log cannot be
  // written: secure-kube then refuses changing commands. A symbolic link or anything but a
  // regular file in its place is refused (opened with O_NOFOLLOW and O_NONBLOCK: a FIFO would
  // otherwise block until someone read it).
  static absl::StatusOr<AuditLog> Open(const std::string& path);

  AuditLog(AuditLog&& other) noexcept;
  AuditLog& operator=(AuditLog&& other) noexcept;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  // Writes `entry` as one line; a short write is an error. The cut line is ended with "\n" (or,
  // when even that fails, the next line starts with one), so only that line is lost.
  absl::Status Append(const nlohmann::json& entry);

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
  bool line_open_ = false;  // the last write was cut and its "\n" could not be written
};

}  // namespace voxgate::securekube
