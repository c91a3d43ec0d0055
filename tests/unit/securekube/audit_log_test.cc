#include "securekube/audit_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
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
  std::remove(path.c_str());
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
  std::remove(path.c_str());
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

TEST(AuditLogTest, FifoIsRefusedWithoutBlocking) {
  const std::string path = TempPath("fifo.jsonl");
  ASSERT_TRUE(AuditLog::Open(TempPath("make-folder")).ok());  // creates the test's folder
  std::remove(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  // No reader: a blocking open would hang here (the test has a timeout); it must fail at once.
  absl::StatusOr<AuditLog> log = AuditLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(std::string(log.status().message()).find("not a regular file"), std::string::npos) << log.status();
  // With a reader it opens, and is still refused: a FIFO is no log.
  const int reader = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  log = AuditLog::Open(path);
  EXPECT_FALSE(log.ok());
  close(reader);
}

TEST(AuditLogTest, SymbolicLinkIsRefused) {
  const std::string target = TempPath("target.jsonl");
  const std::string link = TempPath("link.jsonl");
  ASSERT_TRUE(AuditLog::Open(target).ok());
  std::remove(link.c_str());
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<AuditLog> log = AuditLog::Open(link);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(std::string(log.status().message()).find("symbolic link"), std::string::npos) << log.status();
  // A dangling one is not followed to create its target either.
  const std::string dangling = TempPath("dangling.jsonl");
  std::remove(dangling.c_str());
  ASSERT_EQ(symlink(TempPath("nowhere.jsonl").c_str(), dangling.c_str()), 0);
  EXPECT_FALSE(AuditLog::Open(dangling).ok());
  struct stat st {};
  EXPECT_NE(stat(TempPath("nowhere.jsonl").c_str(), &st), 0);
}

TEST(AuditLogTest, ShortWriteLosesOnlyItsOwnLine) {
  // A file size limit cuts the second line short (as a full disk would); once there is room
  // again, the next line must start on a line of its own.
  const std::string path = TempPath("short.jsonl");
  std::remove(path.c_str());
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death
    absl::StatusOr<AuditLog> log = AuditLog::Open(path);
    if (!log.ok() || !log->Append({{"n", 1}}).ok()) _exit(1);
    struct rlimit limit {};
    getrlimit(RLIMIT_FSIZE, &limit);
    const rlim_t saved = limit.rlim_cur;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) _exit(2);
    limit.rlim_cur = static_cast<rlim_t>(st.st_size) + 20;  // room for 20 bytes of the next line
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(3);
    if (log->Append({{"n", 2}, {"pad", std::string(200, 'x')}}).ok()) _exit(4);  // cut
    limit.rlim_cur = saved;
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(5);
    if (!log->Append({{"n", 3}}).ok()) _exit(6);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["n"], 1);
  EXPECT_EQ(lines[1].size(), 20u);  // the cut line, alone
  EXPECT_EQ(nlohmann::json::parse(lines[2])["n"], 3);
}

}  // namespace
}  // namespace voxgate::securekube
