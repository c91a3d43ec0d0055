// Process plumbing shared by every voxgate executable.
#pragma once

#include <string>

namespace voxgate::core {

// Blocks SIGTERM and SIGINT in the calling thread (and in threads it starts later) so they can be
// taken synchronously with WaitForStopSignal; ignores SIGPIPE (a vanished client is an error
// code, not a crash). Call first thing in main.
void BlockStopSignals();
// Waits for SIGTERM or SIGINT; returns the signal.
int WaitForStopSignal();
// The directory of the running executable (for finding sibling binaries).
std::string ExecutableDir();

}  // namespace voxgate::core
