#include "securekube/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace voxgate::securekube {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(RunnerTest, PassesTheExitCodeThrough) {
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "exit 0"})->code, 0);
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "exit 3"})->code, 3);
  EXPECT_EQ(RunAndWait("sh", {"-c", "exit 255"})->code, 255);  // found in PATH
  EXPECT_EQ(RunAndWait("sh", {"-c", "exit 255"})->signal, 0);
}

TEST(RunnerTest, KilledBySignalIs128PlusNAndTheSignal) {
  absl::StatusOr<ChildExit> killed = RunAndWait("/bin/sh", {"-c", "kill -KILL $$"});
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->code, 128 + SIGKILL);
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "kill -TERM $$"})->signal, SIGTERM);
  // Exiting 137 is not being killed.
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "exit 137"})->signal, 0);
}

TEST(RunnerTest, ExitBySignalDiesTheSameWayWithoutACore) {
  for (int signo : {SIGTERM, SIGKILL, SIGQUIT, SIGINT}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      signal(signo == SIGKILL ? SIGTERM : signo, SIG_IGN);  // ignored before: restored anyway
      ExitBySignal(signo);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << signo << ": exited " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), signo);
    EXPECT_FALSE(WCOREDUMP(status)) << signo;
  }
}

TEST(RunnerTest, SetsTheChildsEnvironment) {
  setenv("SK_RUNNER_KEEP", "kept", 1);
  setenv("KUBECONFIG", "/users/own", 1);
  const std::string out = ::testing::TempDir() + "/sk-runner-env-" + std::to_string(getpid());
  RunOptions options;
  options.environment = {{"KUBECONFIG", "/env/kubeconfig"}};
  ASSERT_EQ(RunAndWait("/bin/sh", {"-c", "echo \"$KUBECONFIG $SK_RUNNER_KEEP\" > " + out}, options)->code, 0);
  EXPECT_EQ(Slurp(out), "/env/kubeconfig kept\n");
  unsetenv("KUBECONFIG");
  unsetenv("SK_RUNNER_KEEP");
  std::remove(out.c_str());
}

TEST(RunnerTest, StdinFromNullAndOutputToAnotherFd) {
  // Our stdin is a pipe with data in it: the child must read nothing of it.
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(write(in[1], "manifests\n", 10), 10);
  close(in[1]);
  const int saved_stdin = dup(STDIN_FILENO);
  ASSERT_EQ(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
  close(in[0]);
  const std::string out = ::testing::TempDir() + "/sk-runner-out-" + std::to_string(getpid());
  const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out_fd, 0);
  RunOptions options;
  options.stdin_from_null = true;
  options.output_fd = out_fd;
  absl::StatusOr<ChildExit> child = RunAndWait("/bin/sh", {"-c", "echo \"got[$(cat)]\"; echo err >&2"}, options);
  close(out_fd);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(Slurp(out), "got[]\nerr\n");
  // What the child did not read is still there for the next one.
  char buffer[16] = {};
  EXPECT_EQ(read(STDIN_FILENO, buffer, sizeof buffer), 10);
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  std::remove(out.c_str());
}

TEST(RunnerTest, MissingProgramIsNotFound) {
  absl::StatusOr<ChildExit> code = RunAndWait("/nonexistent/kubectl", {"get"});
  ASSERT_FALSE(code.ok());
  EXPECT_TRUE(absl::IsNotFound(code.status())) << code.status();
  code = RunAndWait("secure-kube-test-no-such-program", {});
  EXPECT_TRUE(absl::IsNotFound(code.status())) << code.status();
}

// Once `marker`.ready exists, a forked process (in its own process group when `own_group`)
// sends SIGTERM to this one, as `kill PID` from elsewhere would.
pid_t SendTermWhenReady(const std::string& marker, bool own_group) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    const std::string ready = marker + ".ready";
    for (int i = 0; i < 500 && access(ready.c_str(), F_OK) != 0; ++i) usleep(10000);
    kill(parent, SIGTERM);
    _exit(0);
  }
  return pid;
}

// The child records the signal it got and exits 42, or exits 7 after about a second.
absl::StatusOr<ChildExit> RunTrappingTerm(const std::string& marker) {
  return RunAndWait("/bin/sh", {"-c", "trap 'echo TERM > " + marker + "; exit 42' TERM; touch " + marker +
                                          ".ready; i=0; while [ $i -lt 10 ]; do sleep 0.1; i=$((i+1)); done; exit 7"});
}

TEST(RunnerTest, ForwardsTermToTheChild) {
  const std::string marker = ::testing::TempDir() + "/sk-runner-" + std::to_string(getpid());
  std::remove(marker.c_str());
  std::remove((marker + ".ready").c_str());
  const pid_t sender = SendTermWhenReady(marker, /*own_group=*/true);
  ASSERT_GT(sender, 0);
  absl::StatusOr<ChildExit> code = RunTrappingTerm(marker);
  waitpid(sender, nullptr, 0);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->code, 42);
  std::ifstream in(marker);
  std::string got;
  in >> got;
  EXPECT_EQ(got, "TERM");
  std::remove(marker.c_str());
  std::remove((marker + ".ready").c_str());
  // The handler is gone afterwards: SIGTERM's default action is back.
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

TEST(RunnerTest, SignalFromOurOwnProcessGroupIsNotForwarded) {
  // A sender in our process group (timeout(1), a terminal-less shell's kill of the group) has
  // reached the child already: forwarding would deliver it twice. So the child sees nothing here.
  const std::string marker = ::testing::TempDir() + "/sk-runner-group-" + std::to_string(getpid());
  std::remove(marker.c_str());
  std::remove((marker + ".ready").c_str());
  const pid_t sender = SendTermWhenReady(marker, /*own_group=*/false);
  ASSERT_GT(sender, 0);
  absl::StatusOr<ChildExit> code = RunTrappingTerm(marker);
  waitpid(sender, nullptr, 0);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->code, 7);
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
  std::remove((marker + ".ready").c_str());
}

TEST(RunnerTest, FindsExecutablesInPath) {
  EXPECT_TRUE(ExecutableInPath("sh"));
  EXPECT_FALSE(ExecutableInPath("secure-kube-test-no-such-program"));
  // A folder is not a plugin, even a searchable (x) one.
  const std::string dir = ::testing::TempDir() + "/sk-runner-path-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/kubectl-folder").c_str(), 0755);
  const std::string saved = std::getenv("PATH");
  setenv("PATH", (dir + ":" + saved).c_str(), 1);
  EXPECT_FALSE(ExecutableInPath("kubectl-folder"));
  setenv("PATH", saved.c_str(), 1);
  rmdir((dir + "/kubectl-folder").c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace voxgate::securekube
