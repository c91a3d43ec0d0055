// A fake libnvidia-ml.so.1 whose readings the test sets (fake_nvml_* below), loaded by the code
// under test with dlopen exactly like the real one. Built twice: in full, and with
// FAKE_NVML_MINIMAL (only nvmlInit_v2, nvmlShutdown, the device count/handle and the name), to
// show that missing symbols leave readings absent.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "gpu/internal/nvml_abi.h"

using namespace voxgate::gpu::internal;  // NOLINT

namespace {

struct FakeDevice {
  std::map<std::string, long long> values;      // utilization, memory_used, memory_total, temperature, power_mw, ecc_corrected, ecc_uncorrected
  std::map<std::string, int> errors;            // function name -> nvmlReturn_t to fail with
  std::string name = "Fake GPU";
  std::string uuid;
};

std::mutex mu;
unsigned int device_count = 0;
FakeDevice devices[8];
std::deque<std::pair<unsigned int, unsigned long long>> xid_queue;
int init_result = kNvmlSuccess;
std::map<std::string, int> hang_ms;
std::map<std::string, int> calls;
[[maybe_unused]] int event_set_token = 0;

nvmlDevice_t Handle(unsigned int i) { return reinterpret_cast<nvmlDevice_t>(&devices[i]); }

int IndexOf(nvmlDevice_t d) {
  for (unsigned int i = 0; i < device_count; ++i) {
    if (Handle(i) == d) return static_cast<int>(i);
  }
  return -1;
}

void MaybeHang(const char* fn) {
  int ms = 0;
  {
    std::lock_guard lock(mu);
    calls[fn]++;
    auto it = hang_ms.find(fn);
    if (it != hang_ms.end()) ms = it->second;
  }
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Looks up a value of a device; returns its error when the test set one.
[[maybe_unused]] nvmlReturn_t Get(nvmlDevice_t d, const char* fn, const char* key, long long* out) {
  MaybeHang(fn);
  std::lock_guard lock(mu);
  const int i = IndexOf(d);
  if (i < 0) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  auto e = devices[i].errors.find(fn);
  if (e != devices[i].errors.end()) return e->second;
  auto v = devices[i].values.find(key);
  if (v == devices[i].values.end()) return kNvmlErrorNotSupported;
  *out = v->second;
  return kNvmlSuccess;
}

}  // namespace

extern "C" {

// --- what the test controls ---
__attribute__((visibility("default"))) void fake_nvml_reset() {
  std::lock_guard lock(mu);
  device_count = 0;
  for (auto& d : devices) d = FakeDevice{};
  xid_queue.clear();
  init_result = kNvmlSuccess;
  hang_ms.clear();
  calls.clear();
}
__attribute__((visibility("default"))) void fake_nvml_set_device_count(unsigned int n) {
  std::lock_guard lock(mu);
  device_count = n;
  for (unsigned int i = 0; i < n; ++i) {
    if (devices[i].uuid.empty()) devices[i].uuid = "GPU-fake-" + std::to_string(i);
  }
}
__attribute__((visibility("default"))) void fake_nvml_set(unsigned int gpu, const char* key, long long value) {
  std::lock_guard lock(mu);
  devices[gpu].values[key] = value;
}
__attribute__((visibility("default"))) void fake_nvml_set_name(unsigned int gpu, const char* name, const char* uuid) {
  std::lock_guard lock(mu);
  devices[gpu].name = name;
  devices[gpu].uuid = uuid;
}
__attribute__((visibility("default"))) void fake_nvml_fail(unsigned int gpu, const char* function, int nvml_return) {
  std::lock_guard lock(mu);
  devices[gpu].errors[function] = nvml_return;
}
__attribute__((visibility("default"))) void fake_nvml_push_xid(unsigned int gpu, unsigned long long xid) {
  std::lock_guard lock(mu);
  xid_queue.emplace_back(gpu, xid);
}
__attribute__((visibility("default"))) void fake_nvml_set_init_result(int nvml_return) {
  std::lock_guard lock(mu);
  init_result = nvml_return;
}
__attribute__((visibility("default"))) void fake_nvml_hang(const char* function, int milliseconds) {
  std::lock_guard lock(mu);
  hang_ms[function] = milliseconds;
}
__attribute__((visibility("default"))) int fake_nvml_calls(const char* function) {
  std::lock_guard lock(mu);
  return calls[function];
}

// --- the NVML API ---
nvmlReturn_t nvmlInit_v2() {
  MaybeHang("nvmlInit_v2");
  std::lock_guard lock(mu);
  return init_result;
}
nvmlReturn_t nvmlShutdown() {
  MaybeHang("nvmlShutdown");
  return kNvmlSuccess;
}
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  std::lock_guard lock(mu);
  *count = device_count;
  return kNvmlSuccess;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  std::lock_guard lock(mu);
  if (index >= device_count) return 2;
  *device = Handle(index);
  return kNvmlSuccess;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* buf, unsigned int length) {
  std::lock_guard lock(mu);
  const int i = IndexOf(d);
  if (i < 0) return 2;
  std::snprintf(buf, length, "%s", devices[i].name.c_str());
  return kNvmlSuccess;
}

#ifndef FAKE_NVML_MINIMAL
const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {
    case 3: return "Not Supported";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
  }
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* buf, unsigned int length) {
  std::lock_guard lock(mu);
  const int i = IndexOf(d);
  if (i < 0) return 2;
  std::snprintf(buf, length, "%s", devices[i].uuid.c_str());
  return kNvmlSuccess;
}
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  long long v = 0;
  const nvmlReturn_t rc = Get(d, "nvmlDeviceGetUtilizationRates", "utilization", &v);
  if (rc == kNvmlSuccess) *u = nvmlUtilization_t{static_cast<unsigned int>(v), 0};
  return rc;
}
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  long long used = 0, total = 0;
  nvmlReturn_t rc = Get(d, "nvmlDeviceGetMemoryInfo", "memory_used", &used);
  if (rc == kNvmlSuccess) rc = Get(d, "nvmlDeviceGetMemoryInfo", "memory_total", &total);
  if (rc == kNvmlSuccess) {
    *m = nvmlMemory_t{static_cast<unsigned long long>(total), static_cast<unsigned long long>(total - used),
                      static_cast<unsigned long long>(used)};
  }
  return rc;
}
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int* t) {
  if (sensor != kNvmlTemperatureGpu) return 2;
  long long v = 0;
  const nvmlReturn_t rc = Get(d, "nvmlDeviceGetTemperature", "temperature", &v);
  if (rc == kNvmlSuccess) *t = static_cast<unsigned int>(v);
  return rc;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* mw) {
  long long v = 0;
  const nvmlReturn_t rc = Get(d, "nvmlDeviceGetPowerUsage", "power_mw", &v);
  if (rc == kNvmlSuccess) *mw = static_cast<unsigned int>(v);
  return rc;
}
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int type, int counter, unsigned long long* n) {
  if (counter != kNvmlVolatileEcc) return 2;
  long long v = 0;
  const nvmlReturn_t rc = Get(d, "nvmlDeviceGetTotalEccErrors",
                              type == kNvmlMemoryErrorCorrected ? "ecc_corrected" : "ecc_uncorrected", &v);
  if (rc == kNvmlSuccess) *n = static_cast<unsigned long long>(v);
  return rc;
}
nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  *set = reinterpret_cast<nvmlEventSet_t>(&event_set_token);
  return kNvmlSuccess;
}
nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t) { return kNvmlSuccess; }
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t) {
  std::lock_guard lock(mu);
  const int i = IndexOf(d);
  if (i < 0) return 2;
  auto e = devices[i].errors.find("nvmlDeviceRegisterEvents");
  if (e != devices[i].errors.end()) return e->second;
  return (types & kNvmlEventTypeXidCriticalError) != 0 ? kNvmlSuccess : 2;
}
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t, nvmlEventData_t* data, unsigned int) {
  std::lock_guard lock(mu);
  if (xid_queue.empty()) return kNvmlErrorTimeout;
  const auto [gpu, xid] = xid_queue.front();
  xid_queue.pop_front();
  *data = nvmlEventData_t{Handle(gpu), kNvmlEventTypeXidCriticalError, xid, 0xFFFFFFFFu, 0xFFFFFFFFu};
  return kNvmlSuccess;
}
nvmlReturn_t nvmlSystemGetDriverVersion(char* buf, unsigned int length) {
  std::snprintf(buf, length, "%s", "580.65.06");
  return kNvmlSuccess;
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* v) {
  *v = 13000;
  return kNvmlSuccess;
}
#endif  // FAKE_NVML_MINIMAL

}  // extern "C"
