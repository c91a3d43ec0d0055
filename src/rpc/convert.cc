#include "rpc/convert.h"

#include <cmath>

#include "speech/call_report.h"

namespace voxgate::rpc {
namespace {

int32_t ToMillis(double seconds) { return static_cast<int32_t>(std::lround(seconds * 1000)); }
double FromMillis(int32_t ms) { return ms / 1000.0; }

}  // namespace

// absl and gRPC share the canonical codes, number for number. The message travels in a trailer
// (8 KiB of metadata by default), so it is the one a client would be shown, bounded.
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), speech::ShownMessage(status));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

v1::RecognitionConfig ToProto(const speech::RecognitionConfig& c) {
  v1::RecognitionConfig p;
  p.set_language_code(c.language_code);
  p.set_sample_rate_hertz(c.sample_rate_hertz);
  p.set_encoding(v1::LINEAR_PCM);
  p.set_interim_results(c.interim_results);
  p.set_enable_word_time_offsets(c.enable_word_time_offsets);
  p.set_model(c.model);
  p.set_request_id(c.request_id);
  p.set_plan(c.plan);
  for (const auto& phrase : c.phrases) p.add_phrases(phrase);
  return p;
}

speech::RecognitionConfig FromProto(const v1::RecognitionConfig& p) {
  speech::RecognitionConfig c;
  c.language_code = p.language_code();
  c.sample_rate_hertz = p.sample_rate_hertz();
  c.interim_results = p.interim_results();
  c.enable_word_time_offsets = p.enable_word_time_offsets();
  c.model = p.model();
  c.request_id = p.request_id();
  c.plan = p.plan();
  c.phrases.assign(p.phrases().begin(), p.phrases().end());
  return c;
}

v1::StreamingRecognitionResult ToProto(const speech::RecognitionResult& r) {
  v1::StreamingRecognitionResult p;
  p.set_is_final(r.is_final);
  p.set_stability(r.stability);
  p.set_result_start_time(ToMillis(r.start_seconds));
  p.set_result_end_time(ToMillis(r.end_seconds));
  p.set_audio_consumed_time(std::llround(r.audio_consumed_seconds * 1000));
  auto* alt = p.add_alternatives();
  alt->set_transcript(r.transcript);
  alt->set_confidence(r.confidence);
  for (const auto& w : r.words) {
    auto* pw = alt->add_words();
    pw->set_word(w.word);
    pw->set_start_time(ToMillis(w.start_seconds));
    pw->set_end_time(ToMillis(w.end_seconds));
    pw->set_confidence(w.confidence);
  }
  return p;
}

speech::RecognitionResult FromProto(const v1::StreamingRecognitionResult& p) {
  speech::RecognitionResult r;
  r.is_final = p.is_final();
  r.stability = p.stability();
  r.start_seconds = FromMillis(p.result_start_time());
  r.end_seconds = FromMillis(p.result_end_time());
  r.audio_consumed_seconds = static_cast<double>(p.audio_consumed_time()) / 1000;
  if (p.alternatives_size() > 0) {
    const auto& alt = p.alternatives(0);
    r.transcript = alt.transcript();
    r.confidence = alt.confidence();
    for (const auto& pw : alt.words()) {
      r.words.push_back({pw.word(), FromMillis(pw.start_time()), FromMillis(pw.end_time()), pw.confidence()});
    }
  }
  return r;
}

v1::DescribeResponse ToProto(const speech::Capabilities& c) {
  v1::DescribeResponse p;
  p.set_engine(c.engine);
  p.set_version(c.version);
  p.set_capacity(c.capacity);
  p.set_active_streams(c.active_streams);
  p.set_incomplete(c.incomplete);
  for (const auto& m : c.models) {
    auto* pm = p.add_models();
    pm->set_name(m.name);
    pm->set_service(m.service);
    pm->set_sample_rate_hertz(m.sample_rate_hertz);
    for (const auto& l : m.language_codes) pm->add_language_codes(l);
    for (const auto& l : m.target_language_codes) pm->add_target_language_codes(l);
    for (const auto& v : m.voices) {
      auto* pv = pm->add_voices();
      pv->set_name(v.name);
      pv->set_language_code(v.language_code);
      pv->set_gender(v.gender);
    }
  }
  return p;
}

speech::Capabilities FromProto(const v1::DescribeResponse& p) {
  speech::Capabilities c;
  c.engine = p.engine();
  c.version = p.version();
  c.capacity = p.capacity();
  c.active_streams = p.active_streams();
  c.incomplete = p.incomplete();
  for (const auto& pm : p.models()) {
    speech::ModelInfo m;
    m.name = pm.name();
    m.service = pm.service();
    m.sample_rate_hertz = pm.sample_rate_hertz();
    m.language_codes.assign(pm.language_codes().begin(), pm.language_codes().end());
    m.target_language_codes.assign(pm.target_language_codes().begin(), pm.target_language_codes().end());
    for (const auto& pv : pm.voices()) m.voices.push_back({pv.name(), pv.language_code(), pv.gender()});
    c.models.push_back(std::move(m));
  }
  return c;
}

v1::TranslateRequest ToProto(const speech::TranslationRequest& r) {
  v1::TranslateRequest p;
  for (const auto& t : r.texts) p.add_texts(t);
  p.set_source_language_code(r.source_language);
  p.set_target_language_code(r.target_language);
  p.set_model(r.model);
  p.set_request_id(r.request_id);
  p.set_plan(r.plan);
  return p;
}

speech::TranslationRequest FromProto(const v1::TranslateRequest& p) {
  speech::TranslationRequest r;
  r.texts.assign(p.texts().begin(), p.texts().end());
  r.source_language = p.source_language_code();
  r.target_language = p.target_language_code();
  r.model = p.model();
  r.request_id = p.request_id();
  r.plan = p.plan();
  return r;
}

v1::TranslateResponse ToProto(const speech::TranslationResponse& r) {
  v1::TranslateResponse p;
  for (const auto& t : r.texts) p.add_translations(t);
  p.set_model(r.model);
  return p;
}

speech::TranslationResponse FromProto(const v1::TranslateResponse& p) {
  return {{p.translations().begin(), p.translations().end()}, p.model()};
}

v1::SynthesizeRequest ToProto(const speech::SynthesisRequest& r) {
  v1::SynthesizeRequest p;
  p.set_text(r.text);
  p.set_language_code(r.language_code);
  p.set_voice_name(r.voice);
  p.set_speaking_rate(r.speaking_rate);
  p.set_sample_rate_hertz(r.sample_rate_hertz);
  p.set_encoding(v1::LINEAR_PCM);
  p.set_model(r.model);
  p.set_request_id(r.request_id);
  p.set_plan(r.plan);
  return p;
}

speech::SynthesisRequest FromProto(const v1::SynthesizeRequest& p) {
  speech::SynthesisRequest r;
  r.text = p.text();
  r.language_code = p.language_code();
  r.voice = p.voice_name();
  r.speaking_rate = p.speaking_rate() == 0 ? 1 : p.speaking_rate();
  r.sample_rate_hertz = p.sample_rate_hertz();
  r.model = p.model();
  r.request_id = p.request_id();
  r.plan = p.plan();
  return r;
}

}  // namespace voxgate::rpc
