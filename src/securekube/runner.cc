#include "securekube/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"

extern char** environ;

namespace voxgate::securekube {
namespace {

constexpr std::array kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

std::atomic<pid_t> g_child{0};

void Forward(int signo, siginfo_t* info, void*) {
  const pid_t child = g_child.load();
  if (child <= 0) return;
  const int saved_errno = errno;
  if (info != nullptr) {
    // The terminal's signals (SI_KERNEL) went to the whole foreground process group, which the
    // child shares with us (it is never moved out of it): it has one already.
    if (info->si_code == SI_KERNEL) return;
    // So did one from a process in our group (timeout(1) signals its whole group; kubectl may
    // signal its own): as sudo does, such a signal is taken as sent to the group.
    if (info->si_code == SI_USER || info->si_code == SI_QUEUE) {
      if (info->si_pid == child) return;
      const pid_t sender_group = getpgid(info->si_pid);
      if (sender_group >= 0 && (sender_group == getpgrp() || sender_group == child)) {
        errno = saved_errno;
        return;
      }
    }
  }
  kill(child, signo);
  errno = saved_errno;
}

bool Overridden(const char* entry, const RunOptions& options) {
  for (const auto& [name, value] : options.environment) {
    if (std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=') return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ChildExit> RunAndWait(const std::string& program, const std::vector<std::string>& args,
                                     const RunOptions& options) {
  std::vector<std::string> owned;
  owned.reserve(args.size() + 1);
  owned.push_back(program);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // The environment, built before fork (the child only calls async-signal-safe functions).
  std::vector<std::string> env_owned;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (!Overridden(*entry, options)) env_owned.emplace_back(*entry);
  }
  for (const auto& [name, value] : options.environment) env_owned.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_owned) envp.push_back(entry.data());
  envp.push_back(nullptr);
  int null_fd = -1;
  if (options.stdin_from_null) {
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) return absl::InternalError(std::string("/dev/null: ") + std::strerror(errno));
  }
  auto close_null = [&] {
    if (null_fd >= 0) close(null_fd);
  };

  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    const int error = errno;
    close_null();
    return absl::InternalError(std::string("pipe: ") + std::strerror(error));
  }

  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int signo : kForwarded) sigaddset(&forwarded, signo);
  // Blocked from before fork until the child's pid is known, so none is lost in between.
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  std::array<struct sigaction, kForwarded.size()> saved{};
  struct sigaction action {};
  action.sa_sigaction = Forward;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &action, &saved[i]);

  auto restore = [&] {
    g_child.store(0);
    for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &saved[i], nullptr);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
  };

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(report[0]);
    close(report[1]);
    close_null();
    restore();
    return absl::InternalError(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &saved[i], nullptr);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    close(report[0]);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (options.output_fd >= 0) {
      dup2(options.output_fd, STDOUT_FILENO);
      dup2(options.output_fd, STDERR_FILENO);
    }
    execvpe(argv[0], argv.data(), envp.data());
    const int error = errno;
    (void)!write(report[1], &error, sizeof error);
    _exit(127);
  }
  g_child.store(pid);
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  close(report[1]);
  close_null();
  int exec_error = 0;
  ssize_t got;
  do {
    got = read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(report[0]);

  // Wait without reaping: until it is reaped, the child's pid cannot be reused, so Forward can
  // still send to it safely. Once it is cleared, Forward sends nothing, and then it is reaped.
  siginfo_t exited{};
  while (waitid(P_PID, static_cast<id_t>(pid), &exited, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      const int error = errno;
      restore();
      return absl::InternalError(std::string("waitid: ") + std::strerror(error));
    }
  }
  g_child.store(0);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      const int error = errno;
      restore();
      return absl::InternalError(std::string("waitpid: ") + std::strerror(error));
    }
  }
  restore();
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    const std::string message = "cannot run " + program + ": " + std::strerror(exec_error);
    if (exec_error == ENOENT) return absl::NotFoundError(message);
    return absl::PermissionDeniedError(message);
  }
  if (WIFSIGNALED(status)) return ChildExit{128 + WTERMSIG(status), WTERMSIG(status)};
  return ChildExit{WEXITSTATUS(status), 0};
}

void ExitBySignal(int signo) {
  // kubectl's core dump (if any) is kubectl's; secure-kube's own would only mislead.
  const struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(signo, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signo);
  sigprocmask(SIG_UNBLOCK, &only, nullptr);
  kill(getpid(), signo);  // SIGKILL too: the kernel ends us before kill returns
  _exit(128 + signo);     // a signal whose default is not to end the process
}

bool ExecutableInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    // A folder named kubectl-foo is no plugin (kubectl skips it too).
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace voxgate::securekube
