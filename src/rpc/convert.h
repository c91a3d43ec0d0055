// Translation between the gRPC engine protocol and the in-process SpeechService types, and
// between absl::Status and grpc::Status (the only place the two meet).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "speech/speech_service.h"
#include "voxgate/v1/engine.pb.h"

namespace voxgate::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

v1::RecognitionConfig ToProto(const speech::RecognitionConfig& config);
speech::RecognitionConfig FromProto(const v1::RecognitionConfig& config);

v1::StreamingRecognitionResult ToProto(const speech::RecognitionResult& result);
speech::RecognitionResult FromProto(const v1::StreamingRecognitionResult& result);

v1::DescribeResponse ToProto(const speech::Capabilities& capabilities);
speech::Capabilities FromProto(const v1::DescribeResponse& response);

v1::TranslateRequest ToProto(const speech::TranslationRequest& request);
speech::TranslationRequest FromProto(const v1::TranslateRequest& request);  // without the deadline
v1::TranslateResponse ToProto(const speech::TranslationResponse& response);
speech::TranslationResponse FromProto(const v1::TranslateResponse& response);

v1::SynthesizeRequest ToProto(const speech::SynthesisRequest& request);
speech::SynthesisRequest FromProto(const v1::SynthesizeRequest& request);  // without the deadline

}  // namespace voxgate::rpc
