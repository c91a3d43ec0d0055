#include "core/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace voxgate::core {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view text, size_t at, size_t n, int* out) {
  if (at + n > text.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view t) {
  int year, month, day, hour, minute, second;
  if (!Digits(t, 0, 4, &year) || t.size() < 20 || t[4] != '-' || !Digits(t, 5, 2, &month) || t[7] != '-' ||
      !Digits(t, 8, 2, &day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !Digits(t, 11, 2, &hour) ||
      t[13] != ':' || !Digits(t, 14, 2, &minute) || t[16] != ':' || !Digits(t, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  size_t at = 19;
  int64_t micros = 0;
  if (at < t.size() && t[at] == '.') {
    ++at;
    int digits = 0;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') {
      if (digits < 6) micros = micros * 10 + (t[at] - '0');
      ++digits;
      ++at;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int64_t offset_s = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    int oh, om;
    if (!Digits(t, at + 1, 2, &oh) || at + 3 >= t.size() || t[at + 3] != ':' || !Digits(t, at + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_s = (t[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != t.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1000000 + micros;
}

std::string FormatRfc3339(int64_t micros, int fraction_digits) {
  // Floor division, so a time before the epoch has a positive fraction.
  int64_t seconds = micros / 1000000, fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  const std::time_t whole = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[64];
  int n = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                        utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  if (fraction_digits > 6) fraction_digits = 6;
  if (fraction_digits > 0) {
    int64_t divisor = 1;
    for (int i = fraction_digits; i < 6; ++i) divisor *= 10;
    n += std::snprintf(text + n, sizeof text - n, ".%0*lld", fraction_digits, static_cast<long long>(fraction / divisor));
  }
  std::snprintf(text + n, sizeof text - n, "Z");
  return text;
}

}  // namespace voxgate::core
