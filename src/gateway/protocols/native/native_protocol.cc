#include "gateway/protocols/native/native_protocol.h"

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "absl/strings/numbers.h"
#include "gateway/errors.h"

namespace voxgate::gateway::native {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
constexpr int kMinRate = 8000;
constexpr int kMaxRate = 192000;

absl::Status SetSampleRate(long long rate, StreamConfig& c) {
  if (rate < kMinRate || rate > kMaxRate) {
    return absl::InvalidArgumentError("sample_rate " + std::to_string(rate) + " Hz is out of range (" +
                                      std::to_string(kMinRate) + " to " + std::to_string(kMaxRate) + ")");
  }
  c.sample_rate = static_cast<int>(rate);
  c.sample_rate_given = true;
  return absl::OkStatus();
}

absl::Status SetEncoding(std::string_view name, StreamConfig& c) {
  if (name == "pcm_s16le") {
    c.encoding = Encoding::kPcmS16le;
  } else if (name == "wav") {
    c.encoding = Encoding::kWav;
  } else {
    return absl::InvalidArgumentError("unsupported encoding \"" + std::string(name) + "\" (supported: pcm_s16le, wav)");
  }
  return absl::OkStatus();
}

absl::Status SetLanguageCode(std::string_view key, std::string_view code, std::string& out) {
  bool ok = !code.empty() && code.size() <= 35;
  for (char ch : code) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_');
  if (!ok) return absl::InvalidArgumentError(std::string(key) + " must be a BCP-47 code such as en-US");
  out = std::string(code);
  return absl::OkStatus();
}

absl::Status SetLanguage(std::string_view code, StreamConfig& c) { return SetLanguageCode("language", code, c.language); }

// Voice names are short identifiers such as "alloy" or "en-us+klatt2".
absl::Status SetVoice(std::string_view name, StreamConfig& c) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '+' || ch == '.');
  if (!ok) return absl::InvalidArgumentError("voice must be a voice name such as en-us or alloy (GET /v1/audio/voices lists them)");
  c.voice = std::string(name);
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyQuery(std::string_view query_view, StreamConfig& config) {
  // A copy: Boost.URL 1.81's params_view reads past the end of a view that is not NUL-terminated.
  const std::string query(query_view);
  if (!boost::urls::parse_query(query)) return absl::InvalidArgumentError("malformed query string");
  for (const boost::urls::param p : boost::urls::params_view(query)) {  // percent-decoded
    const std::string& key = p.key;
    const std::string& value = p.value;
    absl::Status s;
    if (key == "language") {
      s = SetLanguage(value, config);
    } else if (key == "sample_rate") {
      long long rate = 0;
      s = absl::SimpleAtoi(value, &rate) ? SetSampleRate(rate, config)
                                         : absl::InvalidArgumentError("sample_rate must be an integer, got \"" + value + "\"");
    } else if (key == "encoding") {
      s = SetEncoding(value, config);
    } else if (key == "interim_results") {
      if (value != "true" && value != "false") return absl::InvalidArgumentError("interim_results must be true or false");
      config.interim_results = value == "true";
    } else if (key == "translate_to") {
      s = SetLanguageCode("translate_to", value, config.translate_to);
    } else if (key == "speak") {
      if (value != "true" && value != "false") return absl::InvalidArgumentError("speak must be true or false");
      config.speak = value == "true";
    } else if (key == "voice") {
      s = SetVoice(value, config);
    } else {
      s = absl::InvalidArgumentError("unknown query parameter \"" + key +
                                     "\" (known: language, sample_rate, encoding, interim_results, translate_to, speak, voice)");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientMessage> ParseClientText(std::string_view text) {
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError("text frames must be JSON objects ({\"type\":\"config\",...} or {\"type\":\"end\"}); audio goes in binary frames");
  }
  const auto type = body.find("type");
  if (type == body.end() || *type == "config") return ClientMessage{ClientMessage::Type::kConfig, std::move(body)};
  if (*type == "end") return ClientMessage{ClientMessage::Type::kEnd, std::move(body)};
  return absl::InvalidArgumentError("unknown message type " + type->dump(-1, ' ', false, kReplace) + " (known: config, end)");
}

absl::Status ApplyJson(const nlohmann::json& body, StreamConfig& config) {
  for (const auto& [key, value] : body.items()) {
    absl::Status s;
    if (key == "type") {
      continue;
    } else if (key == "language") {
      s = value.is_string() ? SetLanguage(value.get<std::string>(), config)
                            : absl::InvalidArgumentError("language must be a string");
    } else if (key == "sample_rate") {
      s = value.is_number_integer() ? SetSampleRate(value.get<long long>(), config)
                                    : absl::InvalidArgumentError("sample_rate must be an integer");
    } else if (key == "encoding") {
      s = value.is_string() ? SetEncoding(value.get<std::string>(), config)
                            : absl::InvalidArgumentError("encoding must be a string");
    } else if (key == "interim_results") {
      if (!value.is_boolean()) return absl::InvalidArgumentError("interim_results must be true or false");
      config.interim_results = value.get<bool>();
    } else if (key == "translate_to") {
      s = value.is_string() ? SetLanguageCode("translate_to", value.get<std::string>(), config.translate_to)
                            : absl::InvalidArgumentError("translate_to must be a string");
    } else if (key == "speak") {
      if (!value.is_boolean()) return absl::InvalidArgumentError("speak must be true or false");
      config.speak = value.get<bool>();
    } else if (key == "voice") {
      s = value.is_string() ? SetVoice(value.get<std::string>(), config) : absl::InvalidArgumentError("voice must be a string");
    } else {
      s = absl::InvalidArgumentError("unknown config key \"" + key +
                                     "\" (known: type, language, sample_rate, encoding, interim_results, translate_to, speak, voice)");
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckConfig(const StreamConfig& config) {
  if (config.speak && config.translate_to.empty()) {
    return absl::InvalidArgumentError("speak needs translate_to: the translation of each final result is what is spoken");
  }
  if (!config.voice.empty() && !config.speak) return absl::InvalidArgumentError("voice is only used with speak: true");
  // Two rates for one stream: one would be ignored, silently.
  if (config.encoding == Encoding::kWav && config.sample_rate_given) {
    return absl::InvalidArgumentError("sample_rate is for pcm_s16le audio; with encoding wav the file's header gives the rate");
  }
  return absl::OkStatus();
}

std::string ReadyJson(const std::string& request_id, const StreamConfig& config) {
  return nlohmann::json{{"type", "ready"},
                        {"request_id", request_id},
                        {"language", config.language},
                        // For wav, the header that is still to come says.
                        {"sample_rate", config.encoding == Encoding::kWav ? nlohmann::json() : nlohmann::json(config.sample_rate)},
                        {"encoding", config.encoding == Encoding::kWav ? "wav" : "pcm_s16le"},
                        {"interim_results", config.interim_results},
                        {"translate_to", config.translate_to.empty() ? nlohmann::json() : nlohmann::json(config.translate_to)},
                        {"speak", config.speak}}
      .dump(-1, ' ', false, kReplace);
}

std::string ResultJson(const speech::RecognitionResult& r, const absl::StatusOr<std::string>* translation) {
  nlohmann::json j = {{"type", r.is_final ? "final" : "partial"},
                      {"text", r.transcript},
                      {"start", r.start_seconds},
                      {"end", r.end_seconds}};
  if (r.is_final) {
    j["confidence"] = r.confidence;
    nlohmann::json words = nlohmann::json::array();
    for (const auto& w : r.words) {
      words.push_back({{"word", w.word}, {"start", w.start_seconds}, {"end", w.end_seconds}, {"conf", w.confidence}});
    }
    j["words"] = std::move(words);
    if (translation != nullptr && translation->ok()) j["translation"] = **translation;
    if (translation != nullptr && !translation->ok()) j["translation_error"] = ShownMessage(translation->status());
  } else {
    j["stability"] = r.stability;
  }
  return j.dump(-1, ' ', false, kReplace);
}

std::string ErrorJson(const absl::Status& status) {
  return nlohmann::json{{"type", "error"}, {"code", ErrorCode(status)}, {"message", ShownMessage(status)}}
      .dump(-1, ' ', false, kReplace);
}

std::string SpeechStartJson(const std::string& text, const std::string& language) {
  return nlohmann::json{{"type", "speech_start"}, {"text", text}, {"language", language}, {"sample_rate", kSpeechSampleRate},
                        {"encoding", "pcm_s16le"}}
      .dump(-1, ' ', false, kReplace);
}

std::string SpeechEndJson(double seconds, const absl::Status& status) {
  nlohmann::json j = {{"type", "speech_end"}, {"duration", seconds}};
  if (!status.ok()) j["error"] = ShownMessage(status);
  return j.dump(-1, ' ', false, kReplace);
}

}  // namespace voxgate::gateway::native
