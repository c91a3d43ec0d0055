#include "gateway/multipart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voxgate::gateway {
namespace {

using ::testing::HasSubstr;

using namespace std::string_literals;

const std::string kBody =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
    "whisper-1\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
    "Content-Type: audio/wav\r\n\r\n"
    "RIFF\r\n--Xy not a boundary\0bytes\r\n"
    "--XyZ--\r\n"s;  // the s suffix keeps the NUL byte

TEST(Multipart, SplitsPartsWithBinaryData) {
  auto parts = ParseMultipart(kBody, "XyZ");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "model");
  EXPECT_EQ((*parts)[0].data, "whisper-1");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "a.wav");
  EXPECT_EQ((*parts)[1].content_type, "audio/wav");
  EXPECT_EQ((*parts)[1].data, std::string_view("RIFF\r\n--Xy not a boundary\0bytes", 31));
}

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data;boundary=\"a b\""), "a b");
  EXPECT_THAT(std::string(MultipartBoundary("application/json").status().message()), HasSubstr("multipart/form-data"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
}

TEST(Multipart, MalformedBodiesAreErrors) {
  EXPECT_FALSE(ParseMultipart("no boundary here", "XyZ").ok());
  EXPECT_THAT(std::string(ParseMultipart("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ndata", "XyZ").status().message()),
              HasSubstr("truncated"));
  EXPECT_FALSE(ParseMultipart("--XyZ\r\nContent-Disposition: form-data; name=\"a\"", "XyZ").ok());
  EXPECT_FALSE(ParseMultipart("--XyZ\r\nno-colon\r\n\r\nx\r\n--XyZ--", "XyZ").ok());
  EXPECT_FALSE(ParseMultipart("--XyZ\r\nContent-Type: x\r\n\r\nx\r\n--XyZ--", "XyZ").ok());  // no name
}

TEST(Multipart, PartCountIsBounded) {
  std::string body;
  for (int i = 0; i < 5; ++i) body += "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nx\r\n";
  body += "--b--";
  EXPECT_TRUE(ParseMultipart(body, "b", 5).ok());
  EXPECT_FALSE(ParseMultipart(body, "b", 4).ok());
}

}  // namespace
}  // namespace voxgate::gateway
