// An upload decoded whole and then resampled, as the endpoint did before it decoded uploads a
// block at a time (gateway/upload_audio.h): bench/upload_memory.mjs sets this program's peak
// memory beside the endpoint's.
//   voxgate-bench-whole-decode FILE  →  {"samples_16k", "peak_rss_mib"}
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "audio/decode.h"
#include "audio/resampler.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: voxgate-bench-whole-decode FILE\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string file = bytes.str();
  auto pcm = voxgate::audio::DecodeAudioFile(file, size_t{3600} * voxgate::audio::kMaxSampleRateHertz);
  if (!pcm.ok()) {
    std::fprintf(stderr, "%s\n", std::string(pcm.status().message()).c_str());
    return 1;
  }
  auto resampled = voxgate::audio::ResampleTo(*pcm, 16000);
  if (!resampled.ok()) return 1;
  std::ifstream status("/proc/self/status");
  long peak_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) peak_kib = std::stol(line.substr(6));
  }
  std::printf("{\"samples_16k\": %zu, \"peak_rss_mib\": %.0f}\n", resampled->samples.size(), peak_kib / 1024.0);
}
