#include "securekube/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"

namespace voxgate::securekube {
namespace {

constexpr std::array kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

std::atomic<pid_t> g_child{0};

void Forward(int signo, siginfo_t* info, void*) {
  const pid_t child = g_child.load();
  if (child <= 0) return;
  // The terminal's signals (SI_KERNEL) went to the whole foreground process group, which the
  // child shares with us (it is never moved out of it): it has one already.
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  const int saved_errno = errno;
  kill(child, signo);
  errno = saved_errno;
}

}  // namespace

absl::StatusOr<int> RunAndWait(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> owned;
  owned.reserve(args.size() + 1);
  owned.push_back(program);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The child reports a failed exec through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return absl::InternalError(std::string("pipe: ") + std::strerror(errno));

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
    restore();
    return absl::InternalError(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &saved[i], nullptr);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    close(report[0]);
    execvp(argv[0], argv.data());
    const int error = errno;
    (void)!write(report[1], &error, sizeof error);
    _exit(127);
  }
  g_child.store(pid);
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  close(report[1]);
  int exec_error = 0;
  ssize_t got;
  do {
    got = read(report[0], &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  close(report[0]);

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
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
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
    if (access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace voxgate::securekube
