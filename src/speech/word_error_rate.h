#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace voxgate::speech {

// Lower-cased words with punctuation removed, as word error rate compares them.
std::vector<std::string> NormalizedWords(std::string_view text);

// Word-level Levenshtein distance divided by the reference length (0 for two empty texts,
// 1 per hypothesis word when the reference is empty).
double WordErrorRate(std::string_view reference, std::string_view hypothesis);

}  // namespace voxgate::speech
