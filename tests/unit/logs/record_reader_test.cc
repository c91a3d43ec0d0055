#include "logs/record_reader.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace voxgate::logs {
namespace {

struct Read {
  std::vector<std::string> records;
  ReaderCounts counts;
  InputForm form = InputForm::kUnknown;
};

Read ReadAll(const std::string& input, size_t max_read = SIZE_MAX, size_t max_record = 1 << 20, size_t chunk = 1 << 20) {
  StringSource source(input, max_read);
  RecordReader reader(source, max_record, chunk);
  Read out;
  std::string_view record;
  while (true) {
    auto more = reader.Next(&record);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    out.records.emplace_back(record);
  }
  out.counts = reader.counts();
  out.form = reader.form();
  return out;
}

TEST(RecordReader, JsonLinesWhateverTheReadSizes) {
  const std::string input = "{\"a\":1}\r\n\n   \n{\"b\":\"x\\ny\"}\nnot json\n{\"c\":3}";  // no final line break
  for (size_t max_read : std::initializer_list<size_t>{1, 2, 3, 7, 64, SIZE_MAX}) {
    const Read r = ReadAll(input, max_read, 64, 4);
    EXPECT_EQ(r.form, InputForm::kJsonLines);
    EXPECT_EQ(r.records, (std::vector<std::string>{"{\"a\":1}", "{\"b\":\"x\\ny\"}", "not json", "{\"c\":3}"}))
        << "max_read " << max_read;
    EXPECT_EQ(r.counts.bytes, input.size());
    EXPECT_EQ(r.counts.records, 4u);
  }
}

TEST(RecordReader, LineOverTheLimitIsSkippedAndCounted) {
  const std::string huge = "{\"message\":\"" + std::string(5000, 'x') + "\"}";
  const std::string input = "{\"a\":1}\n" + huge + "\n{\"b\":2}\n" + huge;  // the last one without a line break
  for (size_t max_read : std::initializer_list<size_t>{100, SIZE_MAX}) {
    const Read r = ReadAll(input, max_read, 1000, 256);
    EXPECT_EQ(r.records, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
    EXPECT_EQ(r.counts.oversized, 2u);
  }
}

TEST(RecordReader, ARealSizeHugeLineInBoundedMemory) {
  const std::string input = "{\"a\":1}\n" + std::string(5 << 20, 'y') + "\n{\"b\":2}\n";
  const Read r = ReadAll(input);  // 1 MiB records, 1 MiB reads
  EXPECT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.counts.oversized, 1u);
}

TEST(RecordReader, GcloudArrayObjectsByBraceMatchingThatRespectsStrings) {
  const std::string a = R"({"jsonPayload": {"message": "a } in a string { and \" a quote \\"}, "severity": "INFO"})";
  const std::string b = R"({"textPayload": "\\\"}{", "n": [1, {"x": [2]}]})";
  const std::string input = "\xEF\xBB\xBF\n[\n  " + a + ",\n  " + b + "\n]\n";
  for (size_t max_read : std::initializer_list<size_t>{1, 5, SIZE_MAX}) {
    const Read r = ReadAll(input, max_read, 256, 16);
    EXPECT_EQ(r.form, InputForm::kJsonArray);
    EXPECT_EQ(r.records, (std::vector<std::string>{a, b})) << "max_read " << max_read;
    EXPECT_EQ(r.counts.stray + r.counts.truncated + r.counts.oversized, 0u);
  }
}

TEST(RecordReader, GcloudArrayTruncatedStrayAndHugeElementsAreCounted) {
  const std::string big = "{\"m\": \"" + std::string(3000, 'z') + "\"}";
  const std::string input = "[{\"a\": 1}, 42, \"text {\", true, " + big + ", {\"b\": 2}, {\"c\": \"never clo";
  for (size_t max_read : std::initializer_list<size_t>{3, SIZE_MAX}) {
    const Read r = ReadAll(input, max_read, 1000, 64);
    EXPECT_EQ(r.records, (std::vector<std::string>{"{\"a\": 1}", "{\"b\": 2}"}));
    EXPECT_EQ(r.counts.stray, 3u);  // 42, "text {", true
    EXPECT_EQ(r.counts.oversized, 1u);
    EXPECT_EQ(r.counts.truncated, 1u);
  }
}

TEST(RecordReader, EmptyAndBlankInputs) {
  for (const std::string input : {"", "\n\n  \r\n", "\xEF\xBB\xBF"}) {
    const Read r = ReadAll(input, 1);
    EXPECT_TRUE(r.records.empty());
    EXPECT_EQ(r.form, InputForm::kJsonLines);
  }
  EXPECT_TRUE(ReadAll("[]").records.empty());
  EXPECT_TRUE(ReadAll("[\n]\n").records.empty());
}

TEST(RecordReader, LongRunOfBlanksBeforeTheDataDoesNotFillTheBuffer) {
  const std::string input = std::string(10000, '\n') + "[{\"a\": 1}]";
  const Read r = ReadAll(input, SIZE_MAX, 100, 16);
  EXPECT_EQ(r.records, (std::vector<std::string>{"{\"a\": 1}"}));
}

}  // namespace
}  // namespace voxgate::logs
