// The few NVML and CUDA driver types, constants and function signatures voxgate uses, declared
// here because no NVML header is installed where voxgate builds (the library itself is loaded at
// run time with dlopen, so the same binary runs on machines with no GPU).
//
// Where the ABI comes from: NVIDIA's nvml.h as vendored in NVIDIA/go-nvml pkg/nvml/nvml.h
// (NVML 12.2.140, from the cuda-nvml-dev 12.2.140 package) and the NVML API reference
// (docs.nvidia.com/deploy/nvml-api). Every value below is unchanged in the NVML 11.x-13.x headers
// checked (nvmlEventData_t grew gpuInstanceId/computeInstanceId in NVML 11; nvmlEventSetWait_v2
// fills that layout). cuDriverGetVersion: /usr/local/cuda-13.0/include/cuda.h.
#pragma once

#include <cstdint>

namespace voxgate::gpu::internal {

using nvmlReturn_t = int;  // enum nvmlReturn_enum; an int in the C ABI
inline constexpr nvmlReturn_t kNvmlSuccess = 0;
inline constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;
inline constexpr nvmlReturn_t kNvmlErrorTimeout = 10;
inline constexpr nvmlReturn_t kNvmlErrorFunctionNotFound = 13;
inline constexpr nvmlReturn_t kNvmlErrorUnknown = 999;

// nvml.h: typedef struct { struct nvmlDevice_st* handle; } nvmlDevice_t; -- one pointer, passed
// and returned exactly like a pointer.
struct nvmlDevice_st;
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlEventSet_st;
using nvmlEventSet_t = nvmlEventSet_st*;

struct nvmlUtilization_t {  // nvmlUtilization_st; percent over the driver's last sample period
  unsigned int gpu;
  unsigned int memory;
};

struct nvmlMemory_t {  // nvmlMemory_st (v1); bytes
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct nvmlEventData_t {  // nvmlEventData_st
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;  // the XID for nvmlEventTypeXidCriticalError (999: unknown)
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};
static_assert(sizeof(nvmlEventData_t) == 32, "nvmlEventData_t layout (x86-64 / arm64)");

inline constexpr int kNvmlTemperatureGpu = 0;           // NVML_TEMPERATURE_GPU
inline constexpr int kNvmlMemoryErrorCorrected = 0;     // NVML_MEMORY_ERROR_TYPE_CORRECTED
inline constexpr int kNvmlMemoryErrorUncorrected = 1;   // NVML_MEMORY_ERROR_TYPE_UNCORRECTED
// NVML_VOLATILE_ECC (0) counts since the driver loaded; NVML_AGGREGATE_ECC (1) over the board's
// lifetime. Volatile is what a counter since "the node came up" should be.
inline constexpr int kNvmlVolatileEcc = 0;
inline constexpr unsigned long long kNvmlEventTypeXidCriticalError = 0x0000000000000008ULL;

inline constexpr unsigned int kNvmlDeviceNameBufferSize = 96;     // NVML_DEVICE_NAME_V2_BUFFER_SIZE
inline constexpr unsigned int kNvmlDeviceUuidBufferSize = 96;     // NVML_DEVICE_UUID_V2_BUFFER_SIZE
inline constexpr unsigned int kNvmlDriverVersionBufferSize = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

// Function types, by the names dlsym looks up.
using NvmlInitFn = nvmlReturn_t (*)();                                          // nvmlInit_v2
using NvmlShutdownFn = nvmlReturn_t (*)();                                      // nvmlShutdown
using NvmlErrorStringFn = const char* (*)(nvmlReturn_t);                        // nvmlErrorString
using NvmlGetCountFn = nvmlReturn_t (*)(unsigned int*);                         // nvmlDeviceGetCount_v2
using NvmlGetHandleByIndexFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);   // nvmlDeviceGetHandleByIndex_v2
using NvmlGetStringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);    // nvmlDeviceGetName, nvmlDeviceGetUUID
using NvmlGetUtilizationFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlUtilization_t*);  // nvmlDeviceGetUtilizationRates
using NvmlGetMemoryFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*);            // nvmlDeviceGetMemoryInfo
using NvmlGetTemperatureFn = nvmlReturn_t (*)(nvmlDevice_t, int, unsigned int*);  // nvmlDeviceGetTemperature
using NvmlGetPowerFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned int*);             // nvmlDeviceGetPowerUsage (mW)
using NvmlGetTotalEccFn = nvmlReturn_t (*)(nvmlDevice_t, int, int, unsigned long long*);  // nvmlDeviceGetTotalEccErrors
using NvmlEventSetCreateFn = nvmlReturn_t (*)(nvmlEventSet_t*);                            // nvmlEventSetCreate
using NvmlEventSetFreeFn = nvmlReturn_t (*)(nvmlEventSet_t);                               // nvmlEventSetFree
using NvmlRegisterEventsFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned long long, nvmlEventSet_t);  // nvmlDeviceRegisterEvents
using NvmlEventSetWaitFn = nvmlReturn_t (*)(nvmlEventSet_t, nvmlEventData_t*, unsigned int);       // nvmlEventSetWait_v2
using NvmlSystemGetStringFn = nvmlReturn_t (*)(char*, unsigned int);  // nvmlSystemGetDriverVersion
using NvmlSystemGetIntFn = nvmlReturn_t (*)(int*);                    // nvmlSystemGetCudaDriverVersion

// cuda.h: CUresult CUDAAPI cuDriverGetVersion(int* driverVersion); CUDA_SUCCESS = 0. Needs no
// cuInit. The version is 1000 * major + 10 * minor (12040 = CUDA 12.4).
using CuDriverGetVersionFn = int (*)(int*);

}  // namespace voxgate::gpu::internal
