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
// when the line, without surrounding blanks, is exactly `expected`.
Confirmation AskForName(int in_fd, int out_fd, const std::string& prompt, const std::string& expected);

// AskForName on /dev/tty.
Confirmation AskOnTerminal(const std::string& prompt, const std::string& expected);

}  // namespace voxgate::securekube
