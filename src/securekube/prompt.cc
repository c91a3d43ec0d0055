#include "securekube/prompt.h"

namespace voxgate::securekube {

std::optional<PromptShell> ParsePromptShell(std::string_view name) {
  if (name == "bash") return PromptShell::kBash;
  if (name == "bash-escapes") return PromptShell::kBashEscapes;
  if (name == "zsh") return PromptShell::kZsh;
  if (name == "plain") return PromptShell::kPlain;
  if (name == "none") return PromptShell::kNone;
  return std::nullopt;
}

std::string PromptText(const Environment& env, PromptShell shell) {
  const bool danger = env.protection != Protection::kNone;
  const bool bold = env.protection == Protection::kLocked;
  // SGR: 1 bold, 31 red, 32 green.
  const std::string sgr = std::string(bold ? "1;" : "") + (danger ? "31" : "32");
  switch (shell) {
    case PromptShell::kBash:
      return "\001\033[" + sgr + "m\002" + env.name + "\001\033[0m\002";
    case PromptShell::kBashEscapes:
      return "\\[\\e[" + sgr + "m\\]" + env.name + "\\[\\e[0m\\]";
    case PromptShell::kZsh:
      return std::string(bold ? "%B" : "") + (danger ? "%F{red}" : "%F{green}") + env.name + "%f" + (bold ? "%b" : "");
    case PromptShell::kPlain:
      return "\033[" + sgr + "m" + env.name + "\033[0m";
    case PromptShell::kNone:
      return env.name;
  }
  return env.name;
}

}  // namespace voxgate::securekube
