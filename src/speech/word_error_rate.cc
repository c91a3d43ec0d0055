#include "speech/word_error_rate.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace voxgate::speech {

std::vector<std::string> NormalizedWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'' || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

double WordErrorRate(std::string_view reference, std::string_view hypothesis) {
  const auto ref = NormalizedWords(reference);
  const auto hyp = NormalizedWords(hypothesis);
  if (ref.empty()) return static_cast<double>(hyp.size());
  // One row of the edit-distance table at a time.
  std::vector<size_t> prev(hyp.size() + 1), cur(hyp.size() + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      const size_t substitution = prev[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitution});
    }
    std::swap(prev, cur);
  }
  return static_cast<double>(prev[hyp.size()]) / static_cast<double>(ref.size());
}

}  // namespace voxgate::speech
