// Bounded building blocks of the analysis: nothing here grows with the size of the log.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace voxgate::logs::internal {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// floor(a / b) for b > 0 (window indexes of times before 1970 stay in order).
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// Cuts a string to at most `max` bytes without splitting a UTF-8 sequence.
inline std::string_view Truncate(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Strings to small ids, up to a bound; once full, every new string is id 0 ("(other)").
class Interner {
 public:
  static constexpr size_t kMaxLength = 160;
  explicit Interner(size_t max_strings) : max_(max_strings) { names_.push_back("(other)"); }

  uint32_t Id(std::string_view s) {
    s = Truncate(s, kMaxLength);
    if (auto it = ids_.find(s); it != ids_.end()) return it->second;
    if (names_.size() > max_) {
      full_ = true;
      return 0;
    }
    const auto id = static_cast<uint32_t>(names_.size());
    names_.emplace_back(s);
    ids_.emplace(std::string(s), id);
    return id;
  }
  const std::string& Name(uint32_t id) const { return names_[id]; }
  bool full() const { return full_; }

 private:
  size_t max_;
  bool full_ = false;
  std::vector<std::string> names_;
  StringMap<uint32_t> ids_;
};

// The most frequent ids of a stream in fixed space (Metwally et al.'s space-saving): an id
// seen more than 1/kSlots of the time is always kept; counts may be overestimated.
class TopCounter {
 public:
  static constexpr size_t kSlots = 4;

  void Add(uint32_t id, uint64_t n = 1) {
    Slot* smallest = &slots_[0];
    for (auto& slot : slots_) {
      if (slot.count > 0 && slot.id == id) {
        slot.count += n;
        return;
      }
      if (slot.count < smallest->count) smallest = &slot;
    }
    // An empty slot has count 0 and is the smallest; else the smallest is replaced and its
    // count inherited (the new id may have been counted there before).
    smallest->count += n;
    smallest->id = id;
  }
  void Merge(const TopCounter& other) {
    for (const auto& slot : other.slots_) {
      if (slot.count > 0) Add(slot.id, slot.count);
    }
  }
  // The most frequent id and its count; count 0 when nothing was added.
  std::pair<uint32_t, uint64_t> Top() const {
    const Slot* best = &slots_[0];
    for (const auto& slot : slots_) {
      if (slot.count > best->count || (slot.count == best->count && slot.count > 0 && slot.id < best->id)) best = &slot;
    }
    return {best->id, best->count};
  }

 private:
  struct Slot {
    uint32_t id = 0;
    uint64_t count = 0;
  };
  std::array<Slot, kSlots> slots_{};
};

}  // namespace voxgate::logs::internal
