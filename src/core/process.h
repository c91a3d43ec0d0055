// Process plumbing shared by every voxgate executable.
#pragma once

#include <cstdint>
#include <string>

namespace voxgate::core {

// Blocks SIGTERM and SIGINT in the calling thread (and in threads it starts later) so they can be
// taken synchronously with WaitForStopSignal; ignores SIGPIPE (a vanished client is an error
// code, not a crash). Call first thing in main.
void BlockStopSignals();
// Waits for SIGTERM or SIGINT; returns the signal.
int WaitForStopSignal();
// Raises this process's soft limit on open files to its hard limit (at most 2^20) and returns the
// limit it now has: a server holds a descriptor per connection, and the usual soft limit (1024) is
// below what limits.max_connections allows. Child processes (the built-in engines) inherit it.
uint64_t RaiseOpenFileLimit();
// The directory of the running executable (for finding sibling binaries).
std::string ExecutableDir();

// The CPUs this process may use, at least 1: its affinity mask, capped by its cgroup's CPU quota
// (a Kubernetes CPU limit). std::thread::hardware_concurrency() counts the node's CPUs, so a pod
// limited to 1 CPU on a 32-core node would size its thread pools for 32.
int UsableCpus();
// The whole cores a cgroup quota grants, rounded up: cgroup v2 `cpu.max` ("150000 100000" -> 2),
// or cgroup v1 quota and period in microseconds. 0: no quota ("max", -1) or unreadable.
int CoresFromCpuMax(const std::string& cpu_max);
int CoresFromCfsQuota(const std::string& quota_us, const std::string& period_us);

}  // namespace voxgate::core
