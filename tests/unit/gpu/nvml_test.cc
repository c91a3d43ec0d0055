// Nvml against the fake libnvidia-ml.so.1: readings in base units, absent readings for missing
// symbols and NOT_SUPPORTED, "no GPU" without a library, XID events per GPU.
#include "gpu/nvml.h"

#include <gtest/gtest.h>

#include "fake_nvml_control.h"

namespace voxgate::gpu {
namespace {

constexpr int kNotSupported = 3;
constexpr int kDriverNotLoaded = 9;

class NvmlTest : public ::testing::Test {
 protected:
  testing::FakeNvmlControl fake_{FAKE_NVML};

  void SetUpH100(unsigned int gpu) {
    fake_.set_name(gpu, "NVIDIA H100 80GB HBM3", ("GPU-0000-" + std::to_string(gpu)).c_str());
    fake_.set(gpu, "utilization", 37);
    fake_.set(gpu, "memory_used", 1234567890LL);
    fake_.set(gpu, "memory_total", 85520809984LL);
    fake_.set(gpu, "temperature", 41);
    fake_.set(gpu, "power_mw", 72345);
    fake_.set(gpu, "ecc_corrected", 3);
    fake_.set(gpu, "ecc_uncorrected", 0);
  }
};

TEST_F(NvmlTest, ReadsEveryGpuInBaseUnits) {
  fake_.set_device_count(2);
  SetUpH100(0);
  SetUpH100(1);
  fake_.set(1, "utilization", 100);
  auto nvml = Nvml::Open(FAKE_NVML);
  ASSERT_TRUE(nvml.ok()) << nvml.status();
  EXPECT_TRUE((*nvml)->missing_symbols().empty());
  const auto info = (*nvml)->System();
  EXPECT_EQ(info.gpu_count, 2u);
  EXPECT_EQ(info.driver_version, "580.65.06");
  EXPECT_EQ(info.cuda_driver_version, 13000);

  const auto r = (*nvml)->ReadAll();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].index, 0u);
  EXPECT_EQ(r[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r[0].uuid, "GPU-0000-0");
  EXPECT_DOUBLE_EQ(r[0].utilization_ratio.value(), 0.37);  // percent -> ratio
  EXPECT_EQ(r[0].memory_used_bytes.value(), 1234567890u);
  EXPECT_EQ(r[0].memory_total_bytes.value(), 85520809984u);
  EXPECT_DOUBLE_EQ(r[0].temperature_celsius.value(), 41);
  EXPECT_DOUBLE_EQ(r[0].power_watts.value(), 72.345);  // milliwatts -> watts
  EXPECT_EQ(r[0].ecc_corrected.value(), 3u);
  EXPECT_EQ(r[0].ecc_uncorrected.value(), 0u);
  EXPECT_EQ(r[0].xid_errors.value(), 0u);  // registered for XID events, none yet
  EXPECT_FALSE(r[0].last_xid.has_value());
  EXPECT_EQ(r[1].uuid, "GPU-0000-1");
  EXPECT_DOUBLE_EQ(r[1].utilization_ratio.value(), 1.0);
}

TEST_F(NvmlTest, NotSupportedLeavesThatReadingAbsent) {
  fake_.set_device_count(1);
  SetUpH100(0);
  fake_.fail(0, "nvmlDeviceGetTotalEccErrors", kNotSupported);  // ECC off / consumer board
  fake_.fail(0, "nvmlDeviceGetPowerUsage", kNotSupported);
  fake_.fail(0, "nvmlDeviceRegisterEvents", kNotSupported);
  auto nvml = Nvml::Open(FAKE_NVML);
  ASSERT_TRUE(nvml.ok()) << nvml.status();
  const auto r = (*nvml)->ReadAll();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].ecc_corrected.has_value());
  EXPECT_FALSE(r[0].ecc_uncorrected.has_value());
  EXPECT_FALSE(r[0].power_watts.has_value());
  EXPECT_FALSE(r[0].xid_errors.has_value());
  EXPECT_TRUE(r[0].temperature_celsius.has_value());  // the others are still read
  EXPECT_TRUE(r[0].memory_used_bytes.has_value());
}

TEST_F(NvmlTest, MissingSymbolsLeaveReadingsAbsentWithoutCrashing) {
  testing::FakeNvmlControl minimal(FAKE_NVML_MINIMAL);
  minimal.set_device_count(1);
  minimal.set(0, "temperature", 50);
  auto nvml = Nvml::Open(FAKE_NVML_MINIMAL);
  ASSERT_TRUE(nvml.ok()) << nvml.status();
  const auto& missing = (*nvml)->missing_symbols();
  EXPECT_NE(std::find(missing.begin(), missing.end(), "nvmlDeviceGetTemperature"), missing.end());
  EXPECT_NE(std::find(missing.begin(), missing.end(), "nvmlEventSetWait_v2"), missing.end());
  const auto info = (*nvml)->System();
  EXPECT_EQ(info.gpu_count, 1u);
  EXPECT_FALSE(info.driver_version.has_value());
  const auto r = (*nvml)->ReadAll();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "Fake GPU");
  EXPECT_EQ(r[0].uuid, "");
  EXPECT_FALSE(r[0].utilization_ratio.has_value());
  EXPECT_FALSE(r[0].temperature_celsius.has_value());
  EXPECT_FALSE(r[0].memory_total_bytes.has_value());
  EXPECT_FALSE(r[0].xid_errors.has_value());
}

TEST_F(NvmlTest, NoLibraryMeansNoGpu) {
  auto nvml = Nvml::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(nvml.status().message().find("no GPU"), std::string_view::npos) << nvml.status();
}

TEST_F(NvmlTest, InitFailureSaysWhy) {
  fake_.set_init_result(kDriverNotLoaded);
  auto nvml = Nvml::Open(FAKE_NVML);
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(nvml.status().message().find("Driver Not Loaded"), std::string_view::npos) << nvml.status();
  EXPECT_EQ(fake_.calls("nvmlShutdown"), 0);  // nothing to shut down after a failed init
}

TEST_F(NvmlTest, XidEventsCountPerGpu) {
  fake_.set_device_count(2);
  SetUpH100(0);
  SetUpH100(1);
  auto nvml = Nvml::Open(FAKE_NVML);
  ASSERT_TRUE(nvml.ok()) << nvml.status();
  fake_.push_xid(1, 79);  // "GPU has fallen off the bus"
  fake_.push_xid(1, 48);  // double-bit ECC
  auto r = (*nvml)->ReadAll();
  EXPECT_EQ(r[0].xid_errors.value(), 0u);
  EXPECT_EQ(r[1].xid_errors.value(), 2u);
  EXPECT_EQ(r[1].last_xid.value(), 48u);
  r = (*nvml)->ReadAll();
  EXPECT_EQ(r[1].xid_errors.value(), 2u);  // counts stay, no new events
}

TEST_F(NvmlTest, ShutsNvmlDownWhenClosed) {
  fake_.set_device_count(1);
  { ASSERT_TRUE(Nvml::Open(FAKE_NVML).ok()); }
  EXPECT_EQ(fake_.calls("nvmlShutdown"), 1);
}

TEST(NvmlDefaults, LibraryPathComesFromTheEnvironment) {
  unsetenv("VOXGATE_NVML_LIBRARY");
  EXPECT_EQ(DefaultNvmlLibrary(), "libnvidia-ml.so.1");
  setenv("VOXGATE_NVML_LIBRARY", "/opt/x/libnvidia-ml.so.1", 1);
  EXPECT_EQ(DefaultNvmlLibrary(), "/opt/x/libnvidia-ml.so.1");
  unsetenv("VOXGATE_NVML_LIBRARY");
}

}  // namespace
}  // namespace voxgate::gpu
