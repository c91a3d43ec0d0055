// The test's handle on the fake libnvidia-ml.so.1: the same library the code under test dlopens
// (same path, so the same loaded copy), with its setters looked up by name.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace voxgate::gpu::testing {

class FakeNvmlControl {
 public:
  explicit FakeNvmlControl(const std::string& path) : handle_(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr) ADD_FAILURE() << "cannot load the fake NVML " << path << ": " << dlerror();
    reset = Sym<void (*)()>("fake_nvml_reset");
    set_device_count = Sym<void (*)(unsigned int)>("fake_nvml_set_device_count");
    set = Sym<void (*)(unsigned int, const char*, long long)>("fake_nvml_set");
    set_name = Sym<void (*)(unsigned int, const char*, const char*)>("fake_nvml_set_name");
    fail = Sym<void (*)(unsigned int, const char*, int)>("fake_nvml_fail");
    push_xid = Sym<void (*)(unsigned int, unsigned long long)>("fake_nvml_push_xid");
    set_init_result = Sym<void (*)(int)>("fake_nvml_set_init_result");
    hang = Sym<void (*)(const char*, int)>("fake_nvml_hang");
    calls = Sym<int (*)(const char*)>("fake_nvml_calls");
    reset();
  }
  ~FakeNvmlControl() {
    if (handle_ != nullptr) dlclose(handle_);
  }

  void (*reset)() = nullptr;
  void (*set_device_count)(unsigned int) = nullptr;
  void (*set)(unsigned int gpu, const char* key, long long value) = nullptr;
  void (*set_name)(unsigned int gpu, const char* name, const char* uuid) = nullptr;
  void (*fail)(unsigned int gpu, const char* function, int nvml_return) = nullptr;
  void (*push_xid)(unsigned int gpu, unsigned long long xid) = nullptr;
  void (*set_init_result)(int nvml_return) = nullptr;
  void (*hang)(const char* function, int milliseconds) = nullptr;
  int (*calls)(const char* function) = nullptr;

 private:
  template <typename Fn>
  Fn Sym(const char* name) {
    void* s = handle_ != nullptr ? dlsym(handle_, name) : nullptr;
    if (s == nullptr) ADD_FAILURE() << "fake NVML lacks " << name;
    return reinterpret_cast<Fn>(s);
  }
  void* handle_;
};

}  // namespace voxgate::gpu::testing
