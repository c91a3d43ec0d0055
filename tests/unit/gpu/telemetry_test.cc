// GPU telemetry: readings become metrics in base units and one "gpu telemetry" log line per
// sample (WARNING when an XID/ECC count rose); absent readings make no series; no NVML means "no
// GPU" and nothing else; the sampler stops cleanly, also when an NVML call hangs; promtool accepts
// the exposition.
#include "gpu/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "fake_nvml_control.h"
#include "testing/wait_for.h"

namespace voxgate::gpu {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using voxgate::testing::WaitFor;

struct LogLine {
  core::Severity severity;
  std::string message;
  nlohmann::json fields;
};

class CapturedLog {
 public:
  LogFn fn() {
    return [this](core::Severity s, std::string_view m, nlohmann::json f) {
      std::lock_guard lock(mu_);
      lines_.push_back({s, std::string(m), std::move(f)});
    };
  }
  std::vector<LogLine> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  std::vector<LogLine> with_message(const std::string& m) const {
    std::vector<LogLine> out;
    for (auto& l : lines()) {
      if (l.message == m) out.push_back(l);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<LogLine> lines_;
};

GpuReading H100(unsigned int index) {
  GpuReading r;
  r.index = index;
  r.uuid = "GPU-0000-" + std::to_string(index);
  r.name = "NVIDIA H100 80GB HBM3";
  r.utilization_ratio = 0.37;
  r.memory_used_bytes = 1234567890;
  r.memory_total_bytes = 85520809984ULL;
  r.temperature_celsius = 41;
  r.power_watts = 72.5;
  r.ecc_corrected = 3;
  r.ecc_uncorrected = 0;
  r.xid_errors = 0;
  return r;
}

const std::string kGpu0 = R"(gpu="0",uuid="GPU-0000-0",name="NVIDIA H100 80GB HBM3")";

// `promtool check metrics` on the exposition: "" when clean, else what it said.
std::string Promtool(const std::string& text) {
  char path[] = "/tmp/voxgate_gpu_metrics_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return "cannot create a temp file";
  close(fd);
  std::ofstream(path) << text;
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p != nullptr && fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = p != nullptr ? pclose(p) : -1;
  std::remove(path);
  if (rc != 0 && out.empty()) out = "promtool exited with " + std::to_string(rc);
  return out;
}

TEST(TelemetryRecorder, ReadingsBecomeMetricsInBaseUnits) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  recorder.RecordSystem({"580.65.06", 13000, 1});
  recorder.Record({H100(0)}, 0.25);
  const std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_utilization_ratio{" + kGpu0 + "} 0.37\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_memory_used_bytes{" + kGpu0 + "} 1234567890\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_memory_total_bytes{" + kGpu0 + "} 85520809984\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_temperature_celsius{" + kGpu0 + "} 41\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_power_watts{" + kGpu0 + "} 72.5\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_ecc_errors_total{" + kGpu0 + ",type=\"corrected\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_ecc_errors_total{" + kGpu0 + ",type=\"uncorrected\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_xid_errors_total{" + kGpu0 + "} 0\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_info{" + kGpu0 + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_driver_info{driver_version=\"580.65.06\",cuda_version=\"13.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_devices 1\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_telemetry_sample_duration_seconds 0.25\n"));

  const auto lines = log.with_message("gpu telemetry");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].severity, core::Severity::kInfo);  // the first sample is the baseline
  const auto& g = lines[0].fields["gpus"][0];
  EXPECT_EQ(g["gpu"], 0);
  EXPECT_EQ(g["uuid"], "GPU-0000-0");
  EXPECT_EQ(g["power_watts"], 72.5);
  EXPECT_EQ(g["memory_used_bytes"], 1234567890);
  EXPECT_EQ(g["ecc_corrected"], 3);
  EXPECT_FALSE(lines[0].fields.contains("rose"));
}

TEST(TelemetryRecorder, AbsentReadingsMakeNoSeriesAndNoLogField) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  GpuReading r;
  r.index = 0;
  r.name = "Tesla T4";
  r.temperature_celsius = 50;  // everything else unsupported
  recorder.Record({r}, 0.001);
  const std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_temperature_celsius{gpu=\"0\",uuid=\"\",name=\"Tesla T4\"} 50\n"));
  for (const char* absent : {"voxgate_gpu_utilization_ratio", "voxgate_gpu_memory_used_bytes", "voxgate_gpu_power_watts",
                             "voxgate_gpu_ecc_errors_total", "voxgate_gpu_xid_errors_total"}) {
    EXPECT_THAT(text, Not(HasSubstr(absent))) << absent;
  }
  const auto g = log.with_message("gpu telemetry").at(0).fields["gpus"][0];
  EXPECT_FALSE(g.contains("power_watts"));
  EXPECT_FALSE(g.contains("ecc_corrected"));
  EXPECT_EQ(g["temperature_celsius"], 50);
}

TEST(TelemetryRecorder, EccRiseIsAWarningAndCountsTheIncrease) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  auto r = H100(0);
  recorder.Record({r}, 0.001);
  r.ecc_corrected = 5;  // +2
  r.ecc_uncorrected = 1;  // +1
  recorder.Record({r}, 0.001);
  const auto lines = log.with_message("gpu telemetry");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].severity, core::Severity::kWarning);
  const auto& rose = lines[1].fields["rose"];
  ASSERT_EQ(rose.size(), 2u);
  EXPECT_EQ(rose[0]["counter"], "ecc_corrected");
  EXPECT_EQ(rose[0]["increase"], 2);
  EXPECT_EQ(rose[1]["counter"], "ecc_uncorrected");
  EXPECT_EQ(rose[1]["uuid"], "GPU-0000-0");
  const std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_ecc_errors_total{" + kGpu0 + ",type=\"corrected\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("voxgate_gpu_ecc_errors_total{" + kGpu0 + ",type=\"uncorrected\"} 1\n"));

  recorder.Record({r}, 0.001);  // unchanged: back to INFO
  EXPECT_EQ(log.with_message("gpu telemetry").at(2).severity, core::Severity::kInfo);
}

TEST(TelemetryRecorder, XidRiseIsAWarningWithTheXid) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  auto r = H100(0);
  recorder.Record({r}, 0.001);
  r.xid_errors = 1;
  r.last_xid = 79;
  recorder.Record({r}, 0.001);
  const auto line = log.with_message("gpu telemetry").at(1);
  EXPECT_EQ(line.severity, core::Severity::kWarning);
  EXPECT_EQ(line.fields["rose"][0]["counter"], "xid_errors");
  EXPECT_EQ(line.fields["rose"][0]["last_xid"], 79);
  EXPECT_EQ(line.fields["gpus"][0]["last_xid"], 79);
  EXPECT_THAT(registry.RenderText(), HasSubstr("voxgate_gpu_xid_errors_total{" + kGpu0 + "} 1\n"));
}

TEST(TelemetryRecorder, XidSeenBeforeTheFirstSampleIsAlreadyAWarning) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  auto r = H100(0);
  r.xid_errors = 1;  // XID counts start at 0 when telemetry starts
  r.last_xid = 13;
  recorder.Record({r}, 0.001);
  EXPECT_EQ(log.with_message("gpu telemetry").at(0).severity, core::Severity::kWarning);
}

TEST(TelemetryRecorder, EccCountThatRestartedCountsOnFromItsNewValue) {
  core::MetricsRegistry registry;
  CapturedLog log;
  TelemetryRecorder recorder(registry, log.fn());
  auto r = H100(0);
  r.ecc_corrected = 10;
  recorder.Record({r}, 0.001);
  r.ecc_corrected = 2;  // driver reloaded: volatile counts restarted
  recorder.Record({r}, 0.001);
  EXPECT_THAT(registry.RenderText(), HasSubstr("voxgate_gpu_ecc_errors_total{" + kGpu0 + ",type=\"corrected\"} 12\n"));
}

class GpuTelemetryTest : public ::testing::Test {
 protected:
  testing::FakeNvmlControl fake_{FAKE_NVML};
  core::MetricsRegistry registry_;
  CapturedLog log_;

  GpuTelemetry::Options Options(std::chrono::milliseconds interval) {
    GpuTelemetry::Options o;
    o.interval = interval;
    o.library_path = FAKE_NVML;
    o.registry = &registry_;
    o.log = log_.fn();
    return o;
  }
  void SetUpGpus() {
    fake_.set_device_count(2);
    for (unsigned int i = 0; i < 2; ++i) {
      fake_.set(i, "utilization", 10 * (i + 1));
      fake_.set(i, "memory_used", 1 << 30);
      fake_.set(i, "memory_total", 80LL << 30);
      fake_.set(i, "temperature", 40 + i);
      fake_.set(i, "power_mw", 70000 + i);
      fake_.set(i, "ecc_corrected", 0);
      fake_.set(i, "ecc_uncorrected", 0);
    }
    // A name with characters the exposition format must escape.
    fake_.set_name(1, "NVIDIA \"A100\" \\ PCIe", "GPU-1111");
  }
};

TEST_F(GpuTelemetryTest, NoLibraryMeansNoGpuAndNothingElse) {
  auto o = Options(std::chrono::milliseconds(10));
  o.library_path = "/nonexistent/libnvidia-ml.so.1";
  auto t = GpuTelemetry::Start(o);
  EXPECT_FALSE(t->has_gpu());
  EXPECT_THAT(t->no_gpu_reason(), HasSubstr("no GPU"));
  const auto lines = log_.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].message, "gpu telemetry off: no GPU");
  EXPECT_EQ(lines[0].severity, core::Severity::kInfo);
  EXPECT_TRUE(t->Stop());
  EXPECT_EQ(registry_.RenderText(), "");  // not one gpu metric
}

TEST_F(GpuTelemetryTest, DriverThatSeesNoGpuMeansNoGpu) {
  fake_.set_device_count(0);  // e.g. a container that was not given a GPU
  auto t = GpuTelemetry::Start(Options(std::chrono::milliseconds(10)));
  EXPECT_FALSE(t->has_gpu());
  EXPECT_THAT(t->no_gpu_reason(), HasSubstr("sees no GPU"));
  ASSERT_EQ(log_.with_message("gpu telemetry off: no GPU").size(), 1u);
  EXPECT_TRUE(log_.with_message("gpu telemetry").empty());
  EXPECT_EQ(fake_.calls("nvmlShutdown"), 1);  // NVML closed again at once
}

TEST_F(GpuTelemetryTest, SamplesPeriodicallyAndStopsCleanly) {
  SetUpGpus();
  auto t = GpuTelemetry::Start(Options(std::chrono::milliseconds(20)));
  ASSERT_TRUE(t->has_gpu());
  ASSERT_TRUE(WaitFor([&] { return t->samples() >= 3; }, std::chrono::seconds(5)));
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(t->Stop());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(500));
  const uint64_t after_stop = t->samples();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(t->samples(), after_stop);  // really stopped
  EXPECT_EQ(log_.with_message("gpu telemetry").size(), after_stop);  // one line per sample
  const auto on = log_.with_message("gpu telemetry on");
  ASSERT_EQ(on.size(), 1u);
  EXPECT_EQ(on[0].fields["gpus"], 2);
  EXPECT_EQ(on[0].fields["driver_version"], "580.65.06");
  EXPECT_EQ(fake_.calls("nvmlShutdown"), 0);
  t.reset();
  EXPECT_EQ(fake_.calls("nvmlShutdown"), 1);
}

TEST_F(GpuTelemetryTest, XidEventBetweenSamplesLogsAWarning) {
  SetUpGpus();
  auto t = GpuTelemetry::Start(Options(std::chrono::milliseconds(10)));
  ASSERT_TRUE(WaitFor([&] { return t->samples() >= 1; }, std::chrono::seconds(5)));
  fake_.push_xid(1, 79);
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& l : log_.with_message("gpu telemetry")) {
      if (l.severity == core::Severity::kWarning) return true;
    }
    return false;
  }, std::chrono::seconds(5)));
  t->Stop();
  EXPECT_THAT(registry_.RenderText(), HasSubstr("voxgate_gpu_xid_errors_total{gpu=\"1\",uuid=\"GPU-1111\""));
}

TEST_F(GpuTelemetryTest, PromtoolAcceptsTheExposition) {
  SetUpGpus();
  fake_.set(0, "ecc_corrected", 7);
  fake_.push_xid(0, 31);
  auto t = GpuTelemetry::Start(Options(std::chrono::milliseconds(10)));
  ASSERT_TRUE(WaitFor([&] { return t->samples() >= 2; }, std::chrono::seconds(5)));
  t->Stop();
  const std::string text = registry_.RenderText();
  EXPECT_THAT(text, HasSubstr(R"(name="NVIDIA \"A100\" \\ PCIe")"));
  EXPECT_THAT(text, HasSubstr("# TYPE voxgate_gpu_ecc_errors_total counter"));
  EXPECT_EQ(Promtool(text), "") << text;
}

// A hung NVML call stalls only the sampler: Stop returns within its deadline, leaves the sampler
// behind, and the sampler cleans up (nvmlShutdown) once the call returns.
TEST_F(GpuTelemetryTest, HungNvmlCallCannotStallStop) {
  SetUpGpus();
  auto o = Options(std::chrono::milliseconds(10));
  o.stop_timeout = std::chrono::milliseconds(200);
  auto t = GpuTelemetry::Start(o);
  ASSERT_TRUE(WaitFor([&] { return t->samples() >= 1; }, std::chrono::seconds(5)));
  const int calls_before = fake_.calls("nvmlDeviceGetTemperature");
  fake_.hang("nvmlDeviceGetTemperature", 800);
  ASSERT_TRUE(WaitFor([&] { return fake_.calls("nvmlDeviceGetTemperature") > calls_before; }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the sampler is inside the hung call now
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(t->Stop());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(1000));
  const auto stuck = log_.with_message("gpu telemetry sampler stuck in an NVML call; left behind at stop");
  ASSERT_EQ(stuck.size(), 1u);
  EXPECT_EQ(stuck[0].severity, core::Severity::kWarning);
  const size_t lines_at_stop = log_.lines().size();
  t.reset();
  ASSERT_TRUE(WaitFor([&] { return fake_.calls("nvmlShutdown") >= 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(log_.lines().size(), lines_at_stop);  // nothing recorded after it was left behind
}

TEST_F(GpuTelemetryTest, HungNvmlInitCannotStallTheStart) {
  SetUpGpus();
  fake_.hang("nvmlInit_v2", 1500);
  auto o = Options(std::chrono::milliseconds(10));
  o.open_timeout = std::chrono::milliseconds(200);
  const auto begin = std::chrono::steady_clock::now();
  auto t = GpuTelemetry::Start(o);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::milliseconds(1000));
  EXPECT_FALSE(t->has_gpu());
  const auto hung = log_.with_message("gpu telemetry off: NVML init hung");
  ASSERT_EQ(hung.size(), 1u);
  EXPECT_EQ(hung[0].severity, core::Severity::kWarning);
  // When init returns at last, the opener closes NVML again.
  ASSERT_TRUE(WaitFor([&] { return fake_.calls("nvmlShutdown") >= 1; }, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace voxgate::gpu
