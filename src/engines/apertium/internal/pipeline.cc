#include "engines/apertium/internal/pipeline.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <vector>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace voxgate::engines::apertium::internal {
namespace {

constexpr std::string_view kReserved = "\\[]^$/@<>{}";

// Runs `argv` and returns what it printed on stdout (the pipeline command of a mode file).
absl::StatusOr<std::string> Capture(const std::vector<std::string>& argv) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return absl::FailedPreconditionError(absl::StrCat("cannot run ", argv[0], ": ", std::strerror(rc)));
  }
  std::string text;
  std::array<char, 4096> buf;
  ssize_t n;
  while ((n = read(out[0], buf.data(), buf.size())) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf.data(), static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(argv[0], " failed for ", argv.back()));
  }
  return text;
}

int MillisUntil(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

std::string EscapeForApertium(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (kReserved.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string UnescapeFromApertium(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    out.push_back(text[i]);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Start(const std::string& mode_file) {
  auto command = Capture({"apertium-wblank-mode", "-z", mode_file});
  if (!command.ok()) return command.status();
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  // Its own process group (so a hung pipeline dies whole), default signals (the engine blocks
  // SIGTERM in its threads; the pipeline must not inherit that).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // The mode's $1 is the generator's unknown-word option (-n: no "*" marks), $2 the tagger's.
  std::string sh = "/bin/bash", c = "-c", name = "apertium-pipeline", unknown = "-n", tagger = "";
  char* argv[] = {sh.data(), c.data(), command->data(), name.data(), unknown.data(), tagger.data(), nullptr};
  auto pipeline = std::unique_ptr<Pipeline>(new Pipeline());
  const int rc = posix_spawn(&pipeline->pid_, sh.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  pipeline->to_ = in[1];
  pipeline->from_ = out[0];
  if (rc != 0) {
    pipeline->pid_ = -1;
    return absl::InternalError(absl::StrCat("cannot start the apertium pipeline: ", std::strerror(rc)));
  }
  return pipeline;
}

Pipeline::~Pipeline() {
  Kill();
  if (to_ >= 0) close(to_);
  if (from_ >= 0) close(from_);
}

void Pipeline::Kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

absl::StatusOr<std::string> Pipeline::TranslateLine(std::string_view line, std::chrono::steady_clock::time_point deadline) {
  if (pid_ <= 0) return absl::InternalError("the apertium pipeline is not running");
  // One request: the escaped text, a newline, then NUL (null-flush: translate what you have).
  std::string request = EscapeForApertium(line);
  request += '\n';
  request.push_back('\0');
  size_t written = 0;
  while (written < request.size()) {
    pollfd p{to_, POLLOUT, 0};
    const int ready = poll(&p, 1, MillisUntil(deadline));
    if (ready == 0) break;
    if (ready < 0 && errno == EINTR) continue;
    const ssize_t n = ready < 0 ? -1 : write(to_, request.data() + written, request.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Kill();
      return absl::InternalError(absl::StrCat("the apertium pipeline stopped taking input: ", std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  // The reply ends with NUL.
  std::string reply = std::move(pending_);
  pending_.clear();
  size_t end;
  while ((end = reply.find('\0')) == std::string::npos) {
    pollfd p{from_, POLLIN, 0};
    const int ready = written < request.size() ? 0 : poll(&p, 1, MillisUntil(deadline));
    if (ready == 0) {
      Kill();
      return absl::DeadlineExceededError("the apertium pipeline did not answer in time (restarted)");
    }
    if (ready < 0 && errno == EINTR) continue;
    std::array<char, 4096> buf;
    const ssize_t n = ready < 0 ? -1 : read(from_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Kill();
      return absl::InternalError("the apertium pipeline ended unexpectedly (restarted)");
    }
    reply.append(buf.data(), static_cast<size_t>(n));
  }
  pending_ = reply.substr(end + 1);
  reply.resize(end);
  // Apertium turns the blanks around a line into spaces; the line had none.
  const size_t first = reply.find_first_not_of(" \n");
  const size_t last = reply.find_last_not_of(" \n");
  return first == std::string::npos ? "" : UnescapeFromApertium(std::string_view(reply).substr(first, last - first + 1));
}

}  // namespace voxgate::engines::apertium::internal
