#include "core/process.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace voxgate::core {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// ceil(quota / period), or 0 when there is no positive quota.
int CoresFromQuota(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);
}

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, rlim_t{1} << 20);
  if (limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

int WaitForStopSignal() {
  const sigset_t set = StopSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

std::string ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

int CoresFromCpuMax(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max") return 0;
  try {
    return CoresFromQuota(std::stoll(quota), period);
  } catch (const std::exception&) {
    return 0;
  }
}

int CoresFromCfsQuota(const std::string& quota_us, const std::string& period_us) {
  try {
    return CoresFromQuota(std::stoll(quota_us), std::stoll(period_us));
  } catch (const std::exception&) {
    return 0;
  }
}

int UsableCpus() {
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  // The process's own cgroup is the root of its namespace in a container (cgroup v2), else v1.
  int quota = CoresFromCpuMax(ReadFirstLine("/sys/fs/cgroup/cpu.max"));
  if (quota == 0) {
    quota = CoresFromCfsQuota(ReadFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                              ReadFirstLine("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  }
  if (quota > 0 && quota < cpus) cpus = quota;
  return std::max(1, cpus);
}

}  // namespace voxgate::core
