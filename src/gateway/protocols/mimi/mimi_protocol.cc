#include "gateway/protocols/mimi/mimi_protocol.h"

#include <algorithm>
#include <map>
#include <random>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace voxgate::gateway::mimi {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

int64_t Millis(double seconds) { return static_cast<int64_t>(seconds * 1000 + 0.5); }

// "audio/x-pcm;bit=16;rate=16000;channels=1"
absl::Status ParseContentType(std::string content_type, Config& config) {
  if (content_type.empty()) content_type = "audio/x-pcm;bit=16;rate=16000;channels=1";
  std::vector<std::string> parts = absl::StrSplit(absl::AsciiStrToLower(content_type), ';', absl::SkipWhitespace());
  for (auto& p : parts) p = std::string(absl::StripAsciiWhitespace(p));
  if (parts.empty() || parts[0] != "audio/x-pcm") {
    return absl::InvalidArgumentError("Content-Type \"" + content_type + "\" is not supported (supported: audio/x-pcm;bit=16;rate=N;channels=1)");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq), value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    int n = 0;
    if (!absl::SimpleAtoi(value, &n)) return absl::InvalidArgumentError("Content-Type parameter \"" + parts[i] + "\" is not a number");
    if (key == "bit" && n != 16) return absl::InvalidArgumentError("only 16-bit PCM is supported (bit=16)");
    if (key == "channels" && n != 1) return absl::InvalidArgumentError("only mono audio is supported (channels=1)");
    if (key == "rate") {
      if (n < 8000 || n > 192000) return absl::InvalidArgumentError(absl::StrCat("rate=", n, " is out of range (8000 to 192000)"));
      config.sample_rate = n;
    }
  }
  return absl::OkStatus();
}

// "response_format=v2;progressive=false;temporary=true;temporary_interval=1500" (Python clients
// send True/False).
absl::Status ParseNictOptions(const std::string& options, Config& config) {
  const std::vector<std::string> parts = absl::StrSplit(options, ';', absl::SkipWhitespace());
  for (const std::string& part : parts) {
    const auto eq = part.find('=');
    const std::string key(absl::StripAsciiWhitespace(part.substr(0, eq)));
    const std::string value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(eq == std::string::npos ? "" : part.substr(eq + 1)));
    auto flag = [&](bool& out) {
      if (value != "true" && value != "false") return absl::InvalidArgumentError("x-mimi-nict-asr-options: " + key + " must be true or false");
      out = value == "true";
      return absl::OkStatus();
    };
    absl::Status s;
    if (key == "response_format") {
      if (value == "v1") {
        config.process = Process::kNictAsrV1;
      } else if (value == "v2") {
        config.process = Process::kNictAsrV2;
      } else {
        s = absl::InvalidArgumentError("x-mimi-nict-asr-options: response_format must be v1 or v2");
      }
    } else if (key == "progressive") {
      s = flag(config.progressive);
    } else if (key == "temporary") {
      s = flag(config.temporary);
    } else if (key != "temporary_interval") {  // accepted; hypotheses are sent as the recognizer makes them
      s = absl::InvalidArgumentError("x-mimi-nict-asr-options: unknown option \"" + key +
                                     "\" (known: response_format, progressive, temporary, temporary_interval)");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// application/x-www-form-urlencoded (or a query string): each key once.
absl::StatusOr<std::map<std::string, std::string>> ParseForm(std::string_view body) {
  // A copy: Boost.URL 1.81 reads past a view that is not NUL-terminated. Spaces are taken as
  // "+", and bytes past ASCII are percent-encoded (curl -d and hand-written clients send UTF-8
  // text unencoded, as a WHATWG form parser accepts it).
  std::string text;
  text.reserve(body.size());
  for (const char c : body) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ') {
      text += '+';
    } else if (byte >= 0x80) {
      text += absl::StrFormat("%%%02X", byte);
    } else {
      text += c;
    }
  }
  if (!boost::urls::parse_query(text)) return absl::InvalidArgumentError("the body must be form-encoded (text=...&lang=...)");
  std::map<std::string, std::string> form;
  for (const boost::urls::param p : boost::urls::params_view(text)) {
    if (!form.emplace(p.key, p.value).second) return absl::InvalidArgumentError("form field \"" + p.key + "\" is given twice");
  }
  return form;
}

}  // namespace

absl::StatusOr<SynthesisForm> ParseSynthesisForm(std::string_view body) {
  auto form = ParseForm(body);
  if (!form.ok()) return form.status();
  SynthesisForm out;
  for (const auto& [key, value] : *form) {
    if (key == "text") {
      out.text = value;
    } else if (key == "lang") {
      out.language = value;
    } else if (key == "engine" || key == "age" || key == "native") {
      // mimi's engine choice and voice age/nativeness: the routed engine decides
    } else if (key == "gender") {
      if (value != "female" && value != "male" && value != "unknown") return absl::InvalidArgumentError("gender must be female, male or unknown");
      out.gender = value == "unknown" ? "" : value;
    } else if (key == "rate") {
      if (!absl::SimpleAtod(value, &out.rate) || !(out.rate >= 0.5 && out.rate <= 2.0)) {
        return absl::InvalidArgumentError("rate must be a number from 0.5 to 2.0");
      }
    } else if (key == "audio_format") {
      if (value != "WAV" && value != "RAW") return absl::InvalidArgumentError("audio_format \"" + value + "\" is not supported (supported: WAV, RAW)");
      out.raw = value == "RAW";
    } else if (key == "audio_endian") {
      if (value != "Little" && value != "Big") return absl::InvalidArgumentError("audio_endian must be Little or Big");
      out.big_endian = value == "Big";
    } else {
      return absl::InvalidArgumentError("unknown form field \"" + key + "\" (known: text, lang, engine, gender, rate, audio_format, audio_endian)");
    }
  }
  if (out.text.empty()) return absl::InvalidArgumentError("text is required");
  if (out.big_endian && !out.raw) return absl::InvalidArgumentError("audio_endian=Big needs audio_format=RAW (WAV is little-endian)");
  if (out.language.empty()) return absl::InvalidArgumentError("lang is required, e.g. lang=en");
  return out;
}

absl::StatusOr<TranslationForm> ParseTranslationForm(std::string_view body) {
  auto form = ParseForm(body);
  if (!form.ok()) return form.status();
  TranslationForm out;
  for (const auto& [key, value] : *form) {
    if (key == "text") {
      out.text = value;
    } else if (key == "source_lang") {
      out.source = value;
    } else if (key == "target_lang") {
      out.target = value;
    } else {
      return absl::InvalidArgumentError("unknown form field \"" + key + "\" (known: text, source_lang, target_lang)");
    }
  }
  for (auto [name, value] : {std::pair{"text", &out.text}, std::pair{"source_lang", &out.source}, std::pair{"target_lang", &out.target}}) {
    if (value->empty()) return absl::InvalidArgumentError(std::string(name) + " is required");
  }
  return out;
}

absl::StatusOr<Config> ParseConfig(const std::function<std::string(std::string_view name)>& header) {
  Config config;
  const std::string process = header("x-mimi-process");
  if (process == "asr") {
    config.process = Process::kAsr;
  } else if (process == "nict-asr") {
    config.process = Process::kNictAsrV1;
    if (auto s = ParseNictOptions(header("x-mimi-nict-asr-options"), config); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError("x-mimi-process \"" + process + "\" is not supported here (supported: asr, nict-asr)");
  }
  if (const std::string language = header("x-mimi-input-language"); !language.empty()) config.language = language;
  std::string content_type = header("x-mimi-content-type");
  if (content_type.empty()) content_type = header("content-type");
  if (auto s = ParseContentType(content_type, config); !s.ok()) return s;
  return config;
}

absl::StatusOr<bool> IsRecogBreak(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.value("command", "") == "recog-break") return true;
  return absl::InvalidArgumentError(R"(the only text message is {"command":"recog-break"}; audio goes in binary messages)");
}

std::string NewSessionId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x4000ULL;                // version 4
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff), static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string Session::Message(bool finished, nlohmann::json response) const {
  const char* type = config_.process == Process::kAsr ? "asr#mimilvcsr" : config_.process == Process::kNictAsrV1 ? "asr#nictlvcsr" : "asr#nictlvcsr2";
  return nlohmann::json{{"type", type},
                        {"session_id", session_id_},
                        {"status", finished ? "recog-finished" : "recog-in-progress"},
                        {"response", std::move(response)}}
      .dump(-1, ' ', false, kReplace);
}

// One result as the process's response entries.
nlohmann::json Session::Segment(const speech::RecognitionResult& r, bool determined) const {
  nlohmann::json out = nlohmann::json::array();
  switch (config_.process) {
    case Process::kAsr:  // one entry per word: {"pronunciation", "result", "time": [start, end] ms}
      if (r.words.empty() && !r.transcript.empty()) {
        out.push_back({{"result", r.transcript}, {"pronunciation", r.transcript}, {"time", {Millis(r.start_seconds), Millis(r.end_seconds)}}});
      }
      for (const auto& w : r.words) {
        out.push_back({{"result", w.word}, {"pronunciation", w.word}, {"time", {Millis(w.start_seconds), Millis(w.end_seconds)}}});
      }
      break;
    case Process::kNictAsrV1:  // "surface|pronunciation|base|part of speech||||" per word, then a sentence mark
      for (const auto& w : r.words) out.push_back({{"result", absl::StrCat(w.word, "|", w.word, "|", w.word, "|||||")}});
      out.push_back({{"result", "|||SENT-START-END||||"}});
      break;
    case Process::kNictAsrV2: {
      nlohmann::json words = nlohmann::json::array();
      for (const auto& w : r.words) words.push_back(w.word);
      if (words.empty() && !r.transcript.empty()) {
        const std::vector<std::string> split = absl::StrSplit(r.transcript, ' ', absl::SkipEmpty());
        for (const std::string& w : split) words.push_back(w);
      }
      out.push_back({{"result", r.transcript}, {"words", words}, {"determined", determined}, {"time", Millis(r.start_seconds)}});
      break;
    }
  }
  return out;
}

std::vector<std::string> Session::OnResult(const speech::RecognitionResult& r) {
  std::vector<std::string> out;
  if (!r.is_final) {
    const bool wanted = config_.process == Process::kAsr || (config_.process == Process::kNictAsrV2 && config_.progressive && config_.temporary);
    if (wanted && !r.transcript.empty()) out.push_back(Message(false, Segment(r, false)));
    return out;
  }
  if (config_.process == Process::kAsr) {
    out.push_back(Message(false, Segment(r, true)));
    finals_.push_back(r);
    return out;
  }
  // nict-asr: the last utterance comes with recog-finished, so each one is sent when the next
  // one is final.
  if (config_.progressive && !finals_.empty()) out.push_back(Message(false, Segment(finals_.back(), true)));
  finals_.push_back(r);
  return out;
}

std::string Session::Finished() {
  nlohmann::json response = nlohmann::json::array();
  auto append = [&](const speech::RecognitionResult& r) {
    for (auto& entry : Segment(r, true)) response.push_back(std::move(entry));
  };
  if (config_.process == Process::kAsr) {
    for (const auto& r : finals_) append(r);  // mimi's final carries the whole recognition
  } else if (!config_.progressive) {
    speech::RecognitionResult all;  // one message with everything
    for (const auto& r : finals_) {
      all.transcript += (all.transcript.empty() || r.transcript.empty() ? "" : " ") + r.transcript;
      all.words.insert(all.words.end(), r.words.begin(), r.words.end());
    }
    append(all);
  } else if (!finals_.empty()) {
    append(finals_.back());
  } else {
    append(speech::RecognitionResult{});
  }
  if (config_.process == Process::kNictAsrV1) response.push_back({{"result", "|||UTT-END||||"}});
  return Message(true, std::move(response));
}

}  // namespace voxgate::gateway::mimi
