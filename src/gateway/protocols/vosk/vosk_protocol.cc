#include "gateway/protocols/vosk/vosk_protocol.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace voxgate::gateway::vosk {
namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
constexpr size_t kMaxPhrases = 1000;

// vosk-api writes "words" and the like as 0/1 as often as true/false.
absl::StatusOr<bool> Flag(const nlohmann::json& v, const char* key) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<long long>() != 0;
  return absl::InvalidArgumentError(absl::StrCat("config.", key, " must be true/false or 0/1"));
}

absl::Status ApplyConfig(const nlohmann::json& c, Config& config) {
  if (!c.is_object()) return absl::InvalidArgumentError(R"(config must be an object: {"config": {"sample_rate": 16000}})");
  for (const auto& [key, value] : c.items()) {
    if (key == "sample_rate") {
      if (!value.is_number()) return absl::InvalidArgumentError("config.sample_rate must be a number");
      const double rate = value.get<double>();
      if (!(rate >= 8000 && rate <= 192000)) return absl::InvalidArgumentError(absl::StrCat("config.sample_rate ", rate, " is out of range (8000 to 192000)"));
      config.sample_rate = static_cast<int>(rate);
    } else if (key == "words") {
      auto flag = Flag(value, "words");
      if (!flag.ok()) return flag.status();
      config.words = *flag;
    } else if (key == "max_alternatives") {
      if (!value.is_number_integer() || value.get<long long>() < 0) return absl::InvalidArgumentError("config.max_alternatives must be a whole number");
      config.max_alternatives = static_cast<int>(std::min<long long>(value.get<long long>(), 100));
    } else if (key == "phrase_list") {
      if (!value.is_array() || value.size() > kMaxPhrases) {
        return absl::InvalidArgumentError(absl::StrCat("config.phrase_list must be a list of at most ", kMaxPhrases, " strings"));
      }
      config.phrase_list.clear();
      for (const auto& p : value) {
        if (!p.is_string() || p.get_ref<const std::string&>().size() > 200) {
          return absl::InvalidArgumentError("config.phrase_list must be a list of strings of at most 200 bytes");
        }
        config.phrase_list.push_back(p.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown config key ", nlohmann::json(key).dump(-1, ' ', false, kReplace),
                                                     " (known: sample_rate, words, max_alternatives, phrase_list)"));
    }
  }
  return absl::OkStatus();
}

nlohmann::json Words(const std::vector<speech::RecognitionResult>& finals, bool with_conf) {
  nlohmann::json words = nlohmann::json::array();
  for (const auto& r : finals) {
    for (const auto& w : r.words) {
      nlohmann::json word = {{"word", w.word}, {"start", w.start_seconds}, {"end", w.end_seconds}};
      if (with_conf) word["conf"] = w.confidence;
      words.push_back(std::move(word));
    }
  }
  return words;
}

}  // namespace

bool IsEof(std::string_view frame) {
  if (frame.size() > 64 || frame.find("eof") == std::string_view::npos) return false;
  const nlohmann::json j = nlohmann::json::parse(frame, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("eof");
}

absl::StatusOr<ClientText> ParseClientText(std::string_view text, Config& config) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("eof")) return ClientText{ClientText::Type::kEof};
  if (j.is_object() && j.contains("config")) {
    if (auto s = ApplyConfig(j["config"], config); !s.ok()) return s;
    return ClientText{ClientText::Type::kConfig};
  }
  return absl::InvalidArgumentError(R"(text messages are {"config": {...}} or {"eof" : 1}; audio goes in binary messages)");
}

std::string PartialJson(const std::string& partial) { return nlohmann::json{{"partial", partial}}.dump(2, ' ', false, kReplace); }

std::string ResultJson(const std::vector<speech::RecognitionResult>& finals, const Config& config) {
  std::vector<std::string> texts;
  float confidence = 0;
  for (const auto& r : finals) {
    if (!r.transcript.empty()) texts.push_back(r.transcript);
    confidence = std::max(confidence, r.confidence);
  }
  const std::string text = absl::StrJoin(texts, " ");
  nlohmann::json j;
  if (config.max_alternatives > 0) {
    // Our recognizers give one alternative; its words carry no conf, as in vosk.
    nlohmann::json alternative = {{"confidence", confidence}, {"text", text}};
    if (config.words) alternative["result"] = Words(finals, false);
    j["alternatives"] = nlohmann::json::array({alternative});
  } else {
    j["text"] = text;
    if (config.words && !text.empty()) j["result"] = Words(finals, true);
  }
  return j.dump(2, ' ', false, kReplace);
}

}  // namespace voxgate::gateway::vosk
