// The confirmation a protected environment asks for: the environment's name, typed on the
// terminal. It reads /dev/tty, not stdin, so `... apply -f - < manifests.yaml` still asks the
// person, and a pipe can never answer for them.
#pragma once

#include <string>

namespace voxgate::securekube {

enum class Confirmation {
  kConfirmed,
  kDeclined,     // something else was typed, or the input ended
  kNoTerminal,   // no controlling terminal to ask on
};

// Writes `prompt` to `out_fd` and reads one line (at most 256 bytes) from `in_fd`; confirmed
// when the line, without surrounding blanks, is exactly `expected`. When `in_fd` is a terminal,
// what was typed ahead after the answer is discarded (tcflush), so it cannot reach kubectl.
Confirmation AskForName(int in_fd, int out_fd, const std::string& prompt, const std::string& expected);

// The controlling terminal, /dev/tty, opened read-write and close-on-exec; -1 when there is
// none. The banner, the diff and the question all go there, so `2>log` cannot hide them.
int OpenTerminal();

// Writes all of `text` to `fd`.
bool WriteAll(int fd, const std::string& text);

}  // namespace voxgate::securekube
