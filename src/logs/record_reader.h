// Splits a log into records in bounded memory: lines of voxgate's JSON-lines output, or the
// objects of a `gcloud logging read --format=json` export (one JSON array, pretty-printed),
// found by brace matching that respects strings and escapes, so a multi-GB array is never
// held whole. The form is detected from the first non-blank byte ('[' is an export).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"

namespace voxgate::logs {

// Where the bytes come from (a file, stdin, or memory in tests).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes; 0 at the end of the input.
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t size) = 0;
};

// A file descriptor (not closed).
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override;

 private:
  int fd_;
};

// Memory, handed out at most `max_read` bytes at a time (tests use small reads to cross every
// buffer boundary).
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view data, size_t max_read = SIZE_MAX) : data_(data), max_read_(max_read) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override;

 private:
  std::string_view data_;
  size_t max_read_;
};

enum class InputForm { kUnknown, kJsonLines, kJsonArray };

struct ReaderCounts {
  uint64_t bytes = 0;      // read from the source
  uint64_t records = 0;    // handed out by Next
  uint64_t oversized = 0;  // lines / objects over the size limit, skipped
  uint64_t truncated = 0;  // an export's object still open at the end of the input
  uint64_t stray = 0;      // an export's array elements that are not objects
};

class RecordReader {
 public:
  static constexpr size_t kDefaultMaxRecord = 1 << 20;

  explicit RecordReader(ByteSource& source, size_t max_record = kDefaultMaxRecord, size_t chunk = 1 << 20);

  // The next record (a non-blank line without its line break, or one object); false at the
  // end. The view is valid until the next call.
  absl::StatusOr<bool> Next(std::string_view* record);

  InputForm form() const { return form_; }
  const ReaderCounts& counts() const { return counts_; }
  // Called with the total bytes read after every read from the source (for a progress bar).
  void set_on_read(std::function<void(uint64_t)> on_read) { on_read_ = std::move(on_read); }

 private:
  absl::StatusOr<bool> Fill();  // false at the end of the input
  absl::Status Detect();
  absl::StatusOr<bool> NextLine(std::string_view* record);
  absl::StatusOr<bool> NextObject(std::string_view* record);

  ByteSource& source_;
  size_t max_record_;
  std::unique_ptr<char[]> buffer_;  // not zero-filled: only what was read is ever looked at
  size_t capacity_;
  size_t head_ = 0;  // start of the bytes still needed
  size_t scan_ = 0;  // where scanning resumes
  size_t tail_ = 0;  // end of the bytes read
  bool eof_ = false;
  InputForm form_ = InputForm::kUnknown;
  ReaderCounts counts_;
  std::function<void(uint64_t)> on_read_;
  // Scanner state (lines: skipping_ only).
  bool skipping_ = false;  // inside a record over the limit: dropped as it is read
  int64_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool in_stray_ = false;
};

}  // namespace voxgate::logs
