#include "audio/encoder.h"

#include <FLAC/stream_encoder.h>
#include <opusenc.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "audio/pcm.h"

namespace voxgate::audio {
namespace {

void AppendLe16(uint16_t v, std::string& out) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void AppendLe32(uint32_t v, std::string& out) {
  AppendLe16(static_cast<uint16_t>(v & 0xffff), out);
  AppendLe16(static_cast<uint16_t>(v >> 16), out);
}

void AppendS16le(std::span<const int16_t> samples, std::string& out) {
  if constexpr (std::endian::native == std::endian::little) {
    const size_t start = out.size();
    out.resize(start + samples.size() * 2);
    std::memcpy(out.data() + start, samples.data(), samples.size() * 2);
  } else {
    for (int16_t s : samples) AppendLe16(static_cast<uint16_t>(s), out);
  }
}

// What every format shares: the bytes produced but not yet handed out, and the rule that a
// failed or finished encoder stays that way (a half-written stream cannot be resumed).
class EncoderBase : public AudioEncoder {
 public:
  absl::StatusOr<std::string> Encode(std::span<const int16_t> samples) final {
    if (absl::Status s = Usable(); !s.ok()) return s;
    if (!samples.empty()) status_ = EncodeSamples(samples);
    if (!status_.ok()) return status_;
    return std::exchange(out_, {});
  }

  absl::StatusOr<std::string> Finish() final {
    if (absl::Status s = Usable(); !s.ok()) return s;
    finished_ = true;
    status_ = FinishStream();
    if (!status_.ok()) return status_;
    return std::exchange(out_, {});
  }

 protected:
  virtual absl::Status EncodeSamples(std::span<const int16_t> samples) = 0;
  virtual absl::Status FinishStream() = 0;

  // Codec write callbacks append here. Declared in the base so that it outlives the codec
  // handles of the derived classes, whose deleters may still write while they flush.
  std::string out_;

 private:
  absl::Status Usable() const {
    if (!status_.ok()) return status_;
    if (finished_) return absl::FailedPreconditionError("audio encoder already finished");
    return absl::OkStatus();
  }

  absl::Status status_;
  bool finished_ = false;
};

class PcmAudioEncoder : public EncoderBase {
 protected:
  absl::Status EncodeSamples(std::span<const int16_t> samples) override {
    AppendS16le(samples, out_);
    return absl::OkStatus();
  }
  absl::Status FinishStream() override { return absl::OkStatus(); }
};

// A streamed WAV cannot know its length when the header goes out. Both size fields say
// 0xFFFFFFFF, as OpenAI's streamed wav does: libsndfile (file or pipe), sox (file or pipe, with a
// "premature EOF" warning) and Python's `wave` then read every sample there is, whereas sizes of
// 0 read as an empty file in libsndfile and sox and are refused by `wave`.
class WavAudioEncoder : public EncoderBase {
 public:
  static constexpr uint32_t kUnknownSize = 0xFFFFFFFF;

  explicit WavAudioEncoder(int sample_rate_hertz) {
    const auto rate = static_cast<uint32_t>(sample_rate_hertz);
    out_.reserve(44);
    out_.append("RIFF");
    AppendLe32(kUnknownSize, out_);
    out_.append("WAVEfmt ");
    AppendLe32(16, out_);        // fmt chunk size
    AppendLe16(1, out_);         // WAVE_FORMAT_PCM
    AppendLe16(1, out_);         // channels
    AppendLe32(rate, out_);      // sample rate
    AppendLe32(rate * 2, out_);  // bytes per second
    AppendLe16(2, out_);         // bytes per frame
    AppendLe16(16, out_);        // bits per sample
    out_.append("data");
    AppendLe32(kUnknownSize, out_);
  }

 protected:
  absl::Status EncodeSamples(std::span<const int16_t> samples) override {
    AppendS16le(samples, out_);
    return absl::OkStatus();
  }
  absl::Status FinishStream() override { return absl::OkStatus(); }
};

class FlacAudioEncoder : public EncoderBase {
 public:
  static absl::StatusOr<std::unique_ptr<AudioEncoder>> Create(int sample_rate_hertz) {
    auto encoder = std::unique_ptr<FlacAudioEncoder>(new FlacAudioEncoder());
    FLAC__StreamEncoder* flac = FLAC__stream_encoder_new();
    if (flac == nullptr) return absl::InternalError("cannot create FLAC encoder");
    encoder->flac_.reset(flac);
    // The streamable subset (what players that start mid-stream expect) needs a rate the frame
    // headers can spell: any up to 65535 Hz, above that only multiples of 10 Hz.
    const bool subset = sample_rate_hertz <= 65535 || sample_rate_hertz % 10 == 0;
    // Level 5 is flac(1)'s default: most of the size gain of higher levels, at a fraction of the
    // CPU. Total samples stays 0 ("unknown"): without a seek callback STREAMINFO is never
    // rewritten, so its length and MD5 stay unset, which decoders accept.
    const bool configured =
        FLAC__stream_encoder_set_verify(flac, false) &&
        FLAC__stream_encoder_set_streamable_subset(flac, subset) &&
        FLAC__stream_encoder_set_channels(flac, 1) &&
        FLAC__stream_encoder_set_bits_per_sample(flac, 16) &&
        FLAC__stream_encoder_set_sample_rate(flac, static_cast<uint32_t>(sample_rate_hertz)) &&
        FLAC__stream_encoder_set_compression_level(flac, 5) &&
        FLAC__stream_encoder_set_total_samples_estimate(flac, 0);
    if (!configured) return absl::InternalError("cannot configure FLAC encoder");
    // Writes the stream header (fLaC, STREAMINFO, VORBIS_COMMENT) at once, so it goes out with
    // the first Encode.
    const FLAC__StreamEncoderInitStatus init = FLAC__stream_encoder_init_stream(
        flac, &FlacAudioEncoder::Write, /*seek_callback=*/nullptr, /*tell_callback=*/nullptr,
        /*metadata_callback=*/nullptr, encoder.get());
    if (init != FLAC__STREAM_ENCODER_INIT_STATUS_OK) {
      return absl::InternalError(absl::StrCat("cannot start FLAC encoder: ",
                                              FLAC__StreamEncoderInitStatusString[init]));
    }
    return encoder;
  }

 protected:
  absl::Status EncodeSamples(std::span<const int16_t> samples) override {
    while (!samples.empty()) {
      const size_t n = std::min(samples.size(), block_.size());
      std::copy_n(samples.begin(), n, block_.begin());
      if (!FLAC__stream_encoder_process_interleaved(flac_.get(), block_.data(),
                                                    static_cast<uint32_t>(n))) {
        return Failed("FLAC encoding failed");
      }
      samples = samples.subspan(n);
    }
    return absl::OkStatus();
  }

  absl::Status FinishStream() override {
    // Encodes the last, partial frame. The handle stays until destruction: finish leaves it
    // uninitialized, so its deleter writes nothing more.
    if (!FLAC__stream_encoder_finish(flac_.get())) return Failed("FLAC encoding failed");
    return absl::OkStatus();
  }

 private:
  struct FlacDeleter {
    // Deleting an encoder that was not finished finishes it first, which may call Write.
    void operator()(FLAC__StreamEncoder* e) const { FLAC__stream_encoder_delete(e); }
  };

  FlacAudioEncoder() : block_(4096) {}

  // A C callback: must not throw.
  static FLAC__StreamEncoderWriteStatus Write(const FLAC__StreamEncoder*, const FLAC__byte buffer[],
                                              size_t bytes, uint32_t, uint32_t,
                                              void* client_data) {
    try {
      static_cast<FlacAudioEncoder*>(client_data)
          ->out_.append(reinterpret_cast<const char*>(buffer), bytes);
      return FLAC__STREAM_ENCODER_WRITE_STATUS_OK;
    } catch (...) {
      return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR;
    }
  }

  absl::Status Failed(std::string_view what) const {
    const FLAC__StreamEncoderState state = FLAC__stream_encoder_get_state(flac_.get());
    return absl::InternalError(absl::StrCat(absl::string_view(what.data(), what.size()), ": ",
                                            FLAC__StreamEncoderStateString[state]));
  }

  std::vector<FLAC__int32> block_;  // libFLAC takes 32-bit samples
  std::unique_ptr<FLAC__StreamEncoder, FlacDeleter> flac_;
};

class OpusAudioEncoder : public EncoderBase {
 public:
  // Xiph's recommended range for fullband speech is 28-40 kbit/s; synthesized speech is clean,
  // so the middle of it is plenty.
  static constexpr int kBitrate = 32000;
  // libopusenc counts delays in 48 kHz samples. By default it holds 2 s of audio before encoding
  // (room for look-ahead decisions it does not make yet) and up to 1 s per Ogg page; a page every
  // 200 ms starts playback early for ~5% of overhead at this bitrate (~37 bytes a page).
  static constexpr int kDecisionDelay = 0;
  static constexpr int kMuxingDelay = 48000 / 5;

  static absl::StatusOr<std::unique_ptr<AudioEncoder>> Create(int sample_rate_hertz) {
    auto encoder = std::unique_ptr<OpusAudioEncoder>(new OpusAudioEncoder());
    std::unique_ptr<OggOpusComments, CommentsDeleter> comments(ope_comments_create());
    if (comments == nullptr) return absl::InternalError("cannot create Opus comments");
    static constexpr OpusEncCallbacks kCallbacks{&OpusAudioEncoder::Write,
                                                 &OpusAudioEncoder::Close};
    int error = OPE_OK;
    // The encoder copies the comments; any input rate is resampled to 48 kHz inside, and the
    // stream header records the input rate for decoders that want to resample back.
    encoder->opus_.reset(ope_encoder_create_callbacks(&kCallbacks, encoder.get(), comments.get(),
                                                      sample_rate_hertz, /*channels=*/1,
                                                      /*family=*/0, &error));
    if (encoder->opus_ == nullptr) return Failed("cannot start Opus encoder", error);
    OggOpusEnc* opus = encoder->opus_.get();
    for (const auto& [what, code] : {
             std::pair{"bitrate", ope_encoder_ctl(opus, OPUS_SET_BITRATE(kBitrate))},
             std::pair{"signal", ope_encoder_ctl(opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE))},
             std::pair{"decision delay",
                       ope_encoder_ctl(opus, OPE_SET_DECISION_DELAY(kDecisionDelay))},
             std::pair{"muxing delay", ope_encoder_ctl(opus, OPE_SET_MUXING_DELAY(kMuxingDelay))},
             // Room to edit tags in place in a file; a stream has no use for it.
             std::pair{"comment padding", ope_encoder_ctl(opus, OPE_SET_COMMENT_PADDING(0))},
         }) {
      if (code != OPE_OK) return Failed(absl::StrCat("cannot set Opus ", what), code);
    }
    // The two header pages, so that they go out with the first Encode.
    if (int code = ope_encoder_flush_header(opus); code != OPE_OK) {
      return Failed("cannot write Opus header", code);
    }
    // libopusenc 0.2.1 leaves the stream's end position uninitialized until the first write, so
    // draining a stream that got no audio reads heap garbage and fails an assertion (abort).
    // An empty write sets it.
    const opus_int16 none = 0;
    if (int code = ope_encoder_write(opus, &none, 0); code != OPE_OK) {
      return Failed("cannot start Opus stream", code);
    }
    return encoder;
  }

 protected:
  absl::Status EncodeSamples(std::span<const int16_t> samples) override {
    while (!samples.empty()) {
      const size_t n = std::min<size_t>(samples.size(), INT_MAX);
      if (int code = ope_encoder_write(opus_.get(), samples.data(), static_cast<int>(n));
          code != OPE_OK) {
        return Failed("Opus encoding failed", code);
      }
      samples = samples.subspan(n);
    }
    return absl::OkStatus();
  }

  absl::Status FinishStream() override {
    if (int code = ope_encoder_drain(opus_.get()); code != OPE_OK) {
      return Failed("Opus encoding failed", code);
    }
    return absl::OkStatus();
  }

 private:
  struct CommentsDeleter {
    void operator()(OggOpusComments* c) const { ope_comments_destroy(c); }
  };
  struct OpusDeleter {
    void operator()(OggOpusEnc* e) const { ope_encoder_destroy(e); }
  };

  OpusAudioEncoder() = default;

  // C callbacks: must not throw. libopusenc reads 0 as success.
  static int Write(void* user_data, const unsigned char* ptr, opus_int32 len) {
    try {
      static_cast<OpusAudioEncoder*>(user_data)
          ->out_.append(reinterpret_cast<const char*>(ptr), static_cast<size_t>(len));
      return 0;
    } catch (...) {
      return 1;
    }
  }
  static int Close(void*) { return 0; }  // the response, not the encoder, owns the connection

  static absl::Status Failed(std::string_view what, int code) {
    return absl::InternalError(
        absl::StrCat(absl::string_view(what.data(), what.size()), ": ", ope_strerror(code)));
  }

  std::unique_ptr<OggOpusEnc, OpusDeleter> opus_;
};

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  for (OutputFormat format :
       {OutputFormat::kWav, OutputFormat::kPcm, OutputFormat::kFlac, OutputFormat::kOpus}) {
    if (name == FormatName(format)) return format;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported audio format \"", absl::string_view(name.data(), name.size()),
                   "\": supported are wav, pcm, flac and opus (mp3 and aac are not supported)"));
}

std::string_view FormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kWav: return "wav";
    case OutputFormat::kPcm: return "pcm";
    case OutputFormat::kFlac: return "flac";
    case OutputFormat::kOpus: return "opus";
  }
  return "unknown";
}

std::string_view ContentType(OutputFormat format) {
  switch (format) {
    case OutputFormat::kWav: return "audio/wav";
    case OutputFormat::kPcm: return "audio/pcm";
    case OutputFormat::kFlac: return "audio/flac";
    case OutputFormat::kOpus: return "audio/ogg";
  }
  return "application/octet-stream";
}

absl::StatusOr<std::unique_ptr<AudioEncoder>> AudioEncoder::Create(OutputFormat format,
                                                                   int sample_rate_hertz) {
  if (absl::Status s = CheckSampleRate(sample_rate_hertz); !s.ok()) return s;
  switch (format) {
    case OutputFormat::kWav: return std::make_unique<WavAudioEncoder>(sample_rate_hertz);
    case OutputFormat::kPcm: return std::make_unique<PcmAudioEncoder>();
    case OutputFormat::kFlac: return FlacAudioEncoder::Create(sample_rate_hertz);
    case OutputFormat::kOpus: return OpusAudioEncoder::Create(sample_rate_hertz);
  }
  return absl::InvalidArgumentError("unknown audio format");
}

std::string WithWavSizes(std::string wav) {
  // The 44-byte header of a PCM WAV: "RIFF" size "WAVE" "fmt " ... "data" size.
  if (wav.size() < 44 || wav.compare(0, 4, "RIFF") != 0 || wav.compare(8, 4, "WAVE") != 0 || wav.compare(36, 4, "data") != 0) return wav;
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) wav[at + i] = static_cast<char>(v >> (8 * i));
  };
  put32(4, static_cast<uint32_t>(wav.size() - 8));
  put32(40, static_cast<uint32_t>(wav.size() - 44));
  return wav;
}

}  // namespace voxgate::audio
