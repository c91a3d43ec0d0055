// espeak-ng called directly, as a program linking the library would: time to the first audio
// callback and the whole synthesis, for bench/synthesis_speed.mjs to set beside the full stack.
//   voxgate-bench-espeak-direct VOICE TEXT  →  {"first_audio_ms", "total_ms", "audio_seconds"}
#include <espeak-ng/espeak_ng.h>

#include <chrono>
#include <cstdio>
#include <cstring>

namespace {

using Clock = std::chrono::steady_clock;
Clock::time_point started, first_audio;
long samples = 0;

int OnSynth(short*, int n, espeak_EVENT*) {
  if (n > 0 && samples == 0) first_audio = Clock::now();
  samples += n;
  return 0;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s VOICE TEXT\n", argv[0]);
    return 2;
  }
  espeak_ng_InitializePath(nullptr);
  if (espeak_ng_Initialize(nullptr) != ENS_OK || espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 100, nullptr) != ENS_OK) {
    std::fprintf(stderr, "espeak-ng does not start\n");
    return 1;
  }
  espeak_SetSynthCallback(OnSynth);
  if (espeak_ng_SetVoiceByName(argv[1]) != ENS_OK) {
    std::fprintf(stderr, "no voice %s\n", argv[1]);
    return 1;
  }
  started = Clock::now();
  espeak_ng_Synthesize(argv[2], std::strlen(argv[2]) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
  const auto done = Clock::now();
  std::printf("{\"first_audio_ms\": %.3f, \"total_ms\": %.3f, \"audio_seconds\": %.3f}\n", Ms(first_audio - started), Ms(done - started),
              samples / static_cast<double>(espeak_ng_GetSampleRate()));
  return 0;
}
