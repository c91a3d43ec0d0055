#ifndef VOXGATE_TESTS_UNIT_AUDIO_TEST_UTIL_H_
#define VOXGATE_TESTS_UNIT_AUDIO_TEST_UTIL_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::audio::testing {

// gmock's string matchers take std::string, which absl::string_view does not convert to here.
inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Real recorded speech from the pocketsphinx-testdata package (16 kHz mono 16-bit WAV).
inline constexpr char kPocketsphinxData[] = "/usr/share/pocketsphinx/test/data";
std::vector<std::filesystem::path> SpeechFiles();      // librivox/*.wav and cards/*.wav
std::filesystem::path LibrivoxFile();                  // the first librivox recording

std::string ReadFile(const std::filesystem::path& path);

// Runs a shell command; returns its stdout, or fails the current test if it exits non-zero.
std::string Shell(const std::string& command);
std::string Quote(const std::filesystem::path& path);
bool HaveSox();

// soxi's view of a file: what the decoder must agree with.
struct SoxInfo {
  int64_t rate = 0;
  int64_t channels = 0;
  int64_t frames = 0;
};
SoxInfo Soxi(const std::filesystem::path& path);

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Files made with sox from LibrivoxFile() (and a second recording for `stereo_mixed`), once per
// test binary in a temp dir that is removed at exit. Empty paths if sox or the data is missing.
struct SoxFiles {
  std::filesystem::path source;        // the librivox recording itself, 16 kHz mono
  std::filesystem::path other;         // another librivox recording
  std::filesystem::path flac;          // same audio, FLAC
  std::filesystem::path ogg;           // same audio, Ogg/Vorbis
  std::filesystem::path stereo_44k;    // resampled to 44.1 kHz, both channels the same
  std::filesystem::path mono_8k;       // resampled to 8 kHz
  std::filesystem::path stereo_mixed;  // 16 kHz, left = source, right = other (padded)
  std::filesystem::path pcm24;         // 24-bit PCM WAV
  std::filesystem::path float32;       // 32-bit float WAV
  std::filesystem::path mulaw;         // 8-bit mu-law WAV

  static const SoxFiles& Get();
};

// Byte-level WAV building, for headers no encoder would write.
std::string Le16(uint16_t v);
std::string Le32(uint32_t v);
std::string Chunk(std::string_view id, std::string_view body);  // pads odd bodies
std::string FmtBody(uint16_t format_tag, uint16_t channels, uint32_t rate, uint16_t bits);
// RIFF/WAVE with the given fmt body, extra chunks, then a data chunk holding `data` whose size
// field says `data_size` (default: the real size).
std::string Wav(std::string_view fmt_body, std::string_view data, std::string_view extra = "",
                int64_t data_size = -1);
std::string S16le(const std::vector<int16_t>& samples);

}  // namespace voxgate::audio::testing

#endif  // VOXGATE_TESTS_UNIT_AUDIO_TEST_UTIL_H_
