#include "securekube/confirm.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace voxgate::securekube {
namespace {

constexpr size_t kMaxAnswer = 256;

std::string Trimmed(const std::string& text) {
  const char* blanks = " \t\r\n";
  const size_t first = text.find_first_not_of(blanks);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Confirmation AskForName(int in_fd, int out_fd, const std::string& prompt, const std::string& expected) {
  if (!WriteAll(out_fd, prompt)) return Confirmation::kDeclined;
  std::string answer;
  // Byte by byte, so nothing after the newline is taken from the terminal.
  while (answer.size() <= kMaxAnswer) {
    char c;
    const ssize_t n = read(in_fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      WriteAll(out_fd, "\n");
      return Confirmation::kDeclined;
    }
    if (c == '\n') break;
    answer += c;
  }
  // Lines typed ahead (a pasted block, an impatient Enter) are dropped, not left for kubectl.
  if (isatty(in_fd)) tcflush(in_fd, TCIFLUSH);
  return Trimmed(answer) == expected ? Confirmation::kConfirmed : Confirmation::kDeclined;
}

int OpenTerminal() { return open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC); }

}  // namespace voxgate::securekube
