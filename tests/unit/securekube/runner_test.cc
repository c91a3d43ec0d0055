#include "securekube/runner.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace voxgate::securekube {
namespace {

TEST(RunnerTest, PassesTheExitCodeThrough) {
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "exit 0"}).value(), 0);
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "exit 3"}).value(), 3);
  EXPECT_EQ(RunAndWait("sh", {"-c", "exit 255"}).value(), 255);  // found in PATH
}

TEST(RunnerTest, KilledBySignalIs128PlusN) {
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "kill -KILL $$"}).value(), 128 + SIGKILL);
  EXPECT_EQ(RunAndWait("/bin/sh", {"-c", "kill -TERM $$"}).value(), 128 + SIGTERM);
}

TEST(RunnerTest, MissingProgramIsNotFound) {
  absl::StatusOr<int> code = RunAndWait("/nonexistent/kubectl", {"get"});
  ASSERT_FALSE(code.ok());
  EXPECT_TRUE(absl::IsNotFound(code.status())) << code.status();
  code = RunAndWait("secure-kube-test-no-such-program", {});
  EXPECT_TRUE(absl::IsNotFound(code.status())) << code.status();
}

TEST(RunnerTest, ForwardsTermToTheChild) {
  // The child records the signal it got and exits 42; we send SIGTERM to ourselves (as `kill`
  // from another process would) once it is waiting.
  const std::string marker = ::testing::TempDir() + "/sk-runner-" + std::to_string(getpid());
  std::remove(marker.c_str());
  std::thread sender([&] {
    for (int i = 0; i < 500 && access((marker + ".ready").c_str(), F_OK) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(getpid(), SIGTERM);
  });
  absl::StatusOr<int> code = RunAndWait(
      "/bin/sh", {"-c", "trap 'echo TERM > " + marker + "; exit 42' TERM; touch " + marker +
                            ".ready; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; exit 1"});
  sender.join();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 42);
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

TEST(RunnerTest, FindsExecutablesInPath) {
  EXPECT_TRUE(ExecutableInPath("sh"));
  EXPECT_FALSE(ExecutableInPath("secure-kube-test-no-such-program"));
}

}  // namespace
}  // namespace voxgate::securekube
