// Shadow traffic: a stream runs on its primary pool and, mirrored, on a shadow pool. The client
// only ever sees the primary. Once both are done their final transcripts are compared (word
// error rate of the shadow against the primary, and how much later the shadow finished) and
// reported as metrics and as a JSON log line "shadow comparison". A shadow that fails, falls
// behind or is slow never affects the primary: it is cut loose instead.
#pragma once

#include "router/router.h"

namespace voxgate::router {

absl::StatusOr<speech::RecognitionStreamPtr> StartShadowed(const speech::RecognitionConfig& config,
                                                           speech::RecognitionObserverPtr observer,
                                                           const PoolRef& primary, const PoolRef& shadow);

}  // namespace voxgate::router
