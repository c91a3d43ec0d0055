// A built-in engine run as a supervised child process: restarted with exponential backoff when it
// dies, stopped with SIGTERM (then SIGKILL) with the server, and killed by the kernel if the
// server itself dies (PR_SET_PDEATHSIG), so no engine outlives its gateway.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace voxgate::pool {

class EngineProcess {
 public:
  struct Options {
    std::string name;               // for logs, e.g. "asr-en-us/pocketsphinx-0"
    std::vector<std::string> argv;  // argv[0] is the executable path
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{30000};
    // A process that ran this long counts as healthy again: the next crash restarts at once-ish.
    std::chrono::milliseconds stable_after{60000};
  };
  explicit EngineProcess(Options options);
  ~EngineProcess();  // Stop()

  void Start();
  // SIGTERM, then SIGKILL after `grace`; no restart afterwards.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  int restarts() const;
  pid_t pid() const;

 private:
  void Supervise();
  pid_t Spawn();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  pid_t pid_ = -1;
  int restarts_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace voxgate::pool
