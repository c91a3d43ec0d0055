// An engine executable with --gpu required on a node whose driver (a fake libcuda.so.1) is older
// than the build: it stays up, gRPC health answers NOT_SERVING, and its log says why and what to
// do. With a driver that can run the build it is SERVING. The engine is voxgate-engine-espeak
// (quick to load); every engine shares this path (rpc::ServeEngineUntilStopped).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gpu/cuda_check.h"
#include "rpc/remote_speech_service.h"

namespace voxgate::gpu {
namespace {

using ::testing::HasSubstr;

class EngineProcess {
 public:
  EngineProcess(std::vector<std::string> args, std::vector<std::string> env, const std::string& log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~EngineProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

std::vector<nlohmann::json> ReadLog(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

// The fake driver: built next to this test, or where scripts/gpu-check.sh unpacked it.
std::string FakeCuda() {
  const char* env = std::getenv("VOXGATE_FAKE_CUDA");
  return env != nullptr && *env != '\0' ? env : FAKE_CUDA;
}

class EngineGpuCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("VOXGATE_BIN_DIR");
    ASSERT_NE(bin, nullptr) << "run under ctest (VOXGATE_BIN_DIR)";
    engine_ = std::string(bin) + "/voxgate-engine-espeak";
    ASSERT_EQ(access(engine_.c_str(), X_OK), 0) << engine_ << " not built";
    char dir[] = "/tmp/voxgate_gpu_engine_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // Starts the engine with the fake driver at `driver_cuda`; returns its health once it answers.
  // driver_cuda "": the machine's real driver.
  absl::Status RunAndCheck(const std::string& driver_cuda, std::vector<nlohmann::json>* log) {
    const std::string socket = "unix:" + dir_ + "/engine.sock";
    const std::string log_path = dir_ + "/engine.log";
    absl::Status health = absl::DeadlineExceededError("engine never answered");
    {
      std::vector<std::string> env;
      if (!driver_cuda.empty()) env = {"VOXGATE_CUDA_LIBRARY=" + FakeCuda(), "FAKE_CUDA_DRIVER_VERSION=" + driver_cuda};
      EngineProcess engine({engine_, "--listen", socket, "--gpu", "required", "--gpu-telemetry-seconds", "1"}, env,
                           log_path);
      rpc::RemoteSpeechService remote(socket, {});
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < end) {
        health = remote.CheckHealth(std::chrono::milliseconds(500));
        // Unavailable / deadline: not listening yet. OK or FailedPrecondition: it answered.
        if (health.ok() || health.code() == absl::StatusCode::kFailedPrecondition) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      // The "engine serving" line comes right after health is set; give the writer a moment.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    *log = ReadLog(log_path);
    return health;
  }

  std::string engine_;
  std::string dir_;
};

TEST_F(EngineGpuCheckTest, DriverOlderThanTheBuildKeepsTheEngineNotServing) {
  if (BuiltForCudaVersion() < 13000) GTEST_SKIP() << "this build is not for CUDA 13 (no toolkit found)";
  std::vector<nlohmann::json> log;
  const absl::Status health = RunAndCheck("12040", &log);
  EXPECT_EQ(health.code(), absl::StatusCode::kFailedPrecondition) << health;  // NOT_SERVING
  bool explained = false, serving_line = false;
  for (const auto& l : log) {
    if (l.value("severity", "") == "ERROR" &&
        l.value("message", "").find("the NVIDIA driver supports CUDA 12.4 but this engine was built for CUDA 13.0") !=
            std::string::npos) {
      explained = true;
      EXPECT_THAT(l.value("message", ""), HasSubstr("driver \u2265 580"));
      EXPECT_EQ(l.value("driver_cuda", ""), "12.4");
    }
    if (l.value("message", "") == "engine serving") {
      serving_line = true;
      EXPECT_EQ(l.value("ready", true), false);
      EXPECT_EQ(l.value("compute", ""), "cpu");
    }
  }
  EXPECT_TRUE(explained) << "no ERROR line with the explicit message";
  EXPECT_TRUE(serving_line);
}

TEST_F(EngineGpuCheckTest, DriverThatCanRunTheBuildServes) {
  std::vector<nlohmann::json> log;
  const absl::Status health = RunAndCheck("13020", &log);
  EXPECT_TRUE(health.ok()) << health;
  bool ready_line = false;
  for (const auto& l : log) {
    if (l.value("message", "") == "engine serving") {
      ready_line = true;
      EXPECT_EQ(l.value("ready", false), true);
      EXPECT_EQ(l.value("compute", ""), "gpu");
    }
  }
  EXPECT_TRUE(ready_line);
}

// On a GPU node (scripts/gpu-check.sh): the real libcuda, the real NVML.
TEST_F(EngineGpuCheckTest, RealDriverServesWithGpuRequired) {
  const auto driver = CudaDriverVersion("libcuda.so.1");
  if (!driver.ok()) GTEST_SKIP() << "no NVIDIA driver on this machine: " << driver.status();
  std::vector<nlohmann::json> log;
  const absl::Status health = RunAndCheck("", &log);
  for (const auto& l : log) std::cout << l.dump() << "\n";
  const bool can_run = BuiltForCudaVersion() == 0 || *driver / 1000 >= BuiltForCudaVersion() / 1000;
  EXPECT_EQ(health.ok(), can_run) << health;
  bool telemetry = false;
  for (const auto& l : log) {
    if (l.value("message", "") == "gpu telemetry" && !l["gpus"].empty()) telemetry = true;
  }
  EXPECT_TRUE(telemetry) << "no \"gpu telemetry\" line with a GPU in it";
}

}  // namespace
}  // namespace voxgate::gpu
