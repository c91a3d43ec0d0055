// The start-up CUDA check: the driver's CUDA version (from a fake libcuda.so.1) against the
// version the engine was built for decides readiness, with a message that names the fix.
#include "gpu/cuda_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace voxgate::gpu {
namespace {

using ::testing::HasSubstr;

class CudaCheckTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("FAKE_CUDA_DRIVER_VERSION");
    unsetenv("FAKE_CUDA_RESULT");
  }
  GpuStartupCheck Check(GpuMode mode, int built_for, const char* driver_version) {
    setenv("FAKE_CUDA_DRIVER_VERSION", driver_version, 1);
    return CheckGpuAtStartup(mode, built_for, FAKE_CUDA);
  }
};

TEST_F(CudaCheckTest, ReadsTheDriverVersionFromLibcuda) {
  setenv("FAKE_CUDA_DRIVER_VERSION", "12040", 1);
  EXPECT_EQ(CudaDriverVersion(FAKE_CUDA).value(), 12040);
  setenv("FAKE_CUDA_RESULT", "100", 1);  // CUDA_ERROR_NO_DEVICE
  EXPECT_EQ(CudaDriverVersion(FAKE_CUDA).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CudaDriverVersion("/nonexistent/libcuda.so.1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CudaCheckTest, OlderMajorDriverFailsReadinessWithTheFix) {
  const auto c = Check(GpuMode::kRequired, 13000, "12040");
  EXPECT_FALSE(c.ready);
  EXPECT_FALSE(c.use_gpu);
  EXPECT_EQ(c.severity, core::Severity::kError);
  EXPECT_EQ(c.message,
            "the NVIDIA driver supports CUDA 12.4 but this engine was built for CUDA 13.0; use a node pool with "
            "driver \u2265 580 or an image built for CUDA 12.4");
  EXPECT_EQ(c.fields["driver_cuda"], "12.4");
  EXPECT_EQ(c.fields["built_for_cuda"], "13.0");
  EXPECT_EQ(c.fields["gpu_mode"], "required");
}

TEST_F(CudaCheckTest, EqualOrNewerDriverIsReady) {
  for (const char* v : {"13000", "13020"}) {
    const auto c = Check(GpuMode::kRequired, 13000, v);
    EXPECT_TRUE(c.ready) << v;
    EXPECT_TRUE(c.use_gpu) << v;
    EXPECT_EQ(c.severity, core::Severity::kInfo) << v;
    EXPECT_THAT(c.message, HasSubstr("GPU ready")) << v;
  }
}

TEST_F(CudaCheckTest, OlderMinorOfTheSameMajorIsReadyWithAWarning) {
  // CUDA minor version compatibility (11.x and later): a 12.8 build runs on a 12.4 driver.
  const auto c = Check(GpuMode::kRequired, 12080, "12040");
  EXPECT_TRUE(c.ready);
  EXPECT_TRUE(c.use_gpu);
  EXPECT_EQ(c.severity, core::Severity::kWarning);
  EXPECT_THAT(c.message, HasSubstr("minor version compatibility"));
}

TEST_F(CudaCheckTest, NoDriverFailsReadinessWhenRequired) {
  const auto c = CheckGpuAtStartup(GpuMode::kRequired, 13000, "/nonexistent/libcuda.so.1");
  EXPECT_FALSE(c.ready);
  EXPECT_EQ(c.severity, core::Severity::kError);
  EXPECT_THAT(c.message, HasSubstr("no usable NVIDIA driver"));
  EXPECT_THAT(c.message, HasSubstr("--gpu required"));
  EXPECT_THAT(c.message, HasSubstr("driver \u2265 580"));
}

TEST_F(CudaCheckTest, AutoWithoutAGpuRunsOnTheCpu) {
  const auto c = CheckGpuAtStartup(GpuMode::kAuto, 13000, "/nonexistent/libcuda.so.1");
  EXPECT_TRUE(c.ready);
  EXPECT_FALSE(c.use_gpu);
  EXPECT_THAT(c.message, HasSubstr("running in CPU mode"));
}

TEST_F(CudaCheckTest, AutoWithAnOldDriverRunsOnTheCpuAndWarns) {
  const auto c = Check(GpuMode::kAuto, 13000, "12040");
  EXPECT_TRUE(c.ready);
  EXPECT_FALSE(c.use_gpu);
  EXPECT_EQ(c.severity, core::Severity::kWarning);
  EXPECT_THAT(c.message, HasSubstr("built for CUDA 13.0"));
  EXPECT_THAT(c.message, HasSubstr("running in CPU mode"));
}

TEST_F(CudaCheckTest, OffNeverLoadsTheDriver) {
  setenv("FAKE_CUDA_RESULT", "100", 1);
  const auto c = CheckGpuAtStartup(GpuMode::kOff, 13000, "/nonexistent/libcuda.so.1");
  EXPECT_TRUE(c.ready);
  EXPECT_FALSE(c.use_gpu);
  EXPECT_FALSE(c.fields.contains("driver_cuda"));
}

TEST_F(CudaCheckTest, NotBuiltForCudaOnlyNeedsADriver) {
  EXPECT_TRUE(Check(GpuMode::kRequired, 0, "11080").ready);
  EXPECT_FALSE(CheckGpuAtStartup(GpuMode::kRequired, 0, "/nonexistent/libcuda.so.1").ready);
}

TEST(CudaVersion, FormatsAndParses) {
  EXPECT_EQ(FormatCudaVersion(12040), "12.4");
  EXPECT_EQ(FormatCudaVersion(13000), "13.0");
  EXPECT_EQ(FormatCudaVersion(11080), "11.8");
  EXPECT_EQ(ParseGpuMode("required").value(), GpuMode::kRequired);
  EXPECT_EQ(ParseGpuMode("auto").value(), GpuMode::kAuto);
  EXPECT_FALSE(ParseGpuMode("yes").ok());
}

TEST(CudaVersion, BuildRecordsTheToolkitItSaw) {
  // CMake passes the toolkit's version (13.0 here: /usr/local/cuda-13.0) or 0 without one.
  const int v = BuiltForCudaVersion();
  EXPECT_TRUE(v == 0 || (v >= 11000 && v % 10 == 0)) << v;
  if (v > 0) {
    EXPECT_EQ(v, VOXGATE_EXPECTED_CUDA) << "the library and this test saw different CUDA toolkits";
  }
}

}  // namespace
}  // namespace voxgate::gpu
