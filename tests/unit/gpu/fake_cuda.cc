// A fake libcuda.so.1: cuDriverGetVersion answers FAKE_CUDA_DRIVER_VERSION (e.g. 12040), or
// fails with FAKE_CUDA_RESULT when that is set (CUDA_ERROR_NO_DEVICE is 100). The environment is
// read at each call so a test can change it between checks, and an engine process gets it too.
#include <cstdlib>

extern "C" int cuDriverGetVersion(int* version) {
  if (const char* rc = std::getenv("FAKE_CUDA_RESULT"); rc != nullptr && *rc != '\0') return std::atoi(rc);
  const char* v = std::getenv("FAKE_CUDA_DRIVER_VERSION");
  if (version == nullptr) return 1;  // CUDA_ERROR_INVALID_VALUE
  *version = v != nullptr ? std::atoi(v) : 13000;
  return 0;
}
