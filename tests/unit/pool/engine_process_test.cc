#include "pool/engine_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "testing/wait_for.h"

namespace voxgate::pool {
namespace {

using testing::WaitFor;

TEST(EngineProcess, RestartsACrashingProcessWithBackoff) {
  EngineProcess::Options options;
  options.name = "crasher";
  options.argv = {"/bin/sh", "-c", "exit 3"};
  options.initial_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(80);
  EngineProcess process(options);
  process.Start();
  EXPECT_TRUE(WaitFor([&] { return process.restarts() >= 3; }));
  process.Stop();
}

TEST(EngineProcess, StopTerminatesTheChild) {
  EngineProcess::Options options;
  options.name = "sleeper";
  options.argv = {"/bin/sleep", "60"};
  EngineProcess process(options);
  process.Start();
  ASSERT_TRUE(WaitFor([&] { return process.pid() > 0; }));
  const pid_t pid = process.pid();
  process.Stop(std::chrono::milliseconds(2000));
  EXPECT_EQ(process.pid(), -1);
  EXPECT_NE(kill(pid, 0), 0);  // reaped: no such process
  EXPECT_EQ(process.restarts(), 0);
}

TEST(EngineProcess, AKilledChildIsRestarted) {
  EngineProcess::Options options;
  options.name = "victim";
  options.argv = {"/bin/sleep", "60"};
  options.initial_backoff = std::chrono::milliseconds(20);
  EngineProcess process(options);
  process.Start();
  ASSERT_TRUE(WaitFor([&] { return process.pid() > 0; }));
  const pid_t first = process.pid();
  kill(first, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return process.pid() > 0 && process.pid() != first; }));
  EXPECT_EQ(process.restarts(), 1);
  process.Stop();
}

}  // namespace
}  // namespace voxgate::pool
