#include "logs/record_reader.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"

namespace voxgate::logs {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool AllBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsBlank(c); });
}

// The first of the bytes Cs in [p, end), eight bytes at a time (SWAR): an export is mostly
// strings and indentation, which the brace matching only has to skip.
template <char... Cs>
const char* FindFirstOf(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    const auto zero_bytes = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      // Borrows can only mark bytes above the first match, so the lowest mark is exact.
      const uint64_t marks = (zero_bytes(w ^ (kOnes * static_cast<unsigned char>(Cs))) | ...);
      if (marks != 0) return p + (std::countr_zero(marks) >> 3);
      p += 8;
    }
  }
  for (; p != end; ++p) {
    if (((*p == Cs) || ...)) return p;
  }
  return end;
}

}  // namespace

absl::StatusOr<size_t> FdSource::Read(char* buffer, size_t size) {
  while (true) {
    const ssize_t n = ::read(fd_, buffer, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return absl::InternalError(std::string("read: ") + std::strerror(errno));
  }
}

absl::StatusOr<size_t> StringSource::Read(char* buffer, size_t size) {
  const size_t n = std::min({size, max_read_, data_.size()});
  std::memcpy(buffer, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

RecordReader::RecordReader(ByteSource& source, size_t max_record, size_t chunk)
    : source_(source),
      max_record_(max_record),
      // Room for a whole record of the maximum size plus a chunk after it: a record that fits
      // is always whole in the buffer, and a read is never smaller than a chunk.
      buffer_(new char[max_record + chunk + 1]),
      capacity_(max_record + chunk + 1) {}

absl::StatusOr<bool> RecordReader::Fill() {
  if (eof_) return false;
  if (head_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + head_, tail_ - head_);
    scan_ -= head_;
    tail_ -= head_;
    head_ = 0;
  }
  auto n = source_.Read(buffer_.get() + tail_, capacity_ - tail_);
  if (!n.ok()) return n.status();
  if (*n == 0) {
    eof_ = true;
    return false;
  }
  tail_ += *n;
  counts_.bytes += *n;
  if (on_read_) on_read_(counts_.bytes);
  return true;
}

absl::Status RecordReader::Detect() {
  // Enough bytes to see a UTF-8 byte order mark (editors on Windows write one): not content.
  while (tail_ < 3) {
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  if (tail_ >= 3 && std::memcmp(buffer_.get(), "\xEF\xBB\xBF", 3) == 0) scan_ = 3;
  while (true) {
    while (scan_ < tail_ && IsBlank(buffer_[scan_])) ++scan_;
    head_ = scan_;
    if (scan_ < tail_) break;
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  form_ = scan_ < tail_ && buffer_[scan_] == '[' ? InputForm::kJsonArray : InputForm::kJsonLines;
  return absl::OkStatus();
}

absl::StatusOr<bool> RecordReader::Next(std::string_view* record) {
  if (form_ == InputForm::kUnknown) {
    if (auto status = Detect(); !status.ok()) return status;
  }
  return form_ == InputForm::kJsonArray ? NextObject(record) : NextLine(record);
}

absl::StatusOr<bool> RecordReader::NextLine(std::string_view* record) {
  while (true) {
    const char* begin = buffer_.get();
    const void* newline = scan_ < tail_ ? std::memchr(begin + scan_, '\n', tail_ - scan_) : nullptr;
    if (newline != nullptr) {
      const size_t end = static_cast<size_t>(static_cast<const char*>(newline) - begin);
      const size_t start = head_;
      head_ = scan_ = end + 1;
      if (skipping_) {
        skipping_ = false;
        continue;
      }
      std::string_view line(begin + start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF line breaks
      if (AllBlank(line)) continue;
      ++counts_.records;
      *record = line;
      return true;
    }
    scan_ = tail_;
    if (skipping_ || tail_ - head_ > max_record_) {
      if (!skipping_) ++counts_.oversized;
      skipping_ = true;
      head_ = tail_;  // drop what was read of it
    }
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) {
      // The last line may lack its line break.
      std::string_view line(buffer_.get() + head_, tail_ - head_);
      head_ = scan_ = tail_;
      if (skipping_ || AllBlank(line)) return false;
      ++counts_.records;
      *record = line;
      return true;
    }
  }
}

absl::StatusOr<bool> RecordReader::NextObject(std::string_view* record) {
  while (true) {
    const char* b = buffer_.get();
    size_t i = scan_;
    while (i < tail_) {
      const char c = b[i];
      if (in_string_) {
        if (escape_) {
          escape_ = false;
          ++i;
          continue;
        }
        i = static_cast<size_t>(FindFirstOf<'"', '\\'>(b + i, b + tail_) - b);
        if (i == tail_) break;
        if (b[i] == '\\') {
          escape_ = true;
        } else {
          in_string_ = false;
        }
        ++i;
        continue;
      }
      if (depth_ > 0 && c != '"' && c != '{' && c != '}') {
        // Inside an object only strings and braces matter.
        i = static_cast<size_t>(FindFirstOf<'"', '{', '}'>(b + i, b + tail_) - b);
        continue;
      }
      if (c == '"') {
        in_string_ = true;
        if (depth_ == 0 && !in_stray_) {
          in_stray_ = true;
          ++counts_.stray;
        }
      } else if (c == '{') {
        if (depth_ == 0) {
          head_ = i;
          in_stray_ = false;
        }
        ++depth_;
      } else if (c == '}') {
        if (depth_ > 0 && --depth_ == 0) {
          const size_t start = head_;
          head_ = scan_ = i + 1;
          if (skipping_) {
            skipping_ = false;
            i = scan_;
            continue;
          }
          ++counts_.records;
          *record = std::string_view(b + start, i + 1 - start);
          return true;
        }
        if (depth_ == 0 && !in_stray_) {
          in_stray_ = true;
          ++counts_.stray;
        }
      } else if (depth_ == 0) {
        if (c == ',' || c == '[' || c == ']') {
          in_stray_ = false;
        } else if (!IsBlank(c) && !in_stray_) {
          in_stray_ = true;  // a number or literal where an object belongs
          ++counts_.stray;
        }
      }
      ++i;
    }
    scan_ = tail_;
    if (depth_ == 0) {
      head_ = tail_;  // nothing between objects is kept
    } else if (skipping_ || tail_ - head_ > max_record_) {
      if (!skipping_) ++counts_.oversized;
      skipping_ = true;
      head_ = tail_;
    }
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) {
      if (depth_ > 0 && !skipping_) ++counts_.truncated;
      depth_ = 0;
      head_ = scan_ = tail_;
      return false;
    }
  }
}

}  // namespace voxgate::logs
