#include "core/trace.h"

#include <gtest/gtest.h>

#include <regex>

namespace voxgate::core {
namespace {

TEST(Trace, ParsesTheW3CExample) {
  auto t = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(t->sampled);
  EXPECT_EQ(t->Traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
}

TEST(Trace, RefusesMalformedHeaders) {
  for (const char* bad : {
           "", "garbage",
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff is invalid
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero span id
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // version 00 has no more fields
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad)) << bad;
  }
  // A later version may carry more fields after the flags.
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST(Trace, ChildSpanKeepsTheTraceWithANewSpan) {
  const TraceContext parent{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true};
  const TraceContext child = parent.ChildSpan();
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_TRUE(std::regex_match(child.span_id, std::regex("[0-9a-f]{16}")));
  EXPECT_TRUE(ParseTraceparent(child.Traceparent()));
}

TEST(Trace, ContinuesTheCallersTraceOrStartsOne) {
  const auto continued = ContinueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(continued.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(continued.span_id, "00f067aa0ba902b7");

  const auto fresh = ContinueTrace("not a traceparent");
  EXPECT_TRUE(std::regex_match(fresh.trace_id, std::regex("[0-9a-f]{32}")));
  EXPECT_NE(fresh.trace_id, ContinueTrace("").trace_id);
}

TEST(Trace, ReadsGooglesCloudTraceContext) {
  auto t = ParseCloudTraceContext("105445AA7843BC8BF206B12000100000/1;o=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id, "105445aa7843bc8bf206b12000100000");
  EXPECT_EQ(t->span_id, "0000000000000001");
  EXPECT_TRUE(t->sampled);
  EXPECT_FALSE(ParseCloudTraceContext("105445aa7843bc8bf206b12000100000/1;o=0")->sampled);
  EXPECT_FALSE(ParseCloudTraceContext("tooshort/1;o=1"));
  // traceparent wins when both are sent
  EXPECT_EQ(ContinueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "105445aa7843bc8bf206b12000100000/1;o=1").trace_id,
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ContinueTrace("", "105445aa7843bc8bf206b12000100000/1;o=1").trace_id, "105445aa7843bc8bf206b12000100000");
}

}  // namespace
}  // namespace voxgate::core
