#include "engines/pocketsphinx/internal/language.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"

namespace voxgate::engines::pocketsphinx::internal {
namespace {

// Lower case, '_' as '-'.
std::string Canonical(std::string_view tag) {
  std::string out(tag);
  for (char& c : out) c = c == '_' ? '-' : absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

}  // namespace

bool LanguageMatches(std::string_view requested, std::string_view served) {
  const std::string want = Canonical(requested);
  const std::string have = Canonical(served);
  if (want.empty()) return false;
  if (want == have) return true;
  if (want.find('-') != std::string::npos) return false;
  return want == have.substr(0, have.find('-'));
}

}  // namespace voxgate::engines::pocketsphinx::internal
