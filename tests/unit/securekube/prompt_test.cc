#include "securekube/prompt.h"

#include <gtest/gtest.h>

namespace voxgate::securekube {
namespace {

Environment Env(const std::string& name, Protection protection) {
  Environment env;
  env.name = name;
  env.context = "c";
  env.kube_namespace = "n";
  env.protection = protection;
  return env;
}

TEST(PromptTest, ColoursByProtection) {
  EXPECT_EQ(PromptText(Env("dev", Protection::kNone), PromptShell::kPlain), "\033[32mdev\033[0m");
  EXPECT_EQ(PromptText(Env("stage", Protection::kConfirm), PromptShell::kPlain), "\033[31mstage\033[0m");
  EXPECT_EQ(PromptText(Env("prod", Protection::kLocked), PromptShell::kPlain), "\033[1;31mprod\033[0m");
}

TEST(PromptTest, WrapsCodesForEachShell) {
  const Environment prod = Env("prod", Protection::kConfirm);
  EXPECT_EQ(PromptText(prod, PromptShell::kBash), "\001\033[31m\002prod\001\033[0m\002");
  EXPECT_EQ(PromptText(prod, PromptShell::kBashEscapes), "\\[\\e[31m\\]prod\\[\\e[0m\\]");
  EXPECT_EQ(PromptText(prod, PromptShell::kZsh), "%F{red}prod%f");
  EXPECT_EQ(PromptText(Env("prod", Protection::kLocked), PromptShell::kZsh), "%B%F{red}prod%f%b");
  EXPECT_EQ(PromptText(prod, PromptShell::kNone), "prod");
}

TEST(PromptTest, ParsesShellNames) {
  EXPECT_EQ(ParsePromptShell("zsh"), PromptShell::kZsh);
  EXPECT_EQ(ParsePromptShell("fish"), std::nullopt);
}

}  // namespace
}  // namespace voxgate::securekube
