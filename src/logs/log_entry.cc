#include "logs/log_entry.h"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "logs/internal/parse.h"

namespace voxgate::logs {
namespace {

// Where in the object the parser is: the object it is in decides what a key means.
enum class Context : uint8_t { kRoot, kPayload, kHttp, kLabels, kHops };

enum class Field : uint8_t {
  kNone,
  // payload level (the line itself, or a LogEntry's jsonPayload)
  kSeverity, kMessage, kTime, kTrace, kLabelsObject, kHttpObject, kRoute, kOutcome, kErrorCode, kError,
  kRequestId, kPool, kEngine, kAudioSeconds, kRtf, kHopsObject,
  // LogEntry only
  kPayloadObject, kTextPayload,
  // httpRequest
  kRequestUrl, kStatus, kLatency,
  // labels
  kTier, kLabelPool, kLabelEngine,
  // hops
  kQueueS, kEngineS,
};

Field PayloadField(std::string_view key, bool root) {
  // Compared by length first: most keys are rejected without touching their characters.
  switch (key.size()) {
    case 3: return key == "rtf" ? Field::kRtf : Field::kNone;
    case 4:
      if (key == "time") return Field::kTime;
      if (key == "pool") return Field::kPool;
      if (key == "hops") return Field::kHopsObject;
      return Field::kNone;
    case 5:
      if (key == "route") return Field::kRoute;
      if (key == "trace") return Field::kTrace;
      if (key == "error") return Field::kError;
      return Field::kNone;
    case 6:
      if (key == "engine") return Field::kEngine;
      if (key == "labels") return Field::kLabelsObject;
      return Field::kNone;
    case 7:
      if (key == "message") return Field::kMessage;
      if (key == "outcome") return Field::kOutcome;
      return Field::kNone;
    case 8: return key == "severity" ? Field::kSeverity : Field::kNone;
    case 9: return key == "timestamp" ? Field::kTime : Field::kNone;
    case 10:
      if (key == "error_code") return Field::kErrorCode;
      if (key == "request_id") return Field::kRequestId;
      return Field::kNone;
    case 11:
      if (key == "httpRequest") return Field::kHttpObject;
      if (root && key == "jsonPayload") return Field::kPayloadObject;
      if (root && key == "textPayload") return Field::kTextPayload;
      return Field::kNone;
    case 13: return key == "audio_seconds" ? Field::kAudioSeconds : Field::kNone;
    case 28: return key == "logging.googleapis.com/trace" ? Field::kTrace : Field::kNone;
    case 29: return key == "logging.googleapis.com/labels" ? Field::kLabelsObject : Field::kNone;
    default: return Field::kNone;
  }
}

Field LookUp(Context context, std::string_view key) {
  switch (context) {
    case Context::kRoot: return PayloadField(key, /*root=*/true);
    case Context::kPayload: return PayloadField(key, /*root=*/false);
    case Context::kHttp:
      if (key == "status") return Field::kStatus;
      if (key == "latency") return Field::kLatency;
      if (key == "requestUrl") return Field::kRequestUrl;
      return Field::kNone;
    case Context::kLabels:
      if (key == "tier") return Field::kTier;
      if (key == "pool") return Field::kLabelPool;
      if (key == "engine") return Field::kLabelEngine;
      return Field::kNone;
    case Context::kHops:
      if (key == "queue_s") return Field::kQueueS;
      if (key == "engine_s") return Field::kEngineS;
      return Field::kNone;
  }
  return Field::kNone;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 'a' + 'A') : a[i];
    if (c != upper[i]) return false;
  }
  return true;
}

constexpr std::array<std::string_view, kSeverityCount> kSeverityNames = {
    "NONE", "DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY", "OTHER"};

Severity SeverityFromName(std::string_view name) {
  for (int i = 1; i < kSeverityCount - 1; ++i) {
    if (EqualsIgnoreCase(name, kSeverityNames[static_cast<size_t>(i)])) return static_cast<Severity>(i);
  }
  return Severity::kOther;
}

// LogSeverity's numeric values (0 DEFAULT, 100 DEBUG, ... 800 EMERGENCY).
Severity SeverityFromNumber(int64_t value) {
  if (value == 0) return Severity::kDefault;
  if (value % 100 != 0 || value < 100 || value > 800) return Severity::kOther;
  return static_cast<Severity>(value / 100 + 1);
}

std::string_view StripTracePrefix(std::string_view trace) {
  constexpr std::string_view kTraces = "/traces/";
  if (trace.starts_with("projects/")) {
    const size_t at = trace.find(kTraces);
    if (at != std::string_view::npos) return trace.substr(at + kTraces.size());
  }
  return trace;
}

// Keeps the fields the analysis reads from a record's parse events: nlohmann's SAX interface,
// which PlainJsonScanner below speaks too. No DOM is built (several times faster than
// json::parse), and anything unexpected is skipped, counted in bad_field, never thrown.
class EntryHandler {
 public:
  using Json = nlohmann::json;
  explicit EntryHandler(LogEntry* entry) : entry_(entry) {}

  bool not_object() const { return not_object_; }
  // Whether the next value is one the entry keeps.
  bool WantsValue() const { return ignored_ == 0 && field_ != Field::kNone; }

  bool null() { return Scalar([] {}); }
  bool boolean(bool) { return Scalar([this] { BadIfKnown(); }); }
  bool number_integer(Json::number_integer_t v) { return Number(static_cast<double>(v), v); }
  bool number_unsigned(Json::number_unsigned_t v) {
    return Number(static_cast<double>(v), v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v));
  }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Number(v, std::nullopt); }
  bool binary(Json::binary_t&) { return Scalar([this] { BadIfKnown(); }); }

  bool string(Json::string_t& value) { return String(value); }
  bool String(std::string_view value) {
    return Scalar([&] {
      switch (field_) {
        case Field::kSeverity: entry_->severity = SeverityFromName(value); break;
        case Field::kMessage: entry_->message = value; break;
        case Field::kTextPayload:
          if (entry_->message.empty()) entry_->message = value;
          break;
        case Field::kTime:
          if (auto t = ParseRfc3339(value)) {
            entry_->time_us = t;
          } else {
            Bad();
          }
          break;
        case Field::kTrace: entry_->trace = StripTracePrefix(value); break;
        case Field::kRoute: entry_->route = value; break;
        case Field::kOutcome: entry_->outcome_name = value; break;
        case Field::kErrorCode: entry_->error_code = value; break;
        case Field::kError: entry_->error = value; break;
        case Field::kRequestId: entry_->request_id = value; break;
        case Field::kPool: entry_->pool = value; break;
        case Field::kEngine: entry_->engine = value; break;
        case Field::kRequestUrl:
          // Query strings would make every URL distinct; the schema says no query, but be sure.
          entry_->request_url = value.substr(0, value.find('?'));
          break;
        case Field::kLatency:
          if (auto d = ParseDurationSeconds(value)) {
            entry_->latency_s = d;
          } else {
            Bad();
          }
          break;
        case Field::kTier: entry_->tier = value; break;
        case Field::kLabelPool: entry_->label_pool = value; break;
        case Field::kLabelEngine: entry_->label_engine = value; break;
        case Field::kNone: break;
        default: Bad(); break;  // a number or an object was expected
      }
    });
  }

  bool start_object(std::size_t) {
    if (!started_) {
      started_ = true;
      return Push(Context::kRoot);
    }
    if (ignored_ > 0) {
      ++ignored_;
      return true;
    }
    const Field field = std::exchange(field_, Field::kNone);
    switch (field) {
      case Field::kHttpObject:
        entry_->has_http_request = true;
        return Push(Context::kHttp);
      case Field::kLabelsObject: return Push(Context::kLabels);
      case Field::kHopsObject: return Push(Context::kHops);
      case Field::kPayloadObject: return Push(Context::kPayload);
      case Field::kNone: break;
      default: Bad(); break;
    }
    ++ignored_;
    return true;
  }
  bool end_object() {
    if (ignored_ > 0) {
      --ignored_;
    } else if (depth_ > 0) {
      --depth_;
    }
    return true;
  }
  bool start_array(std::size_t) {
    if (!started_) return NotObject();
    if (ignored_ == 0 && std::exchange(field_, Field::kNone) != Field::kNone) Bad();
    ++ignored_;
    return true;
  }
  bool end_array() {
    if (ignored_ > 0) --ignored_;
    return true;
  }
  bool key(Json::string_t& key) { return Key(key); }
  bool Key(std::string_view key) {
    if (ignored_ == 0 && depth_ > 0) field_ = LookUp(stack_[depth_ - 1], key);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  bool Number(double value, std::optional<int64_t> integer) {
    return Scalar([&] {
      const bool finite = std::isfinite(value);
      switch (field_) {
        case Field::kSeverity:
          entry_->severity = integer ? SeverityFromNumber(*integer) : Severity::kOther;
          break;
        case Field::kStatus:
          if (integer && *integer >= 0 && *integer < 1000) {
            entry_->status = static_cast<int>(*integer);
          } else {
            Bad();
          }
          break;
        case Field::kLatency:
          if (finite && value >= 0) {
            entry_->latency_s = value;
          } else {
            Bad();
          }
          break;
        case Field::kAudioSeconds: SetNonNegative(value, &entry_->audio_seconds); break;
        case Field::kRtf: SetNonNegative(value, &entry_->rtf); break;
        case Field::kQueueS: SetNonNegative(value, &entry_->queue_s); break;
        case Field::kEngineS: SetNonNegative(value, &entry_->engine_s); break;
        case Field::kNone: break;
        default: Bad(); break;  // a string or an object was expected
      }
    });
  }

 private:
  static constexpr int kMaxDepth = 8;  // deeper objects are never one of ours: ignored

  bool Push(Context context) {
    if (depth_ == kMaxDepth) {
      ++ignored_;
      return true;
    }
    stack_[depth_++] = context;
    return true;
  }
  bool NotObject() {
    not_object_ = true;
    return false;
  }
  void Bad() { entry_->bad_field = true; }
  void BadIfKnown() {
    if (field_ != Field::kNone) Bad();
  }

  // A scalar value: handled only as the value of a known key of a tracked object.
  template <typename F>
  bool Scalar(F&& handle) {
    if (!started_) return NotObject();
    if (ignored_ == 0) handle();
    field_ = Field::kNone;
    return true;
  }

  void SetNonNegative(double value, std::optional<double>* out) {
    if (std::isfinite(value) && value >= 0) {
      *out = value;
    } else {
      Bad();
    }
  }

  LogEntry* entry_;
  std::array<Context, kMaxDepth> stack_{};
  int depth_ = 0;
  int64_t ignored_ = 0;  // depth inside objects and arrays whose contents do not matter
  Field field_ = Field::kNone;
  bool started_ = false;
  bool not_object_ = false;
};

// The fast path: a validating scanner for the plain JSON voxgate writes (strings of printable
// ASCII without escapes, integers of at most 18 digits, nesting up to kMaxDepth), feeding the
// same handler as nlohmann does, event for event. Anything else (an escape, a UTF-8 byte, a
// float that overflows, an error) makes it give up, and nlohmann parses the record instead: the
// result is always nlohmann's (tests/fuzz/logs_analyze_fuzzer.cc checks that on every input).
// nlohmann's lexer reads a byte at a time into two buffers; this is ~5x faster on log lines.
class PlainJsonScanner {
 public:
  PlainJsonScanner(std::string_view text, EntryHandler* handler)
      : p_(text.data()), end_(text.data() + text.size()), handler_(handler) {}

  // False: not handled here (the handler has seen part of the events and must be discarded).
  bool Scan() {
    SkipBlanks();
    if (p_ == end_ || *p_ != '{' || !Object()) return false;
    SkipBlanks();
    return p_ == end_;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void SkipBlanks() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Is(char c) const { return p_ != end_ && *p_ == c; }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  bool Value() {
    SkipBlanks();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return Object();
      case '[': return Array();
      case '"': {
        std::string_view s;
        return String(&s) && handler_->String(s);
      }
      case 't': return Literal("true") && handler_->boolean(true);
      case 'f': return Literal("false") && handler_->boolean(false);
      case 'n': return Literal("null") && handler_->null();
      default: return Number();
    }
  }

  bool Object() {
    if (++depth_ > kMaxDepth) return false;
    ++p_;
    if (!handler_->start_object(static_cast<std::size_t>(-1))) return false;
    SkipBlanks();
    if (Is('}')) {
      ++p_;
      --depth_;
      return handler_->end_object();
    }
    while (true) {
      SkipBlanks();
      std::string_view key;
      if (!Is('"') || !String(&key) || !handler_->Key(key)) return false;
      SkipBlanks();
      if (!Is(':')) return false;
      ++p_;
      if (!Value()) return false;
      SkipBlanks();
      if (Is(',')) {
        ++p_;
        continue;
      }
      if (!Is('}')) return false;
      ++p_;
      --depth_;
      return handler_->end_object();
    }
  }

  bool Array() {
    if (++depth_ > kMaxDepth) return false;
    ++p_;
    if (!handler_->start_array(static_cast<std::size_t>(-1))) return false;
    SkipBlanks();
    if (Is(']')) {
      ++p_;
      --depth_;
      return handler_->end_array();
    }
    while (true) {
      if (!Value()) return false;
      SkipBlanks();
      if (Is(',')) {
        ++p_;
        continue;
      }
      if (!Is(']')) return false;
      ++p_;
      --depth_;
      return handler_->end_array();
    }
  }

  // At a quote: the string's bytes, when they are all printable ASCII other than '"' and '\\'.
  bool String(std::string_view* out) {
    const char* start = ++p_;
    const char* stop = PlainStringEnd(start, end_);
    if (stop == end_ || *stop != '"') return false;
    *out = std::string_view(start, static_cast<size_t>(stop - start));
    p_ = stop + 1;
    return true;
  }

  // The first byte that ends a plain string: '"', or what makes it not plain ('\\', a control
  // byte, a byte >= 0x80). Eight bytes at a time (SWAR): most of a log line is strings.
  static const char* PlainStringEnd(const char* p, const char* end) {
    if constexpr (std::endian::native == std::endian::little) {
      constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
      while (end - p >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        const uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
        // High bit of a byte: it is 0 after the xor (the quote or backslash), below 0x20, or
        // >= 0x80. Borrows can only mark bytes above the first marked one, which is exact.
        const uint64_t marks =
            (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | ((w - kOnes * 0x20) & ~w) | w) & kHigh;
        if (marks != 0) return p + (std::countr_zero(marks) >> 3);
        p += 8;
      }
    }
    for (; p != end; ++p) {
      const auto b = static_cast<unsigned char>(*p);
      if (b == '"' || b == '\\' || b < 0x20 || b >= 0x80) return p;
    }
    return end;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // JSON's number grammar; integers as nlohmann gives them (int64 or uint64, here always within
  // int64), others through from_chars, which rounds exactly as nlohmann's strtod does.
  bool Number() {
    const char* start = p_;
    if (Is('-')) ++p_;
    if (Is('0')) {
      ++p_;
    } else if (p_ != end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    } else {
      return false;
    }
    const char* integer_end = p_;
    bool fraction = false;
    if (Is('.')) {
      fraction = true;
      ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return false;
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (Is('e') || Is('E')) {
      fraction = true;
      ++p_;
      if (Is('+') || Is('-')) ++p_;
      if (p_ == end_ || !IsDigit(*p_)) return false;
      while (p_ != end_ && IsDigit(*p_)) ++p_;
    }
    if (!fraction) {
      const bool negative = *start == '-';
      const char* digits = start + (negative ? 1 : 0);
      if (integer_end - digits > 18) return false;
      int64_t v = 0;
      for (const char* c = digits; c != integer_end; ++c) v = v * 10 + (*c - '0');
      return handler_->Number(static_cast<double>(negative ? -v : v), negative ? -v : v);
    }
    // Most floats are in fields nobody reads (endpoint_s, first_partial_s, ...): not converted.
    if (!handler_->WantsValue()) return handler_->Number(0, std::nullopt);
    double v = 0;
    const auto [end, error] = std::from_chars(start, p_, v);
    if (error != std::errc() || end != p_) return false;  // out of range: nlohmann says what it is
    return handler_->Number(v, std::nullopt);
  }

  const char* p_;
  const char* end_;
  EntryHandler* handler_;
  int depth_ = 0;
};

}  // namespace

std::string_view SeverityName(Severity severity) { return kSeverityNames[static_cast<size_t>(severity)]; }

bool LogEntry::IsAccess() const {
  return has_http_request || message == "request" || message == "stream" || message == "rpc";
}

Outcome LogEntry::outcome() const {
  if (outcome_name == "ok") return Outcome::kOk;
  if (outcome_name == "server_error") return Outcome::kServerError;
  if (outcome_name == "client_error") return Outcome::kClientError;
  if (outcome_name == "client_gone") return Outcome::kClientGone;
  if (!status) return Outcome::kNone;
  if (*status >= 500) return Outcome::kServerError;
  if (*status >= 400) return Outcome::kClientError;
  return Outcome::kOk;
}

void LogEntry::Clear() {
  severity = Severity::kNone;
  time_us.reset();
  has_http_request = false;
  status.reset();
  latency_s.reset();
  audio_seconds.reset();
  rtf.reset();
  queue_s.reset();
  engine_s.reset();
  bad_field = false;
  for (std::string* s : {&message, &tier, &trace, &route, &request_url, &outcome_name, &pool, &engine, &label_pool,
                         &label_engine, &error, &error_code, &request_id}) {
    s->clear();
  }
}

ParseResult ParseLogEntry(std::string_view json, LogEntry* entry) {
  entry->Clear();
  {
    EntryHandler handler(entry);
    if (PlainJsonScanner(json, &handler).Scan()) return ParseResult::kOk;
  }
  return internal::ParseLogEntryWithNlohmann(json, entry);
}

namespace internal {

ParseResult ParseLogEntryWithNlohmann(std::string_view json, LogEntry* entry) {
  entry->Clear();
  EntryHandler handler(entry);
  const bool ok = nlohmann::json::sax_parse(json.data(), json.data() + json.size(), &handler,
                                            nlohmann::json::input_format_t::json, /*strict=*/true);
  if (ok) return ParseResult::kOk;
  return handler.not_object() ? ParseResult::kNotObject : ParseResult::kNotJson;
}

}  // namespace internal

std::optional<double> ParseDurationSeconds(std::string_view text) {
  if (!text.empty() && text.back() == 's') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace voxgate::logs
