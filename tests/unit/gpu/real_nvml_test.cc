// Against the machine's real NVIDIA driver: runs where dlopen finds libnvidia-ml.so.1 (a GPU
// node, scripts/gpu-check.sh) and skips cleanly elsewhere. Prints what it read, so the run is
// the proof.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "gpu/cuda_check.h"
#include "gpu/nvml.h"
#include "gpu/telemetry.h"

namespace voxgate::gpu {
namespace {

bool HaveRealNvml() {
  void* h = dlopen(DefaultNvmlLibrary().c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) return false;
  dlclose(h);
  return true;
}

TEST(RealNvml, ReadsEveryGpu) {
  if (!HaveRealNvml()) GTEST_SKIP() << "no " << DefaultNvmlLibrary() << " on this machine (no NVIDIA driver)";
  auto nvml = Nvml::Open();
  ASSERT_TRUE(nvml.ok()) << nvml.status();
  const auto info = (*nvml)->System();
  std::cout << "driver " << info.driver_version.value_or("?") << ", CUDA "
            << (info.cuda_driver_version ? FormatCudaVersion(*info.cuda_driver_version) : "?") << ", " << info.gpu_count
            << " GPU(s); missing functions: " << (*nvml)->missing_symbols().size() << "\n";
  for (const auto& m : (*nvml)->missing_symbols()) std::cout << "  missing " << m << "\n";
  ASSERT_GT(info.gpu_count, 0u);
  EXPECT_TRUE(info.driver_version.has_value());
  for (const auto& r : (*nvml)->ReadAll()) {
    auto show = [](const auto& v) { return v ? std::to_string(*v) : std::string("absent"); };
    std::cout << "gpu " << r.index << " " << r.name << " " << r.uuid << "\n  utilization_ratio "
              << show(r.utilization_ratio) << "\n  memory_used_bytes " << show(r.memory_used_bytes)
              << "\n  memory_total_bytes " << show(r.memory_total_bytes) << "\n  temperature_celsius "
              << show(r.temperature_celsius) << "\n  power_watts " << show(r.power_watts) << "\n  ecc corrected "
              << show(r.ecc_corrected) << " uncorrected " << show(r.ecc_uncorrected) << "\n  xid_errors "
              << show(r.xid_errors) << "\n";
    EXPECT_FALSE(r.name.empty());
    EXPECT_EQ(r.uuid.rfind("GPU-", 0), 0u) << r.uuid;
    ASSERT_TRUE(r.memory_total_bytes.has_value());
    EXPECT_GT(*r.memory_total_bytes, 1ULL << 30);
    ASSERT_TRUE(r.memory_used_bytes.has_value());
    EXPECT_LE(*r.memory_used_bytes, *r.memory_total_bytes);
    if (r.utilization_ratio) {
      EXPECT_GE(*r.utilization_ratio, 0.0);
      EXPECT_LE(*r.utilization_ratio, 1.0);
    }
    if (r.temperature_celsius) {
      EXPECT_GT(*r.temperature_celsius, 0.0);
      EXPECT_LT(*r.temperature_celsius, 120.0);
    }
    if (r.power_watts) {
      EXPECT_GT(*r.power_watts, 1.0);  // watts, not milliwatts...
      EXPECT_LT(*r.power_watts, 2000.0);  // ...and not kilowatts
    }
  }
}

TEST(RealNvml, TelemetryExpositionIsCleanForPromtool) {
  if (!HaveRealNvml()) GTEST_SKIP() << "no NVIDIA driver on this machine";
  core::MetricsRegistry registry;
  GpuTelemetry::Options o;
  o.interval = std::chrono::milliseconds(100);
  o.registry = &registry;
  auto t = GpuTelemetry::Start(o);
  ASSERT_TRUE(t->has_gpu()) << t->no_gpu_reason();
  for (int i = 0; i < 100 && t->samples() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(t->samples(), 2u);
  t->Stop();
  const std::string text = registry.RenderText();
  std::cout << text;
  // scripts/gpu-check.sh brings this file back and runs promtool on it where promtool is.
  if (const char* out = std::getenv("VOXGATE_GPU_METRICS_OUT"); out != nullptr && *out != '\0') {
    std::ofstream(out) << text;
  }
  EXPECT_THAT(text, ::testing::HasSubstr("voxgate_gpu_memory_total_bytes{gpu=\"0\""));
  FILE* p = popen("command -v promtool >/dev/null && promtool check metrics 2>&1 || echo 'promtool not installed (skipped)'", "w");
  if (p != nullptr) {
    fwrite(text.data(), 1, text.size(), p);
    const int rc = pclose(p);
    EXPECT_EQ(rc, 0);
  }
}

TEST(RealCuda, DriverCanRunThisBuild) {
  auto v = CudaDriverVersion();
  if (!v.ok() && v.status().code() == absl::StatusCode::kNotFound) GTEST_SKIP() << v.status();
  ASSERT_TRUE(v.ok()) << v.status();
  const auto c = CheckGpuAtStartup(GpuMode::kRequired);
  std::cout << "cuDriverGetVersion " << *v << " (CUDA " << FormatCudaVersion(*v) << "), built for "
            << (BuiltForCudaVersion() ? FormatCudaVersion(BuiltForCudaVersion()) : std::string("none")) << ": "
            << c.message << "\n";
  EXPECT_TRUE(c.ready) << c.message;
}

}  // namespace
}  // namespace voxgate::gpu
