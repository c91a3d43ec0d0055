#include "unit/audio/test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

namespace voxgate::audio::testing {

namespace fs = std::filesystem;

std::vector<fs::path> SpeechFiles() {
  std::vector<fs::path> files;
  for (const char* dir : {"librivox", "cards"}) {
    const fs::path root = fs::path(kPocketsphinxData) / dir;
    if (!fs::is_directory(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.path().extension() == ".wav") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

fs::path LibrivoxFile() {
  for (const fs::path& file : SpeechFiles()) {
    if (file.parent_path().filename() == "librivox") return file;
  }
  return {};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Shell(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run: " << command;
    return output;
  }
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << "command failed: " << command;
  return output;
}

std::string Quote(const fs::path& path) { return "'" + path.string() + "'"; }

bool HaveSox() { return std::system("sox --version >/dev/null 2>&1") == 0; }

SoxInfo Soxi(const fs::path& path) {
  const auto field = [&](const char* flag) {
    return std::stoll(Shell(std::string("soxi ") + flag + " " + Quote(path)));
  };
  return {field("-r"), field("-c"), field("-s")};
}

TempDir::TempDir() {
  std::random_device random;
  path_ = fs::temp_directory_path() /
          ("voxgate-audio-test-" + std::to_string(getpid()) + "-" + std::to_string(random()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

namespace {
std::unique_ptr<TempDir> sox_dir;  // destroyed, and so removed, at exit
}  // namespace

const SoxFiles& SoxFiles::Get() {
  static const SoxFiles files = [] {
    SoxFiles f;
    std::vector<fs::path> librivox;
    for (const fs::path& file : SpeechFiles()) {
      if (file.parent_path().filename() == "librivox") librivox.push_back(file);
    }
    if (librivox.size() < 2 || !HaveSox()) return f;
    sox_dir = std::make_unique<TempDir>();
    const fs::path& d = sox_dir->path();
    f.source = librivox[0];
    f.other = librivox[1];
    const auto sox = [&](const std::string& args, const fs::path& out) {
      Shell("sox " + args + " " + Quote(out));
      return out;
    };
    const std::string src = Quote(f.source);
    f.flac = sox(src, d / "speech.flac");
    f.ogg = sox(src, d / "speech.ogg");
    f.stereo_44k = sox(src + " -r 44100 -c 2", d / "speech_44k_stereo.wav");
    f.mono_8k = sox(src + " -r 8000", d / "speech_8k.wav");
    f.stereo_mixed = sox("-M " + src + " " + Quote(f.other), d / "speech_stereo_mixed.wav");
    f.pcm24 = sox(src + " -b 24", d / "speech_pcm24.wav");
    f.float32 = sox(src + " -e floating-point -b 32", d / "speech_float32.wav");
    f.mulaw = sox(src + " -e mu-law -b 8", d / "speech_mulaw.wav");
    return f;
  }();
  return files;
}

std::string Le16(uint16_t v) {
  return {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
}

std::string Le32(uint32_t v) { return Le16(v & 0xFFFF) + Le16(v >> 16); }

std::string Chunk(std::string_view id, std::string_view body) {
  std::string chunk = std::string(id) + Le32(static_cast<uint32_t>(body.size()));
  chunk += body;
  if (body.size() % 2 == 1) chunk += '\0';
  return chunk;
}

std::string FmtBody(uint16_t format_tag, uint16_t channels, uint32_t rate, uint16_t bits) {
  const uint16_t block_align = static_cast<uint16_t>(channels * bits / 8);
  return Le16(format_tag) + Le16(channels) + Le32(rate) + Le32(rate * block_align) +
         Le16(block_align) + Le16(bits);
}

std::string Wav(std::string_view fmt_body, std::string_view data, std::string_view extra,
                int64_t data_size) {
  const uint32_t size = data_size < 0 ? static_cast<uint32_t>(data.size())
                                      : static_cast<uint32_t>(data_size);
  std::string body = "WAVE" + Chunk("fmt ", fmt_body) + std::string(extra) + "data" + Le32(size);
  body += data;
  return "RIFF" + Le32(static_cast<uint32_t>(body.size())) + body;
}

std::string S16le(const std::vector<int16_t>& samples) {
  std::string bytes;
  for (int16_t s : samples) bytes += Le16(static_cast<uint16_t>(s));
  return bytes;
}

}  // namespace voxgate::audio::testing
