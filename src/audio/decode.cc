#include "audio/decode.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace voxgate::audio {
namespace {

// libsndfile's virtual I/O over a caller-owned buffer. Every callback is a C callback: it must
// not throw, and it never reads outside [data, data + size).
struct MemoryFile {
  std::string_view bytes;
  sf_count_t position = 0;

  static MemoryFile& From(void* user_data) { return *static_cast<MemoryFile*>(user_data); }

  static sf_count_t Length(void* user_data) {
    return static_cast<sf_count_t>(From(user_data).bytes.size());
  }

  static sf_count_t Seek(sf_count_t offset, int whence, void* user_data) {
    MemoryFile& file = From(user_data);
    const auto size = static_cast<sf_count_t>(file.bytes.size());
    sf_count_t base = 0;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = file.position; break;
      case SEEK_END: base = size; break;
      default: return -1;
    }
    // Offsets come from file headers: refuse ones that would overflow or point before the start.
    // Past the end is allowed, as for a real file; reads there return nothing.
    if ((offset > 0 && base > SF_COUNT_MAX - offset) || base + offset < 0) return -1;
    file.position = base + offset;
    return file.position;
  }

  static sf_count_t Read(void* ptr, sf_count_t count, void* user_data) {
    MemoryFile& file = From(user_data);
    const auto size = static_cast<sf_count_t>(file.bytes.size());
    if (count <= 0 || file.position >= size) return 0;
    const sf_count_t n = std::min(count, size - file.position);
    std::copy_n(file.bytes.data() + file.position, n, static_cast<char*>(ptr));
    file.position += n;
    return n;
  }

  static sf_count_t Write(const void*, sf_count_t, void*) { return 0; }  // read-only

  static sf_count_t Tell(void* user_data) { return From(user_data).position; }
};

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// libsndfile words one common rejection for its own developers: it says this when a header
// gives a sample rate (or length) below 1, which for a client means a broken header.
std::string ClientReason(const char* libsndfile_message) {
  if (std::string_view(libsndfile_message) == "Internal error : SF_INFO struct incomplete.") {
    return absl::StrCat("invalid sample rate in its header (must be ", kMinSampleRateHertz, "..",
                        kMaxSampleRateHertz, " Hz)");
  }
  return libsndfile_message;
}

// libsndfile scales every source format to floats in [-1, 1) when reading floats (reading
// shorts from a float file gives silence unless the file's own peak is used to rescale). 16-bit
// and narrower integer samples are exact in float, so they come back unchanged.
int16_t FloatToS16(float x) {
  if (std::isnan(x)) return 0;
  return static_cast<int16_t>(std::lrint(std::clamp(x * 32768.0f, -32768.0f, 32767.0f)));
}

absl::Status TooLong(size_t max_samples, int sample_rate_hertz) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "audio longer than %g seconds", static_cast<double>(max_samples) / sample_rate_hertz));
}

}  // namespace

struct AudioFileReader::State {
  explicit State(std::string_view bytes) : file{bytes} {}

  MemoryFile file;
  SF_VIRTUAL_IO io{&MemoryFile::Length, &MemoryFile::Seek, &MemoryFile::Read, &MemoryFile::Write,
                   &MemoryFile::Tell};
  SF_INFO info{};
  SndfilePtr sndfile;
  std::vector<float> block;  // one read's interleaved frames
  std::vector<int16_t> interleaved;
  uint64_t frames_read = 0;

  // Opens with `info` as the caller set it (all zero: read the header; else a raw format).
  absl::Status Open() {
    if (file.bytes.empty()) return absl::InvalidArgumentError("audio file is empty");
    sndfile.reset(sf_open_virtual(&io, SFM_READ, &info, &file));
    if (sndfile == nullptr) {
      // sf_strerror(nullptr) reads libsndfile's process-wide last error, which a concurrent
      // failing open may overwrite; at worst the client sees another decode's reason for the same
      // rejection.
      return absl::InvalidArgumentError(
          absl::StrCat("could not decode audio file: ", ClientReason(sf_strerror(nullptr))));
    }
    if (absl::Status rate = CheckSampleRate(info.samplerate); !rate.ok()) return rate;
    if (info.channels < 1) {
      return absl::InvalidArgumentError(absl::StrCat("audio file has ", info.channels, " channels"));
    }
    return absl::OkStatus();
  }
};

AudioFileReader::AudioFileReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
AudioFileReader::AudioFileReader(AudioFileReader&&) noexcept = default;
AudioFileReader& AudioFileReader::operator=(AudioFileReader&&) noexcept = default;
AudioFileReader::~AudioFileReader() = default;

absl::StatusOr<AudioFileReader> AudioFileReader::Open(std::string_view bytes) {
  auto state = std::make_unique<State>(bytes);
  if (absl::Status s = state->Open(); !s.ok()) return s;
  return AudioFileReader(std::move(state));
}

absl::StatusOr<AudioFileReader> AudioFileReader::OpenRawS16le(std::string_view bytes,
                                                               int sample_rate_hertz, int channels) {
  if (absl::Status rate = CheckSampleRate(sample_rate_hertz); !rate.ok()) return rate;
  auto state = std::make_unique<State>(bytes);
  state->info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
  state->info.samplerate = sample_rate_hertz;
  state->info.channels = channels;
  if (absl::Status s = state->Open(); !s.ok()) return s;
  return AudioFileReader(std::move(state));
}

int AudioFileReader::sample_rate_hertz() const { return state_->info.samplerate; }

std::optional<uint64_t> AudioFileReader::header_frames() const {
  // SF_COUNT_MAX means "unknown length", not "long".
  const sf_count_t frames = state_->info.frames;
  if (frames <= 0 || frames == SF_COUNT_MAX) return std::nullopt;
  return static_cast<uint64_t>(frames);
}

absl::StatusOr<size_t> AudioFileReader::Read(size_t max_frames, std::vector<int16_t>& out) {
  State& s = *state_;
  const size_t channels = static_cast<size_t>(s.info.channels);
  const size_t frames = std::clamp<size_t>(max_frames, 1, std::max<size_t>(1, kBlockFrames / channels));
  s.block.resize(frames * channels);
  s.interleaved.resize(s.block.size());
  const sf_count_t got = sf_readf_float(s.sndfile.get(), s.block.data(), static_cast<sf_count_t>(frames));
  if (got <= 0) {
    if (s.frames_read > 0) return 0;
    // A stream that breaks partway still yields what came before the break; only a file with
    // nothing decodable is an error.
    if (sf_error(s.sndfile.get()) != SF_ERR_NO_ERROR) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not decode audio file: ", sf_strerror(s.sndfile.get())));
    }
    return absl::InvalidArgumentError("audio file has 0 frames");
  }
  const size_t n = static_cast<size_t>(got) * channels;
  std::transform(s.block.begin(), s.block.begin() + n, s.interleaved.begin(), FloatToS16);
  AppendDownmixed(std::span(s.interleaved.data(), n), s.info.channels, out);
  s.frames_read += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

absl::StatusOr<Pcm> DecodeAudioFile(std::string_view bytes, size_t max_samples) {
  absl::StatusOr<AudioFileReader> reader = AudioFileReader::Open(bytes);
  if (!reader.ok()) return reader.status();
  const int rate = reader->sample_rate_hertz();
  // The header's length lets honest long files be refused without decoding them; the loop below
  // enforces the bound whatever it says.
  const std::optional<uint64_t> claimed = reader->header_frames();
  if (claimed && *claimed > max_samples) return TooLong(max_samples, rate);

  Pcm pcm;
  pcm.sample_rate_hertz = rate;
  // Reserve no more than the input could hold uncompressed: a tiny file may claim hours of audio.
  pcm.samples.reserve(std::min({claimed.value_or(0), uint64_t{max_samples}, uint64_t{bytes.size() / 2}}));
  for (;;) {
    absl::StatusOr<size_t> got = reader->Read(AudioFileReader::kBlockFrames, pcm.samples);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    if (pcm.samples.size() > max_samples) return TooLong(max_samples, rate);
  }
  return pcm;
}

}  // namespace voxgate::audio
