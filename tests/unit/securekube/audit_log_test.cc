#include "securekube/audit_log.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace voxgate::securekube {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/sk-audit-" + std::to_string(getpid()) + "/" + name;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditLogTest, FormatsRfc3339InUtcWithMilliseconds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatRfc3339Utc(std::chrono::system_clock::time_point(milliseconds(0))), "1970-01-01T00:00:00.000Z");
  // 2025-06-20T12:34:56.789Z
  EXPECT_EQ(FormatRfc3339Utc(std::chrono::system_clock::time_point(milliseconds(1750422896789))),
            "2025-06-20T12:34:56.789Z");
}

TEST(AuditLogTest, CreatesFileAndFoldersPrivateAndAppends) {
  const std::string path = TempPath("state/secure-kube/audit.jsonl");
  {
    absl::StatusOr<AuditLog> log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(log->Append({{"n", 1}}).ok());
  }
  {
    absl::StatusOr<AuditLog> log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(log->Append({{"n", 2}, {"argv", {"get", "\xff"}}}).ok());  // invalid UTF-8 is replaced
  }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((TempPath("state/secure-kube")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["n"], 1);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["n"], 2);
}

TEST(AuditLogTest, ConcurrentWritersNeverInterleave) {
  const std::string path = TempPath("concurrent.jsonl");
  const std::string padding(3000, 'x');  // lines longer than a pipe's atomic size
  constexpr int kWriters = 4, kLines = 200;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      absl::StatusOr<AuditLog> log = AuditLog::Open(path);
      if (!log.ok()) _exit(1);
      for (int i = 0; i < kLines; ++i) {
        if (!log->Append({{"writer", w}, {"i", i}, {"pad", padding}}).ok()) _exit(2);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kWriters * kLines));
  for (const std::string& line : lines) {
    const nlohmann::json entry = nlohmann::json::parse(line);  // throws (fails) on a mixed line
    EXPECT_EQ(entry["pad"], padding);
  }
}

TEST(AuditLogTest, UnwritablePathIsAnError) {
  EXPECT_FALSE(AuditLog::Open("/proc/self/no-such-dir/audit.jsonl").ok());
  EXPECT_FALSE(AuditLog::Open("").ok());
  // A folder is not a log.
  EXPECT_FALSE(AuditLog::Open(::testing::TempDir()).ok());
}

}  // namespace
}  // namespace voxgate::securekube
