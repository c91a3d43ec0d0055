#include "engines/espeak/internal/synthesizer.h"

#include <espeak-ng/espeak_ng.h>

#include <cstring>
#include <filesystem>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate::engines::espeak::internal {
namespace {

std::string Message(espeak_ng_STATUS status) {
  char buffer[512] = {};
  espeak_ng_GetStatusCodeMessage(status, buffer, sizeof buffer);
  return buffer;
}

absl::Status FromEspeak(espeak_ng_STATUS status, const std::string& what) {
  const std::string message = absl::StrCat("espeak-ng: ", what, ": ", Message(status));
  if (status == ENS_VOICE_NOT_FOUND) return absl::NotFoundError(message);
  return absl::InternalError(message);
}

// The synthesis in progress. Only the espeak thread touches these (espeak calls the callback
// from inside espeak_ng_Synthesize in synchronous mode).
absl::FunctionRef<bool(std::span<const int16_t>)>* current_sink = nullptr;
bool current_stopped = false;

int OnSynth(short* wav, int samples, espeak_EVENT*) {
  if (current_sink == nullptr || current_stopped) return 1;
  if (wav == nullptr || samples <= 0) return 0;  // the end, or an empty buffer (not the end)
  static_assert(sizeof(short) == sizeof(int16_t));
  if (!(*current_sink)(std::span<const int16_t>(reinterpret_cast<const int16_t*>(wav), static_cast<size_t>(samples)))) {
    current_stopped = true;
    return 1;  // espeak aborts the synthesis
  }
  return 0;
}

// espeak_ng_InitializePath silently falls back to the default data when the path has none,
// so a wrong --data-path would go unnoticed: check it first.
bool HasEspeakData(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(path) / "espeak-ng-data" / "phontab", ec) ||
         std::filesystem::exists(std::filesystem::path(path) / "phontab", ec);
}

absl::StatusOr<Installation> Initialize(const std::string& data_path) {
  espeak_ng_InitializePath(data_path.empty() ? nullptr : data_path.c_str());
  espeak_ng_ERROR_CONTEXT context = nullptr;
  espeak_ng_STATUS status = espeak_ng_Initialize(&context);
  espeak_ng_ClearErrorContext(&context);
  if (status != ENS_OK) {
    return absl::FailedPreconditionError(absl::StrCat("espeak-ng cannot start (data path \"", data_path, "\"): ", Message(status)));
  }
  status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, Synthesizer::kChunkMilliseconds, nullptr);
  if (status != ENS_OK) return FromEspeak(status, "initialising the output");
  espeak_SetSynthCallback(OnSynth);

  Installation out;
  out.version = espeak_Info(nullptr);
  out.sample_rate_hertz = espeak_ng_GetSampleRate();
  // espeak_ListVoices' array is reused by the next call: copy it at once.
  for (const espeak_VOICE** v = espeak_ListVoices(nullptr); v != nullptr && *v != nullptr; ++v) {
    InstalledVoice voice{(*v)->identifier, (*v)->name, {}, (*v)->gender};
    // languages: (priority byte, NUL-terminated code) pairs, ended by a zero priority byte.
    for (const char* p = (*v)->languages; p != nullptr && *p != 0;) {
      const char* code = p + 1;
      voice.languages.emplace_back(static_cast<unsigned char>(*p), code);
      p = code + std::strlen(code) + 1;
    }
    if (!voice.languages.empty()) out.voices.push_back(std::move(voice));
  }
  espeak_VOICE variant_spec{};
  variant_spec.languages = "variant";
  for (const espeak_VOICE** v = espeak_ListVoices(&variant_spec); v != nullptr && *v != nullptr; ++v) {
    std::string id = (*v)->identifier;  // "!v/klatt"
    if (!absl::StartsWith(id, "!v/")) continue;
    out.variants.push_back({id.substr(3), (*v)->gender});
  }
  if (out.voices.empty()) return absl::FailedPreconditionError("espeak-ng lists no voices (is espeak-ng-data installed?)");
  return out;
}

}  // namespace

absl::StatusOr<Synthesizer*> Synthesizer::Get(const std::string& data_path) {
  static std::mutex mu;
  static Synthesizer* instance = nullptr;  // never destroyed: its thread runs until the process exits
  std::lock_guard lock(mu);
  if (instance != nullptr) {
    if (instance->data_path_ != data_path) {
      return absl::FailedPreconditionError(absl::StrCat("espeak-ng was started with data path \"", instance->data_path_,
                                                        "\"; one process cannot also use \"", data_path, "\""));
    }
    return instance;
  }
  if (!data_path.empty() && !HasEspeakData(data_path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no espeak-ng data in ", data_path, " (expected ", data_path, "/espeak-ng-data/phontab or ", data_path, "/phontab)"));
  }
  auto* synthesizer = new Synthesizer(data_path);
  std::promise<absl::StatusOr<Installation>> initialised;
  synthesizer->Post([&] { initialised.set_value(Initialize(data_path)); });
  absl::StatusOr<Installation> installation = initialised.get_future().get();
  if (!installation.ok()) {
    delete synthesizer;
    return installation.status();
  }
  synthesizer->installation_ = std::move(*installation);
  instance = synthesizer;
  return instance;
}

Synthesizer::Synthesizer(std::string data_path) : data_path_(std::move(data_path)) {
  thread_ = std::thread([this] { Loop(); });
}

Synthesizer::~Synthesizer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Synthesizer::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void Synthesizer::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

absl::Status Synthesizer::Speak(const Utterance& u, absl::FunctionRef<bool(std::span<const int16_t>)> on_chunk) {
  // Selected by identifier: espeak_ng_SetVoiceByName("en-gb") or ("fr-fr") fails (no voice has
  // that name or file name), while "gmw/en" and "roa/fr" load every listed voice, variants too.
  espeak_ng_STATUS status = espeak_ng_SetVoiceByName(u.voice.c_str());
  if (status != ENS_OK) return FromEspeak(status, absl::StrCat("selecting voice ", u.voice));
  // Set on every call: parameters outlive a synthesis and would leak into the next one.
  status = espeak_ng_SetParameter(espeakRATE, u.words_per_minute, 0);
  if (status != ENS_OK) return FromEspeak(status, "setting the rate");
  status = espeak_ng_SetParameter(espeakPITCH, u.pitch, 0);
  if (status != ENS_OK) return FromEspeak(status, "setting the pitch");

  current_sink = &on_chunk;
  current_stopped = false;
  // espeakCHARS_UTF8 only: without espeakSSML and espeakPHONEMES, "<break time='10s'/>" and
  // "[[...]]" in a client's text are read as text, never obeyed.
  status = espeak_ng_Synthesize(u.text.c_str(), u.text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
  const bool stopped = current_stopped;
  current_sink = nullptr;
  current_stopped = false;
  if (stopped) return absl::CancelledError("the synthesis was stopped");  // espeak says ENS_SPEECH_STOPPED
  if (status != ENS_OK) return FromEspeak(status, "synthesizing");
  return absl::OkStatus();
}

}  // namespace voxgate::engines::espeak::internal
