#include "audio/resampler.h"

#include <soxr.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace voxgate::audio {

void Resampler::SoxrDeleter::operator()(soxr* handle) const { soxr_delete(handle); }

Resampler::Resampler(int from_hertz, int to_hertz, std::unique_ptr<soxr, SoxrDeleter> soxr)
    : from_hertz_(from_hertz), to_hertz_(to_hertz), soxr_(std::move(soxr)) {}

absl::StatusOr<Resampler> Resampler::Create(int from_hertz, int to_hertz) {
  if (absl::Status s = CheckSampleRate(from_hertz); !s.ok()) return s;
  if (absl::Status s = CheckSampleRate(to_hertz); !s.ok()) return s;
  if (from_hertz == to_hertz) return Resampler(from_hertz, to_hertz, nullptr);

  soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
  io.flags |= SOXR_NO_DITHER;
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  // One thread: a server runs many streams at once and must not have each one start a pool.
  const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
  soxr_error_t error = nullptr;
  std::unique_ptr<soxr, SoxrDeleter> handle(soxr_create(
      from_hertz, to_hertz, 1, &error, &io, &quality, &runtime));
  if (handle == nullptr || error != nullptr) {
    return absl::InternalError(absl::StrCat("cannot resample ", from_hertz, " Hz to ", to_hertz,
                                            " Hz: ", error ? error : "soxr_create failed"));
  }
  return Resampler(from_hertz, to_hertz, std::move(handle));
}

std::vector<int16_t> Resampler::Process(std::span<const int16_t> input) {
  if (soxr_ == nullptr) return {input.begin(), input.end()};
  // soxr reads a null input pointer as end of stream, which an empty span may carry.
  if (input.empty()) return {};
  return Run(input.data(), input.size());
}

std::vector<int16_t> Resampler::Flush() {
  if (soxr_ == nullptr) return {};
  std::vector<int16_t> tail = Run(nullptr, 0);
  soxr_clear(soxr_.get());
  return tail;
}

std::vector<int16_t> Resampler::Run(const int16_t* input, size_t size) {
  std::vector<int16_t> output;
  size_t consumed = 0;
  for (;;) {
    // Room for what the new input should produce plus the filter's delayed output; soxr stops
    // when the room is full, so the loop asks again until input is used and room is left over.
    const size_t room =
        (size - consumed) * static_cast<size_t>(to_hertz_) / static_cast<size_t>(from_hertz_) +
        1024;
    const size_t start = output.size();
    output.resize(start + room);
    size_t used = 0;
    size_t produced = 0;
    const soxr_error_t error =
        soxr_process(soxr_.get(), input ? input + consumed : nullptr, size - consumed, &used,
                     output.data() + start, room, &produced);
    output.resize(start + produced);
    consumed += used;
    // soxr only fails on misuse (a bad handle), which Create rules out; stop rather than spin.
    if (error != nullptr) break;
    if (consumed == size && produced < room) break;
  }
  return output;
}

absl::StatusOr<Pcm> ResampleTo(const Pcm& pcm, int to_hertz) {
  absl::StatusOr<Resampler> resampler = Resampler::Create(pcm.sample_rate_hertz, to_hertz);
  if (!resampler.ok()) return resampler.status();
  Pcm out{to_hertz, resampler->Process(pcm.samples)};
  std::vector<int16_t> tail = resampler->Flush();
  out.samples.insert(out.samples.end(), tail.begin(), tail.end());
  return out;
}

}  // namespace voxgate::audio
