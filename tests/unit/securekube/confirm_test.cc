#include "securekube/confirm.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace voxgate::securekube {
namespace {

// Answers `input` and returns what was confirmed and what the prompt wrote.
std::pair<Confirmation, std::string> Ask(const std::string& input, const std::string& expected) {
  int in[2], out[2];
  EXPECT_EQ(pipe(in), 0);
  EXPECT_EQ(pipe(out), 0);
  EXPECT_EQ(write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(in[1]);
  const Confirmation result = AskForName(in[0], out[1], "Type prod: ", expected);
  close(out[1]);
  char buffer[256];
  const ssize_t n = read(out[0], buffer, sizeof buffer);
  close(in[0]);
  close(out[0]);
  return {result, std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0)};
}

TEST(ConfirmTest, TheRightNameConfirms) {
  EXPECT_EQ(Ask("prod\n", "prod").first, Confirmation::kConfirmed);
  EXPECT_EQ(Ask("  prod \r\n", "prod").first, Confirmation::kConfirmed);
  EXPECT_EQ(Ask("prod\n", "prod").second, "Type prod: ");
}

TEST(ConfirmTest, AnythingElseDeclines) {
  EXPECT_EQ(Ask("yes\n", "prod").first, Confirmation::kDeclined);
  EXPECT_EQ(Ask("Prod\n", "prod").first, Confirmation::kDeclined);
  EXPECT_EQ(Ask("prod-eu\n", "prod").first, Confirmation::kDeclined);
  EXPECT_EQ(Ask("\n", "prod").first, Confirmation::kDeclined);
  EXPECT_EQ(Ask("", "prod").first, Confirmation::kDeclined);       // end of input
  EXPECT_EQ(Ask("prod", "prod").first, Confirmation::kDeclined);   // no Enter: input ended
  EXPECT_EQ(Ask(std::string(1000, 'p') + "\n", "prod").first, Confirmation::kDeclined);
  // Only the first line counts.
  EXPECT_EQ(Ask("no\nprod\n", "prod").first, Confirmation::kDeclined);
}

TEST(ConfirmTest, TypedAheadInputIsDiscardedOnATerminal) {
  // A pseudo-terminal: what is typed after the answer must not be left for kubectl to read.
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  const std::string typed = "prod\nrm -rf /\n";
  ASSERT_EQ(write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  tcdrain(master);
  usleep(50000);  // let the line discipline take both lines in
  EXPECT_EQ(AskForName(slave, slave, "Type prod: ", "prod"), Confirmation::kConfirmed);
  const int flags = fcntl(slave, F_GETFL);
  fcntl(slave, F_SETFL, flags | O_NONBLOCK);
  char buffer[64];
  EXPECT_LT(read(slave, buffer, sizeof buffer), 0);  // nothing left: EAGAIN
  EXPECT_EQ(errno, EAGAIN);
  close(slave);
  close(master);
}

}  // namespace
}  // namespace voxgate::securekube
