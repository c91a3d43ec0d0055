#include "gpu/nvml.h"

#include <dlfcn.h>

#include <cstdlib>

#include "absl/status/status.h"
#include "gpu/internal/nvml_abi.h"

namespace voxgate::gpu {

using namespace internal;  // NOLINT: the NVML ABI names, private to this module

struct Nvml::Api {
  void* handle = nullptr;
  NvmlInitFn init = nullptr;
  NvmlShutdownFn shutdown = nullptr;
  NvmlErrorStringFn error_string = nullptr;
  NvmlGetCountFn get_count = nullptr;
  NvmlGetHandleByIndexFn get_handle = nullptr;
  NvmlGetStringFn get_name = nullptr;
  NvmlGetStringFn get_uuid = nullptr;
  NvmlGetUtilizationFn get_utilization = nullptr;
  NvmlGetMemoryFn get_memory = nullptr;
  NvmlGetTemperatureFn get_temperature = nullptr;
  NvmlGetPowerFn get_power = nullptr;
  NvmlGetTotalEccFn get_total_ecc = nullptr;
  NvmlEventSetCreateFn event_set_create = nullptr;
  NvmlEventSetFreeFn event_set_free = nullptr;
  NvmlRegisterEventsFn register_events = nullptr;
  NvmlEventSetWaitFn event_set_wait = nullptr;
  NvmlSystemGetStringFn get_driver_version = nullptr;
  NvmlSystemGetIntFn get_cuda_driver_version = nullptr;
  nvmlEventSet_t xid_events = nullptr;
};

struct Nvml::Device {
  unsigned int index = 0;
  nvmlDevice_t handle = nullptr;
  std::string uuid;
  std::string name;
  bool xid_registered = false;
  uint64_t xid_errors = 0;
  std::optional<uint64_t> last_xid;
};

namespace {

// At most this many XID events are taken per sample, so a storm of them cannot keep the sampler
// in the drain loop; the rest stay queued in NVML for the next sample.
constexpr int kMaxXidEventsPerSample = 1024;

template <typename Fn>
Fn Resolve(void* handle, const char* name, std::vector<std::string>& missing) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) missing.emplace_back(name);
  return reinterpret_cast<Fn>(sym);
}

std::string TerminatedString(const char* buf, size_t size) {
  size_t n = 0;
  while (n < size && buf[n] != '\0') ++n;
  return std::string(buf, n);
}

}  // namespace

std::string DefaultNvmlLibrary() {
  const char* env = std::getenv("VOXGATE_NVML_LIBRARY");
  return env != nullptr && *env != '\0' ? env : "libnvidia-ml.so.1";
}

Nvml::Nvml() : api_(std::make_unique<Api>()) {}

Nvml::~Nvml() {
  if (api_->xid_events != nullptr && api_->event_set_free != nullptr) api_->event_set_free(api_->xid_events);
  if (api_->shutdown != nullptr) api_->shutdown();
  if (api_->handle != nullptr) dlclose(api_->handle);
}

std::string Nvml::ErrorString(int code) const {
  if (api_->error_string != nullptr) {
    if (const char* s = api_->error_string(code); s != nullptr) return std::string(s) + " (" + std::to_string(code) + ")";
  }
  return "NVML error " + std::to_string(code);
}

absl::StatusOr<std::unique_ptr<Nvml>> Nvml::Open(const std::string& library_path) {
  // RTLD_LOCAL: NVML's symbols stay out of the global namespace of the process.
  void* handle = dlopen(library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return absl::NotFoundError("no GPU: cannot load " + library_path + ": " + (err ? err : "unknown error"));
  }
  std::unique_ptr<Nvml> nvml(new Nvml());
  nvml->path_ = library_path;
  Api& a = *nvml->api_;
  a.handle = handle;
  auto& missing = nvml->missing_;
  a.init = Resolve<NvmlInitFn>(handle, "nvmlInit_v2", missing);
  if (a.init == nullptr) {
    return absl::FailedPreconditionError(library_path + " has no nvmlInit_v2: not a usable NVML");
  }
  a.shutdown = Resolve<NvmlShutdownFn>(handle, "nvmlShutdown", missing);
  a.error_string = Resolve<NvmlErrorStringFn>(handle, "nvmlErrorString", missing);
  a.get_count = Resolve<NvmlGetCountFn>(handle, "nvmlDeviceGetCount_v2", missing);
  a.get_handle = Resolve<NvmlGetHandleByIndexFn>(handle, "nvmlDeviceGetHandleByIndex_v2", missing);
  a.get_name = Resolve<NvmlGetStringFn>(handle, "nvmlDeviceGetName", missing);
  a.get_uuid = Resolve<NvmlGetStringFn>(handle, "nvmlDeviceGetUUID", missing);
  a.get_utilization = Resolve<NvmlGetUtilizationFn>(handle, "nvmlDeviceGetUtilizationRates", missing);
  a.get_memory = Resolve<NvmlGetMemoryFn>(handle, "nvmlDeviceGetMemoryInfo", missing);
  a.get_temperature = Resolve<NvmlGetTemperatureFn>(handle, "nvmlDeviceGetTemperature", missing);
  a.get_power = Resolve<NvmlGetPowerFn>(handle, "nvmlDeviceGetPowerUsage", missing);
  a.get_total_ecc = Resolve<NvmlGetTotalEccFn>(handle, "nvmlDeviceGetTotalEccErrors", missing);
  a.event_set_create = Resolve<NvmlEventSetCreateFn>(handle, "nvmlEventSetCreate", missing);
  a.event_set_free = Resolve<NvmlEventSetFreeFn>(handle, "nvmlEventSetFree", missing);
  a.register_events = Resolve<NvmlRegisterEventsFn>(handle, "nvmlDeviceRegisterEvents", missing);
  a.event_set_wait = Resolve<NvmlEventSetWaitFn>(handle, "nvmlEventSetWait_v2", missing);
  a.get_driver_version = Resolve<NvmlSystemGetStringFn>(handle, "nvmlSystemGetDriverVersion", missing);
  a.get_cuda_driver_version = Resolve<NvmlSystemGetIntFn>(handle, "nvmlSystemGetCudaDriverVersion", missing);

  if (const nvmlReturn_t rc = a.init(); rc != kNvmlSuccess) {
    const std::string why = nvml->ErrorString(rc);
    a.shutdown = nullptr;  // init failed: nothing to shut down
    return absl::FailedPreconditionError("NVML init failed: " + why);
  }

  unsigned int count = 0;
  if (a.get_count == nullptr || a.get_count(&count) != kNvmlSuccess) count = 0;
  if (a.get_handle == nullptr) count = 0;
  if (count > 0 && a.event_set_create != nullptr && a.register_events != nullptr && a.event_set_wait != nullptr) {
    if (a.event_set_create(&a.xid_events) != kNvmlSuccess) a.xid_events = nullptr;
  }
  for (unsigned int i = 0; i < count; ++i) {
    Device d;
    d.index = i;
    if (a.get_handle(i, &d.handle) != kNvmlSuccess) continue;  // e.g. no permission on that GPU
    char buf[kNvmlDeviceNameBufferSize] = {};
    if (a.get_name != nullptr && a.get_name(d.handle, buf, sizeof buf) == kNvmlSuccess) d.name = TerminatedString(buf, sizeof buf);
    char ubuf[kNvmlDeviceUuidBufferSize] = {};
    if (a.get_uuid != nullptr && a.get_uuid(d.handle, ubuf, sizeof ubuf) == kNvmlSuccess) d.uuid = TerminatedString(ubuf, sizeof ubuf);
    // NOT_SUPPORTED on GPUs without XID events (and in some containers): no XID counter for it.
    if (a.xid_events != nullptr) {
      d.xid_registered = a.register_events(d.handle, kNvmlEventTypeXidCriticalError, a.xid_events) == kNvmlSuccess;
    }
    nvml->devices_.push_back(std::move(d));
  }
  return nvml;
}

NvmlSystemInfo Nvml::System() const {
  NvmlSystemInfo info;
  info.gpu_count = static_cast<unsigned int>(devices_.size());
  char buf[kNvmlDriverVersionBufferSize] = {};
  if (api_->get_driver_version != nullptr && api_->get_driver_version(buf, sizeof buf) == kNvmlSuccess) {
    info.driver_version = TerminatedString(buf, sizeof buf);
  }
  int cuda = 0;
  if (api_->get_cuda_driver_version != nullptr && api_->get_cuda_driver_version(&cuda) == kNvmlSuccess) {
    info.cuda_driver_version = cuda;
  }
  return info;
}

void Nvml::DrainXidEvents() {
  if (api_->xid_events == nullptr) return;
  for (int i = 0; i < kMaxXidEventsPerSample; ++i) {
    nvmlEventData_t data{};
    // Timeout 0: take what is queued, never wait (the sampler must not block on events).
    if (api_->event_set_wait(api_->xid_events, &data, 0) != kNvmlSuccess) return;
    if ((data.eventType & kNvmlEventTypeXidCriticalError) == 0) continue;
    for (auto& d : devices_) {
      if (d.handle == data.device) {
        d.xid_errors++;
        d.last_xid = data.eventData;
      }
    }
  }
}

std::vector<GpuReading> Nvml::ReadAll() {
  DrainXidEvents();
  const Api& a = *api_;
  std::vector<GpuReading> out;
  out.reserve(devices_.size());
  for (const auto& d : devices_) {
    GpuReading r;
    r.index = d.index;
    r.uuid = d.uuid;
    r.name = d.name;
    if (nvmlUtilization_t u{}; a.get_utilization != nullptr && a.get_utilization(d.handle, &u) == kNvmlSuccess) {
      r.utilization_ratio = u.gpu / 100.0;
    }
    if (nvmlMemory_t m{}; a.get_memory != nullptr && a.get_memory(d.handle, &m) == kNvmlSuccess) {
      r.memory_used_bytes = m.used;
      r.memory_total_bytes = m.total;
    }
    if (unsigned int t = 0; a.get_temperature != nullptr && a.get_temperature(d.handle, kNvmlTemperatureGpu, &t) == kNvmlSuccess) {
      r.temperature_celsius = t;
    }
    if (unsigned int mw = 0; a.get_power != nullptr && a.get_power(d.handle, &mw) == kNvmlSuccess) {
      r.power_watts = mw / 1000.0;
    }
    // NOT_SUPPORTED where ECC is off or absent (most consumer boards): no ECC series for it.
    if (unsigned long long c = 0; a.get_total_ecc != nullptr &&
                                  a.get_total_ecc(d.handle, kNvmlMemoryErrorCorrected, kNvmlVolatileEcc, &c) == kNvmlSuccess) {
      r.ecc_corrected = c;
    }
    if (unsigned long long c = 0; a.get_total_ecc != nullptr &&
                                  a.get_total_ecc(d.handle, kNvmlMemoryErrorUncorrected, kNvmlVolatileEcc, &c) == kNvmlSuccess) {
      r.ecc_uncorrected = c;
    }
    if (d.xid_registered) {
      r.xid_errors = d.xid_errors;
      r.last_xid = d.last_xid;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace voxgate::gpu
