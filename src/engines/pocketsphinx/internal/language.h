// BCP-47 language matching as the engine applies it to RecognitionConfig::language_code.
#pragma once

#include <string_view>

namespace voxgate::engines::pocketsphinx::internal {

// True when `requested` names the language `served`: the same tag ignoring case ('_' counts as
// '-'), or a bare primary subtag of it ("en" matches "en-US"). A different region ("en-GB")
// does not match: the router decides whether to fall back (it asks for its route's region).
bool LanguageMatches(std::string_view requested, std::string_view served);

}  // namespace voxgate::engines::pocketsphinx::internal
