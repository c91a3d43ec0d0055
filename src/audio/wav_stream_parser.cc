#include "audio/wav_stream_parser.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace voxgate::audio {
namespace {

uint16_t LoadU16le(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               (static_cast<uint8_t>(b[at + 1]) << 8));
}

uint32_t LoadU32le(std::string_view b, size_t at) {
  return static_cast<uint32_t>(LoadU16le(b, at)) |
         (static_cast<uint32_t>(LoadU16le(b, at + 2)) << 16);
}

constexpr size_t kChunkHeaderBytes = 8;
constexpr uint16_t kFormatPcm = 0x0001;
constexpr uint16_t kFormatFloat = 0x0003;
constexpr uint16_t kFormatExtensible = 0xFFFE;

std::string FormatName(uint16_t tag, uint16_t bits) {
  switch (tag) {
    case kFormatPcm: return absl::StrCat(bits, "-bit PCM");
    case kFormatFloat: return absl::StrCat(bits, "-bit float");
    case 0x0002: return "MS ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0055: return "MP3";
    default: return absl::StrFormat("format tag 0x%04X", tag);
  }
}

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

}  // namespace

absl::Status WavStreamParser::Append(std::string_view bytes, std::vector<int16_t>& out_samples) {
  while (status_.ok() && !bytes.empty()) {
    switch (state_) {
      case State::kData: {
        const size_t n =
            data_unbounded_ ? bytes.size()
                            : static_cast<size_t>(std::min<uint64_t>(bytes.size(), data_left_));
        pcm_->Append(bytes.substr(0, n), out_samples);
        bytes.remove_prefix(n);
        if (!data_unbounded_ && (data_left_ -= n) == 0) state_ = State::kAfterData;
        break;
      }
      case State::kAfterData:
        return status_;  // trailing chunks (LIST, id3 ...) carry no audio
      case State::kSkip: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes.size(), skip_left_));
        bytes.remove_prefix(n);
        if ((skip_left_ -= n) == 0) {
          state_ = State::kChunkHeader;
          item_size_ = kChunkHeaderBytes;
        }
        break;
      }
      default: {
        const size_t n = std::min(item_size_ - item_.size(), bytes.size());
        item_.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        if (item_.size() == item_size_) {
          status_ = OnHeaderItem();
          item_.clear();
        }
        break;
      }
    }
  }
  return status_;
}

absl::Status WavStreamParser::Finish() const {
  if (!status_.ok()) return status_;
  if (!header_done()) return Invalid("WAV stream ended before its audio data began");
  return absl::OkStatus();
}

absl::Status WavStreamParser::OnHeaderItem() {
  switch (state_) {
    case State::kRiffHeader: {
      const std::string_view riff = std::string_view(item_).substr(0, 4);
      if ((riff != "RIFF" && riff != "RF64") || std::string_view(item_).substr(8, 4) != "WAVE") {
        return Invalid("not a WAV stream: it does not start with a RIFF/WAVE header");
      }
      header_bytes_ = item_.size();
      state_ = State::kChunkHeader;
      item_size_ = kChunkHeaderBytes;
      return absl::OkStatus();
    }
    case State::kChunkHeader:
      return OnChunkHeader();
    case State::kFmtBody:
      return OnFmt();
    default:
      return absl::InternalError("WAV stream parser in an unexpected state");
  }
}

absl::Status WavStreamParser::OnChunkHeader() {
  const std::string_view id = std::string_view(item_).substr(0, 4);
  const uint32_t size = LoadU32le(item_, 4);
  if (id == "data") {
    if (!pcm_) return Invalid("invalid WAV header: the data chunk comes before the fmt chunk");
    data_unbounded_ = size == 0 || size == 0xFFFFFFFF;
    data_left_ = size;
    state_ = State::kData;
    return absl::OkStatus();
  }
  // RIFF pads odd-sized chunks to an even length.
  const uint64_t body = uint64_t{size} + (size & 1);
  if (header_bytes_ + kChunkHeaderBytes + body > kMaxHeaderBytes) {
    return Invalid(absl::StrCat("WAV header is longer than ", kMaxHeaderBytes,
                                " bytes before the data chunk"));
  }
  header_bytes_ += kChunkHeaderBytes + static_cast<size_t>(body);
  if (id == "fmt ") {
    if (size < 16) return Invalid(absl::StrCat("invalid WAV header: fmt chunk of ", size, " bytes"));
    state_ = State::kFmtBody;
    item_size_ = static_cast<size_t>(body);
  } else if (body > 0) {
    state_ = State::kSkip;
    skip_left_ = body;
  } else {
    item_size_ = kChunkHeaderBytes;  // an empty chunk: straight on to the next header
  }
  return absl::OkStatus();
}

absl::Status WavStreamParser::OnFmt() {
  uint16_t tag = LoadU16le(item_, 0);
  const uint16_t channels = LoadU16le(item_, 2);
  const uint32_t rate = LoadU32le(item_, 4);
  const uint16_t block_align = LoadU16le(item_, 12);
  const uint16_t bits = LoadU16le(item_, 14);
  // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of its SubFormat GUID.
  if (tag == kFormatExtensible && item_.size() >= 26) tag = LoadU16le(item_, 24);

  if (tag != kFormatPcm || bits != 16) {
    return Invalid(absl::StrCat("unsupported WAV format: ", FormatName(tag, bits),
                                " (a streamed WAV must be 16-bit PCM)"));
  }
  if (channels < 1 || channels > PcmS16leParser::kMaxChannels) {
    return Invalid(absl::StrCat("unsupported WAV format: ", channels,
                                " channels (a streamed WAV may have 1 to ",
                                PcmS16leParser::kMaxChannels, ")"));
  }
  if (block_align != 2 * channels) {
    return Invalid(absl::StrCat("invalid WAV header: block align ", block_align,
                                " does not match ", channels, " channels of 16-bit samples"));
  }
  if (absl::Status s = CheckSampleRate(rate); !s.ok()) return s;

  sample_rate_hertz_ = static_cast<int>(rate);
  pcm_.emplace(channels);
  state_ = State::kChunkHeader;
  item_size_ = kChunkHeaderBytes;
  return absl::OkStatus();
}

}  // namespace voxgate::audio
