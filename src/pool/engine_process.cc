#include "pool/engine_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/log.h"

namespace voxgate::pool {

EngineProcess::EngineProcess(Options options) : options_(std::move(options)) {}

EngineProcess::~EngineProcess() { Stop(); }

void EngineProcess::Start() { thread_ = std::thread([this] { Supervise(); }); }

pid_t EngineProcess::Spawn() {
  // Build argv before fork: only async-signal-safe calls are allowed in the child.
  std::vector<char*> argv;
  for (const auto& a : options_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void EngineProcess::Supervise() {
  auto backoff = options_.initial_backoff;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const pid_t pid = Spawn();
    if (pid < 0) {
      core::LogError("cannot start engine process", {{"engine", options_.name}, {"error", std::strerror(errno)}});
    } else {
      pid_ = pid;
      core::LogInfo("engine process started", {{"engine", options_.name}, {"pid", pid}});
      const auto started = std::chrono::steady_clock::now();
      int wstatus = 0;
      lock.unlock();
      while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      lock.lock();
      pid_ = -1;
      if (stopping_) break;
      const bool stable = std::chrono::steady_clock::now() - started >= options_.stable_after;
      if (stable) backoff = options_.initial_backoff;
      nlohmann::json fields = {{"engine", options_.name}, {"pid", pid}, {"restart_in_ms", backoff.count()}};
      if (WIFEXITED(wstatus)) fields["exit_code"] = WEXITSTATUS(wstatus);
      if (WIFSIGNALED(wstatus)) fields["signal"] = strsignal(WTERMSIG(wstatus));
      core::LogError("engine process died; restarting", fields);
    }
    restarts_++;
    cv_.wait_for(lock, backoff, [this] { return stopping_; });
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void EngineProcess::Stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (pid_ > 0) kill(pid_, SIGTERM);
  }
  cv_.notify_all();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (pid_ <= 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (thread_.joinable()) thread_.join();
}

int EngineProcess::restarts() const {
  std::lock_guard lock(mu_);
  return restarts_;
}

pid_t EngineProcess::pid() const {
  std::lock_guard lock(mu_);
  return pid_;
}

}  // namespace voxgate::pool
