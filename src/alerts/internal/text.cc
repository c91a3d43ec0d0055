#include "alerts/internal/text.h"

namespace voxgate::alerts::internal {
namespace {

// Bytes in the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte, so a
// malformed text still advances).
size_t SequenceBytes(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026, one UTF-16 unit

}  // namespace

size_t TextLength(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t bytes = SequenceBytes(static_cast<unsigned char>(s[i]));
    n += bytes == 4 ? 2 : 1;
    i += bytes;
  }
  return n;
}

std::string Truncate(std::string_view s, size_t max_chars) {
  if (TextLength(s) <= max_chars) return std::string(s);
  if (max_chars == 0) return "";
  size_t units = 0, i = 0;
  while (i < s.size()) {
    const size_t bytes = SequenceBytes(static_cast<unsigned char>(s[i]));
    const size_t u = bytes == 4 ? 2 : 1;
    if (units + u > max_chars - 1) break;  // room for the ellipsis
    units += u;
    i += bytes;
  }
  return std::string(s.substr(0, std::min(i, s.size()))).append(kEllipsis);
}

std::string TruncateBytes(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  if (max_bytes < kEllipsis.size()) return "";
  size_t i = 0;
  while (i < s.size()) {
    const size_t bytes = SequenceBytes(static_cast<unsigned char>(s[i]));
    if (i + bytes > max_bytes - kEllipsis.size()) break;
    i += bytes;
  }
  return std::string(s.substr(0, i)).append(kEllipsis);
}

std::string SlackEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace voxgate::alerts::internal
