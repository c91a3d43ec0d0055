// `secure-kube prompt ENV`: the environment's name in its colour for a shell prompt (red for
// confirm and locked, green for none), wrapped so the shell does not count the colour codes as
// printed characters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "securekube/environments.h"

namespace voxgate::securekube {

enum class PromptShell {
  kBash,         // \001 ... \002 around the codes: what bash makes of \[ \], and it also works
                 // in the output of $(...), where bash no longer reads \[ \]
  kBashEscapes,  // literal \[\e[31m\] text, for pasting into a PS1 string
  kZsh,          // %F{red} ... %f
  kPlain,        // the ANSI codes alone
  kNone,         // the name alone
};

std::optional<PromptShell> ParsePromptShell(std::string_view name);

std::string PromptText(const Environment& env, PromptShell shell);

}  // namespace voxgate::securekube
