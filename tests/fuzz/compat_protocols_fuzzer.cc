// Fuzzes what vosk and mimi clients send: vosk text messages and frames, mimi headers (all
// read from the input), recog-break, and mimi's form-encoded synthesis and translation bodies;
// and the WebSocket handshake's key and version, which every streaming client sends.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/protocols/mimi/mimi_protocol.h"
#include "gateway/protocols/vosk/vosk_protocol.h"
#include "gateway/websocket_handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace mimi = voxgate::gateway::mimi;
  namespace vosk = voxgate::gateway::vosk;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  vosk::Config config;
  auto text = vosk::ParseClientText(input, config);
  (void)vosk::IsEof(input);
  if (text.ok() && (config.sample_rate < 8000 || config.sample_rate > 192000)) __builtin_trap();
  (void)vosk::PartialJson(std::string(input));
  // The input split into four header values at NUL bytes.
  std::string parts[4];
  size_t k = 0;
  for (char c : input) {
    if (c == '\0' && k < 3) ++k; else parts[k] += c;
  }
  if (!voxgate::gateway::RefuseHandshake(parts[0], parts[1]) && (parts[0].size() != 24 || parts[1] != "13")) __builtin_trap();
  auto mimi_config = mimi::ParseConfig([&](std::string_view name) {
    if (name == "x-mimi-process") return parts[0];
    if (name == "x-mimi-input-language") return parts[1];
    if (name == "content-type") return parts[2];
    if (name == "x-mimi-nict-asr-options") return parts[3];
    return std::string();
  });
  if (mimi_config.ok()) {
    mimi::Session session(*mimi_config, "id");
    voxgate::speech::RecognitionResult r;
    r.transcript = parts[1];
    r.words.push_back({parts[2], 0, 1, 0.5f});
    (void)session.OnResult(r);
    r.is_final = true;
    (void)session.OnResult(r);
    (void)session.Finished();
  }
  (void)mimi::IsRecogBreak(input);
  auto form = mimi::ParseSynthesisForm(input);
  if (form.ok() && (form->text.empty() || !(form->rate >= 0.5 && form->rate <= 2.0))) __builtin_trap();
  (void)mimi::ParseTranslationForm(input);
  return 0;
}
