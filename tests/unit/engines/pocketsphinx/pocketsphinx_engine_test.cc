#include "engines/pocketsphinx/pocketsphinx_engine.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engines/pocketsphinx/internal/decoder.h"
#include "engines/pocketsphinx/internal/language.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "speech/word_error_rate.h"

namespace voxgate::engines::pocketsphinx {
namespace {

using speech::RecognitionConfig;
using speech::RecognitionResult;
using ::testing::HasSubstr;

constexpr char kLibrivox[] = "/usr/share/pocketsphinx/test/data/librivox";
constexpr int kRate = 16000;
constexpr size_t kChunk = kRate / 10;  // 100 ms
const absl::Duration kStreamTimeout = absl::Seconds(60);

// Reads a 16 kHz mono s16le WAV file (the test clips have a plain 44-byte header, but the
// chunks are walked anyway).
std::vector<int16_t> ReadWav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  auto u16 = [&](size_t at) {
    uint16_t v;
    std::memcpy(&v, bytes.data() + at, 2);
    return v;
  };
  EXPECT_GE(bytes.size(), 44u) << path;
  if (bytes.size() < 44 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0) {
    ADD_FAILURE() << path << " is not a RIFF/WAVE file";
    return {};
  }
  size_t at = 12;
  while (at + 8 <= bytes.size()) {
    const std::string id = bytes.substr(at, 4);
    const uint32_t size = u32(at + 4);
    if (id == "fmt ") {
      EXPECT_EQ(u16(at + 8), 1) << "PCM";
      EXPECT_EQ(u16(at + 10), 1) << "mono";
      EXPECT_EQ(u32(at + 12), static_cast<uint32_t>(kRate));
      EXPECT_EQ(u16(at + 22), 16) << "bits";
    } else if (id == "data") {
      const size_t n = std::min<size_t>(size, bytes.size() - at - 8) / 2;
      std::vector<int16_t> samples(n);
      std::memcpy(samples.data(), bytes.data() + at + 8, n * 2);
      return samples;
    }
    at += 8 + size + (size & 1);
  }
  ADD_FAILURE() << path << " has no data chunk";
  return {};
}

std::vector<std::string> ClipIds() {
  std::ifstream in(std::string(kLibrivox) + "/fileids");
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

// "<s> words </s> (id)" lines.
std::map<std::string, std::string> References() {
  std::ifstream in(std::string(kLibrivox) + "/transcription");
  std::map<std::string, std::string> refs;
  for (std::string line; std::getline(in, line);) {
    const size_t open = line.rfind('(');
    if (open == std::string::npos) continue;
    std::string id = line.substr(open + 1);
    id = std::string(absl::StripSuffix(id, ")"));
    std::vector<std::string> words;
    for (absl::string_view w : absl::StrSplit(line.substr(0, open), ' ', absl::SkipEmpty())) {
      if (w != "<s>" && w != "</s>") words.emplace_back(w);
    }
    refs[id] = absl::StrJoin(words, " ");
  }
  return refs;
}

std::vector<int16_t> Clip(const std::string& id) {
  return ReadWav(std::string(kLibrivox) + "/" + id + ".wav");
}

// Records one stream's callbacks and checks the observer contract as it goes.
class Collector : public speech::RecognitionObserver {
 public:
  void OnResult(RecognitionResult result) override {
    Enter();
    {
      absl::MutexLock lock(&mu_);
      if (done_count_ > 0) result_after_done_ = true;
      results_.push_back(std::move(result));
    }
    Leave();
  }
  void OnDone(absl::Status status) override {
    Enter();
    {
      absl::MutexLock lock(&mu_);
      ++done_count_;
      status_ = std::move(status);
    }
    Leave();
  }

  void OnReadyForAudio() override {
    absl::MutexLock lock(&mu_);
    ++ready_count_;
  }
  bool WaitReadyForAudio(absl::Duration timeout = kStreamTimeout) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_count_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  }

  // Waits for OnDone with a timeout, then checks that callbacks never overlapped.
  std::optional<absl::Status> WaitDone(absl::Duration timeout = kStreamTimeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_count_ > 0; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) return std::nullopt;
    EXPECT_FALSE(overlap_.load()) << "observer callbacks overlapped";
    EXPECT_FALSE(result_after_done_) << "OnResult after OnDone";
    return status_;
  }

  // Waits until at least n results arrived.
  bool WaitResults(size_t n, absl::Duration timeout = kStreamTimeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return results_.size() >= n || done_count_ > 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout) && results_.size() >= n;
  }

  std::vector<RecognitionResult> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  int done_count() {
    absl::MutexLock lock(&mu_);
    return done_count_;
  }
  std::vector<RecognitionResult> finals() {
    std::vector<RecognitionResult> out;
    for (auto& r : results()) {
      if (r.is_final) out.push_back(r);
    }
    return out;
  }
  std::string final_transcript() {
    std::vector<std::string> parts;
    for (const auto& r : finals()) parts.push_back(r.transcript);
    return absl::StrJoin(parts, " ");
  }

 private:
  void Enter() {
    if (in_callback_.fetch_add(1) != 0) overlap_ = true;
  }
  void Leave() { in_callback_.fetch_sub(1); }

  std::atomic<int> in_callback_{0};
  std::atomic<bool> overlap_{false};
  absl::Mutex mu_;
  std::vector<RecognitionResult> results_ ABSL_GUARDED_BY(mu_);
  int done_count_ ABSL_GUARDED_BY(mu_) = 0;
  int ready_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool result_after_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

absl::Status WriteChunks(speech::RecognitionStream& stream, const std::vector<int16_t>& samples,
                         size_t begin = 0, size_t end = SIZE_MAX) {
  end = std::min(end, samples.size());
  for (size_t at = begin; at < end; at += kChunk) {
    const size_t n = std::min(kChunk, end - at);
    if (absl::Status s = stream.Write(std::span<const int16_t>(samples.data() + at, n)); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

double ReadRssMegabytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

class PocketsphinxEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PocketsphinxEngine::Options options;
    options.capacity = 2;
    // The first decoders of the process: RSS grows by what they hold (a later engine would
    // reuse heap that earlier ones freed).
    const double rss_before = ReadRssMegabytes();
    auto engine = PocketsphinxEngine::Create(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    std::cout << "RSS per decoder: " << (ReadRssMegabytes() - rss_before) / options.capacity
              << " MB\n";
    engine_ = new std::shared_ptr<PocketsphinxEngine>(*std::move(engine));
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(engine_, nullptr);
    // A failed test may leave a cancelled stream still winding down.
    ASSERT_TRUE(engine().AwaitIdle(absl::Seconds(10)));
  }

  static PocketsphinxEngine& engine() { return **engine_; }

  // Decodes a whole buffer in 100 ms writes; returns the collector after OnDone(OK).
  static std::shared_ptr<Collector> Transcribe(const std::vector<int16_t>& samples,
                                               RecognitionConfig config = {}) {
    auto collector = std::make_shared<Collector>();
    auto stream = engine().StartRecognition(config, collector);
    EXPECT_TRUE(stream.ok()) << stream.status();
    if (!stream.ok()) return collector;
    EXPECT_TRUE(WriteChunks(**stream, samples).ok());
    (*stream)->Finish();
    std::optional<absl::Status> status = collector->WaitDone();
    EXPECT_TRUE(status.has_value()) << "no OnDone within the timeout";
    if (status) {
      EXPECT_TRUE(status->ok()) << *status;
    }
    EXPECT_EQ(collector->done_count(), 1);
    return collector;
  }

  // Final transcript of a clip decoded alone, computed once.
  static std::string SerialTranscript(const std::string& id) {
    static auto* cache = new std::map<std::string, std::string>();
    auto it = cache->find(id);
    if (it != cache->end()) return it->second;
    std::string text = Transcribe(Clip(id))->final_transcript();
    (*cache)[id] = text;
    return text;
  }

  static std::shared_ptr<PocketsphinxEngine>* engine_;
};

std::shared_ptr<PocketsphinxEngine>* PocketsphinxEngineTest::engine_ = nullptr;

TEST(CleanWordTest, DropsFillersAndStripsAlternatePronunciations) {
  using internal::CleanWord;
  EXPECT_EQ(CleanWord("<s>"), std::nullopt);
  EXPECT_EQ(CleanWord("</s>"), std::nullopt);
  EXPECT_EQ(CleanWord("<sil>"), std::nullopt);
  EXPECT_EQ(CleanWord("[NOISE]"), std::nullopt);
  EXPECT_EQ(CleanWord("[SPEECH]"), std::nullopt);
  EXPECT_EQ(CleanWord("++GARBAGE++"), std::nullopt);
  EXPECT_EQ(CleanWord("(NULL)"), std::nullopt);  // a grammar's empty transition
  EXPECT_EQ(CleanWord("was(2)"), "was");
  EXPECT_EQ(CleanWord("an(12)"), "an");
  EXPECT_EQ(CleanWord("amiable"), "amiable");
}

TEST(LanguageMatchesTest, ExactCaseInsensitiveOrBarePrimarySubtag) {
  using internal::LanguageMatches;
  EXPECT_TRUE(LanguageMatches("en-US", "en-US"));
  EXPECT_TRUE(LanguageMatches("EN-us", "en-US"));
  EXPECT_TRUE(LanguageMatches("en_US", "en-US"));
  EXPECT_TRUE(LanguageMatches("en", "en-US"));
  EXPECT_TRUE(LanguageMatches("EN", "en-US"));
  EXPECT_FALSE(LanguageMatches("en-GB", "en-US"));
  EXPECT_FALSE(LanguageMatches("fr", "en-US"));
  EXPECT_FALSE(LanguageMatches("", "en-US"));
  EXPECT_FALSE(LanguageMatches("e", "en-US"));
}

TEST(PocketsphinxEngineCreateTest, RejectsBadOptions) {
  PocketsphinxEngine::Options options;
  options.capacity = 0;
  EXPECT_EQ(PocketsphinxEngine::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.capacity = 1;
  options.model_dir = "/nonexistent/model";
  auto missing = PocketsphinxEngine::Create(options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/model"));
}

TEST_F(PocketsphinxEngineTest, DescribeReportsModelAndCapacity) {
  auto caps = engine().Describe();
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->engine, "pocketsphinx");
  EXPECT_FALSE(caps->version.empty());
  EXPECT_NE(caps->version, "unknown");  // from pkg-config at build time
  ASSERT_EQ(caps->models.size(), 1u);
  EXPECT_EQ(caps->models[0].name, "en-us");
  EXPECT_EQ(caps->models[0].service, "asr");
  EXPECT_THAT(caps->models[0].language_codes, ::testing::ElementsAre("en-US"));
  EXPECT_EQ(caps->models[0].sample_rate_hertz, 16000);
  EXPECT_EQ(caps->capacity, 2);
  EXPECT_EQ(caps->active_streams, 0);
  EXPECT_TRUE(engine().IsServing());
}

TEST_F(PocketsphinxEngineTest, LibrivoxWordErrorRateWithinMeasuredBound) {
  const auto refs = References();
  const auto ids = ClipIds();
  ASSERT_EQ(ids.size(), 5u);
  double edits = 0;
  double ref_words = 0;
  double audio_seconds = 0;
  double wall_seconds = 0;
  for (const std::string& id : ids) {
    ASSERT_TRUE(refs.count(id)) << id;
    const std::vector<int16_t> samples = Clip(id);
    ASSERT_FALSE(samples.empty());
    const auto start = std::chrono::steady_clock::now();
    const std::string hyp = Transcribe(samples)->final_transcript();
    wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    audio_seconds += static_cast<double>(samples.size()) / kRate;
    const double n = speech::NormalizedWords(refs.at(id)).size();
    const double wer = speech::WordErrorRate(refs.at(id), hyp);
    edits += wer * n;
    ref_words += n;
    std::cout << id << " WER " << wer << "\n  ref: " << refs.at(id) << "\n  hyp: " << hyp << "\n";
  }
  const double wer = edits / ref_words;
  std::cout << "LibriVox WER " << wer << " over " << ref_words << " words; real-time factor "
            << wall_seconds / audio_seconds << " (" << audio_seconds << " s of audio)\n";
  RecordProperty("wer_percent", static_cast<int>(wer * 100 + 0.5));
  // Measured 0.324 (23 errors in 71 words), streaming in 100 ms writes with a fresh CMN per
  // stream. The same decoder given each whole clip at once (full_utt, batch CMN) makes 20
  // errors (0.282, the ~28 % of ENGINE-NOTES): live CMN costs the streaming decoder ~3 words.
  // The bound allows one word of drift.
  EXPECT_LT(wer, 0.345);
}

// Short clips (1-3.5 s) that a stream decodes from the model's CMN prior: they caught the
// first utterance of a stream being decoded without any channel adaptation (48 % WER).
TEST_F(PocketsphinxEngineTest, CardsWordErrorRateWithinMeasuredBound) {
  const std::string dir = "/usr/share/pocketsphinx/test/data/cards/";
  std::ifstream in(dir + "cards.transcription");
  double edits = 0;
  double ref_words = 0;
  int clips = 0;
  for (std::string line; std::getline(in, line);) {
    const size_t open = line.rfind('(');
    if (open == std::string::npos) continue;
    const std::string id = std::string(absl::StripSuffix(line.substr(open + 1), ")"));
    std::vector<std::string> words;
    for (absl::string_view w : absl::StrSplit(line.substr(0, open), ' ', absl::SkipEmpty())) {
      if (w != "<s>" && w != "</s>") words.emplace_back(w);
    }
    const std::string ref = absl::StrJoin(words, " ");
    const std::string hyp = Transcribe(ReadWav(dir + id + ".wav"))->final_transcript();
    std::cout << "cards " << id << "\n  ref: " << ref << "\n  hyp: " << hyp << "\n";
    edits += speech::WordErrorRate(ref, hyp) * words.size();
    ref_words += words.size();
    ++clips;
  }
  ASSERT_EQ(clips, 5);
  const double wer = edits / ref_words;
  std::cout << "cards WER " << wer << " over " << ref_words << " words\n";
  // Measured 0.190 (4 errors in 21 words).
  EXPECT_LT(wer, 0.25);
}

// vosk's phrase_list: the cards clips with only the words of their own grammar allowed.
TEST_F(PocketsphinxEngineTest, PhrasesRestrictWhatIsRecognizedAndTheNextStreamIsFreeAgain) {
  const std::vector<std::string> vocabulary = {"ace",  "two",  "three", "four", "five",  "six",   "seven", "eight",    "nine",  "ten",
                                               "jack", "queen", "king",  "lady", "of",    "clubs", "hearts", "diamonds", "spades", "[unk]"};
  RecognitionConfig config;
  config.phrases = vocabulary;
  const std::string dir = "/usr/share/pocketsphinx/test/data/cards/";
  const std::vector<std::pair<std::string, std::string>> clips = {{"001", "ten of clubs"}, {"003", "seven of clubs"},
                                                                  {"005", "eight of spades four of clubs seven of hearts"}};
  double edits = 0, words = 0;
  for (const auto& [id, ref] : clips) {
    const std::string hyp = Transcribe(ReadWav(dir + id + ".wav"), config)->final_transcript();
    std::cout << "cards " << id << " with phrases: " << hyp << "\n";
    for (absl::string_view w : absl::StrSplit(hyp, ' ', absl::SkipEmpty())) {
      EXPECT_NE(std::find(vocabulary.begin(), vocabulary.end(), std::string(w)), vocabulary.end()) << w << " is not a phrase";
    }
    const double n = static_cast<double>(std::vector<std::string>(absl::StrSplit(ref, ' ')).size());
    edits += speech::WordErrorRate(ref, hyp) * n;
    words += n;
  }
  EXPECT_LT(edits / words, 0.2);  // measured 1-2 insertions in 15 words
  // The decoder goes back to the language model for a stream without phrases.
  const std::string id = "sense_and_sensibility_01_austen_64kb-0870";
  EXPECT_EQ(Transcribe(Clip(id))->final_transcript(), SerialTranscript(id));
}

TEST_F(PocketsphinxEngineTest, PhrasesWithUnknownWordsAreRefusedByName) {
  RecognitionConfig config;
  config.phrases = {"ten of clubs", "zorblax quux"};
  auto collector = std::make_shared<Collector>();
  auto stream = engine().StartRecognition(config, collector);
  ASSERT_TRUE(stream.ok());
  (void)WriteChunks(**stream, std::vector<int16_t>(1600, 0));
  (*stream)->Finish();
  const auto status = collector->WaitDone();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status->message()), ::testing::HasSubstr("not in the recognizer's dictionary: zorblax, quux"));
}

TEST_F(PocketsphinxEngineTest, PartialsPrecedeTheFinalWhenInterimResultsOn) {
  const auto collector = Transcribe(Clip("sense_and_sensibility_01_austen_64kb-0870"));
  const auto results = collector->results();
  ASSERT_FALSE(results.empty());
  EXPECT_TRUE(results.back().is_final);
  size_t partials_before_first_final = 0;
  for (const auto& r : results) {
    if (r.is_final) break;
    if (r.transcript.empty()) continue;  // a progress report
    ++partials_before_first_final;
    EXPECT_FLOAT_EQ(r.stability, PocketsphinxEngine::kPartialStability);
    EXPECT_FALSE(r.transcript.empty());
  }
  EXPECT_GE(partials_before_first_final, 3u);
  for (const auto& r : collector->finals()) EXPECT_FLOAT_EQ(r.stability, 1.0f);
}

TEST_F(PocketsphinxEngineTest, NoPartialsWhenInterimResultsOff) {
  RecognitionConfig config;
  config.interim_results = false;
  const auto collector = Transcribe(Clip("sense_and_sensibility_01_austen_64kb-0870"), config);
  const auto results = collector->results();
  ASSERT_FALSE(results.empty());
  for (const auto& r : results) EXPECT_TRUE(r.is_final || r.transcript.empty()) << r.transcript;
}

TEST_F(PocketsphinxEngineTest, FinalWordTimesAreMonotonicAndInsideTheAudio) {
  const std::vector<int16_t> samples = Clip("sense_and_sensibility_01_austen_64kb-0920");
  const double duration = static_cast<double>(samples.size()) / kRate;
  const auto finals = Transcribe(samples)->finals();
  ASSERT_FALSE(finals.empty());
  double previous_end = 0;
  for (const auto& r : finals) {
    ASSERT_FALSE(r.words.empty());
    EXPECT_GT(r.confidence, 0.0f);
    EXPECT_LE(r.confidence, 1.0f);
    EXPECT_DOUBLE_EQ(r.start_seconds, r.words.front().start_seconds);
    EXPECT_DOUBLE_EQ(r.end_seconds, r.words.back().end_seconds);
    std::vector<std::string> words;
    for (const auto& w : r.words) {
      words.push_back(w.word);
      EXPECT_GE(w.start_seconds, previous_end - 1e-9) << w.word;
      EXPECT_GT(w.end_seconds, w.start_seconds) << w.word;
      EXPECT_LE(w.end_seconds, duration) << w.word;
      EXPECT_GE(w.confidence, 0.0f);
      EXPECT_LE(w.confidence, 1.0f);
      EXPECT_EQ(w.word.find('('), std::string::npos) << w.word;
      EXPECT_NE(w.word.front(), '<') << w.word;
      EXPECT_NE(w.word.front(), '[') << w.word;
      previous_end = w.end_seconds;
    }
    EXPECT_EQ(absl::StrJoin(words, " "), r.transcript);
  }
}

TEST_F(PocketsphinxEngineTest, NoWordsWhenWordTimeOffsetsOff) {
  RecognitionConfig config;
  config.enable_word_time_offsets = false;
  const auto finals =
      Transcribe(Clip("sense_and_sensibility_01_austen_64kb-0880"), config)->finals();
  ASSERT_FALSE(finals.empty());
  for (const auto& r : finals) {
    EXPECT_TRUE(r.words.empty());
    EXPECT_FALSE(r.transcript.empty());
    EXPECT_GT(r.end_seconds, r.start_seconds);
  }
}

TEST_F(PocketsphinxEngineTest, SilenceGivesOnlyProgressReports) {
  const std::vector<int16_t> silence(3 * kRate, 0);
  const auto collector = Transcribe(silence);
  const auto results = collector->results();
  // One per second of audio (the pool sees the engine is alive), and one more should the writer
  // stall long enough to count as a pause.
  ASSERT_GE(results.size(), 3u);
  double consumed = 0;
  for (const auto& r : results) {
    EXPECT_FALSE(r.is_final);
    EXPECT_TRUE(r.transcript.empty());
    EXPECT_GT(r.audio_consumed_seconds, consumed);
    consumed = r.audio_consumed_seconds;
  }
  EXPECT_LE(consumed, 3.0);
}

TEST_F(PocketsphinxEngineTest, AClientThatPausesHearsHowFarTheEngineGot) {
  auto collector = std::make_shared<Collector>();
  auto stream = engine().StartRecognition({}, collector);
  ASSERT_TRUE(stream.ok()) << stream.status();
  // 0.55 s: five whole pieces are decoded, the last half piece waits for more audio.
  ASSERT_TRUE((*stream)->Write(std::vector<int16_t>(kRate * 55 / 100, 0)).ok());
  ASSERT_TRUE(collector->WaitResults(1, absl::Seconds(10)));
  const auto results = collector->results();
  EXPECT_TRUE(results[0].transcript.empty());
  EXPECT_DOUBLE_EQ(results[0].audio_consumed_seconds, 0.5);
  (*stream)->Cancel();
  ASSERT_TRUE(collector->WaitDone().has_value());
}

TEST_F(PocketsphinxEngineTest, TwoConcurrentStreamsMatchSerialRuns) {
  const std::string a_id = "sense_and_sensibility_01_austen_64kb-0890";
  const std::string b_id = "sense_and_sensibility_01_austen_64kb-0930";
  const std::string a_serial = SerialTranscript(a_id);
  const std::string b_serial = SerialTranscript(b_id);
  ASSERT_FALSE(a_serial.empty());
  ASSERT_FALSE(b_serial.empty());

  const auto a_samples = Clip(a_id);
  const auto b_samples = Clip(b_id);
  auto a = std::make_shared<Collector>();
  auto b = std::make_shared<Collector>();
  auto a_stream = engine().StartRecognition({}, a);
  auto b_stream = engine().StartRecognition({}, b);
  ASSERT_TRUE(a_stream.ok()) << a_stream.status();
  ASSERT_TRUE(b_stream.ok()) << b_stream.status();
  EXPECT_EQ(engine().Describe()->active_streams, 2);
  std::thread writer([&] {
    EXPECT_TRUE(WriteChunks(**b_stream, b_samples).ok());
    (*b_stream)->Finish();
  });
  EXPECT_TRUE(WriteChunks(**a_stream, a_samples).ok());
  (*a_stream)->Finish();
  writer.join();
  const auto a_status = a->WaitDone();
  const auto b_status = b->WaitDone();
  ASSERT_TRUE(a_status && b_status);
  EXPECT_TRUE(a_status->ok()) << *a_status;
  EXPECT_TRUE(b_status->ok()) << *b_status;
  EXPECT_EQ(a->final_transcript(), a_serial);
  EXPECT_EQ(b->final_transcript(), b_serial);
}

TEST_F(PocketsphinxEngineTest, ExhaustedCapacityIsResourceExhausted) {
  auto a = std::make_shared<Collector>();
  auto b = std::make_shared<Collector>();
  auto c = std::make_shared<Collector>();
  auto a_stream = engine().StartRecognition({}, a);
  auto b_stream = engine().StartRecognition({}, b);
  ASSERT_TRUE(a_stream.ok() && b_stream.ok());
  auto c_stream = engine().StartRecognition({}, c);
  EXPECT_EQ(c_stream.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(c_stream.status().message(), HasSubstr("all 2 decoders busy"));
  EXPECT_EQ(engine().Describe()->active_streams, 2);
  (*a_stream)->Cancel();
  (*b_stream)->Cancel();
  ASSERT_TRUE(a->WaitDone() && b->WaitDone());
  EXPECT_EQ(c->done_count(), 0);
  EXPECT_TRUE(c->results().empty());
}

TEST_F(PocketsphinxEngineTest, WrongSampleRateIsInvalidArgument) {
  auto observer = std::make_shared<Collector>();
  RecognitionConfig config;
  config.sample_rate_hertz = 8000;
  auto stream = engine().StartRecognition(config, observer);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stream.status().message(), HasSubstr("8000"));
  EXPECT_THAT(stream.status().message(), HasSubstr("16000"));
  EXPECT_EQ(observer->done_count(), 0);
  EXPECT_EQ(engine().Describe()->active_streams, 0);
}

TEST_F(PocketsphinxEngineTest, UnknownLanguageOrModelIsNotFound) {
  auto observer = std::make_shared<Collector>();
  RecognitionConfig config;
  for (const char* language : {"fr-FR", "en-GB", "de"}) {
    config.language_code = language;
    auto stream = engine().StartRecognition(config, observer);
    EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound) << language;
    EXPECT_THAT(stream.status().message(), HasSubstr("en-US"));
    EXPECT_THAT(stream.status().message(), HasSubstr(language));
  }
  config.language_code = "en-US";
  config.model = "whisper-large";
  auto stream = engine().StartRecognition(config, observer);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(stream.status().message(), HasSubstr("en-us"));
  EXPECT_EQ(observer->done_count(), 0);

  for (const char* language : {"en", "EN-us", "en_US"}) {
    config.language_code = language;
    config.model = "en-us";
    auto ok_observer = std::make_shared<Collector>();
    auto ok = engine().StartRecognition(config, ok_observer);
    ASSERT_TRUE(ok.ok()) << language << ": " << ok.status();
    (*ok)->Finish();
    const auto status = ok_observer->WaitDone();
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->ok()) << *status;
  }
}

TEST_F(PocketsphinxEngineTest, CancelMidStreamEndsOnceAndTheDecoderIsReusedClean) {
  const std::string id = "sense_and_sensibility_01_austen_64kb-0880";
  const std::string serial = SerialTranscript(id);
  const auto long_clip = Clip("sense_and_sensibility_01_austen_64kb-0870");

  // Occupy both decoders, so that the stream after the cancel must get the cancelled one.
  auto a = std::make_shared<Collector>();
  auto b = std::make_shared<Collector>();
  auto a_stream = engine().StartRecognition({}, a);
  auto b_stream = engine().StartRecognition({}, b);
  ASSERT_TRUE(a_stream.ok() && b_stream.ok());
  ASSERT_TRUE(WriteChunks(**a_stream, long_clip, 0, 4 * kRate).ok());
  ASSERT_TRUE(a->WaitResults(1)) << "no partial before the cancel";  // mid-utterance now
  (*a_stream)->Cancel();
  const auto status = a->WaitDone();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kCancelled) << *status;
  (*a_stream)->Cancel();
  (*a_stream)->Finish();
  EXPECT_EQ((*a_stream)->Write(std::span<const int16_t>(long_clip.data(), kChunk)).code(),
            absl::StatusCode::kFailedPrecondition);
  a_stream->reset();
  EXPECT_EQ(a->done_count(), 1);

  // The cancelled decoder was freed before OnDone; it is the only free one.
  auto c = std::make_shared<Collector>();
  auto c_stream = engine().StartRecognition({}, c);
  ASSERT_TRUE(c_stream.ok()) << c_stream.status();
  ASSERT_TRUE(WriteChunks(**c_stream, Clip(id)).ok());
  (*c_stream)->Finish();
  const auto c_status = c->WaitDone();
  ASSERT_TRUE(c_status.has_value());
  EXPECT_TRUE(c_status->ok()) << *c_status;
  EXPECT_EQ(c->final_transcript(), serial);
  // Its first word starts inside this stream, not after the cancelled stream's audio.
  ASSERT_FALSE(c->finals().empty());
  EXPECT_LT(c->finals().front().start_seconds, 1.0);

  (*b_stream)->Cancel();
  ASSERT_TRUE(b->WaitDone().has_value());
}

TEST_F(PocketsphinxEngineTest, DestroyingTheHandleCancels) {
  auto observer = std::make_shared<Collector>();
  auto stream = engine().StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(WriteChunks(**stream, Clip("sense_and_sensibility_01_austen_64kb-0880")).ok());
  stream->reset();
  const auto status = observer->WaitDone();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(observer->done_count(), 1);
  EXPECT_TRUE(engine().AwaitIdle(absl::Seconds(10)));
}

TEST_F(PocketsphinxEngineTest, WriteBeyondTheQueueBoundIsResourceExhausted) {
  auto observer = std::make_shared<Collector>();
  auto stream = engine().StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  // The default bound is 30 s: one write of 31 s can never fit, however fast the worker is.
  const std::vector<int16_t> too_much(31 * kRate, 0);
  const absl::Status status = (*stream)->Write(too_much);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("30 s"));
  // The stream is still usable.
  EXPECT_TRUE((*stream)->Write(std::span<const int16_t>(too_much.data(), kRate)).ok());
  (*stream)->Finish();
  EXPECT_EQ((*stream)->Write(std::span<const int16_t>(too_much.data(), kChunk)).code(),
            absl::StatusCode::kFailedPrecondition);
  const auto done = observer->WaitDone();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok()) << *done;
}

TEST_F(PocketsphinxEngineTest, ARefusedWriterIsToldWhenThereIsRoomAgain) {
  auto observer = std::make_shared<Collector>();
  auto stream = engine().StartRecognition({}, observer);
  ASSERT_TRUE(stream.ok());
  const std::vector<int16_t> second(kRate, 0);
  absl::Status status;
  for (int i = 0; i < 100 && (status = (*stream)->Write(second)).ok(); ++i) {
  }
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(observer->WaitReadyForAudio());
  EXPECT_TRUE((*stream)->Write(second).ok());
  (*stream)->Cancel();
  ASSERT_TRUE(observer->WaitDone().has_value());
}

TEST_F(PocketsphinxEngineTest, SilenceSplitsUtterancesWithStreamTimes) {
  const auto first = Clip("sense_and_sensibility_01_austen_64kb-0880");
  const auto second = Clip("sense_and_sensibility_01_austen_64kb-0930");
  std::vector<int16_t> samples = first;
  samples.insert(samples.end(), 3 * kRate / 2, 0);  // 1.5 s of digital silence
  samples.insert(samples.end(), second.begin(), second.end());
  const double first_seconds = static_cast<double>(first.size()) / kRate;
  const double total_seconds = static_cast<double>(samples.size()) / kRate;

  const auto finals = Transcribe(samples)->finals();
  ASSERT_GE(finals.size(), 2u);
  for (size_t i = 1; i < finals.size(); ++i) {
    EXPECT_GE(finals[i].start_seconds, finals[i - 1].end_seconds);
  }
  EXPECT_LE(finals.front().end_seconds, first_seconds + 0.1);
  EXPECT_GT(finals[1].start_seconds, first_seconds);
  EXPECT_LE(finals.back().end_seconds, total_seconds);
  const auto refs = References();
  const std::string reference = refs.at("sense_and_sensibility_01_austen_64kb-0880") + " " +
                                refs.at("sense_and_sensibility_01_austen_64kb-0930");
  std::string hyp;
  for (const auto& r : finals) hyp += r.transcript + " ";
  std::cout << "split WER " << speech::WordErrorRate(reference, hyp) << ": " << hyp << "\n";
  // Measured 0.25 (4 errors in 16 words).
  EXPECT_LT(speech::WordErrorRate(reference, hyp), 0.32) << hyp;
}

// A stand-alone engine: loads its own decoder, checks fast_final, Drain and Shutdown.
TEST(PocketsphinxEngineLifecycleTest, FastFinalDrainAndShutdown) {
  PocketsphinxEngine::Options options;
  options.capacity = 1;
  options.fast_final = true;
  auto created = PocketsphinxEngine::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<PocketsphinxEngine> engine = *std::move(created);

  // fast_final: same words pipeline, no posteriors so confidence is 0 ("unknown").
  {
    auto collector = std::make_shared<Collector>();
    auto stream = engine->StartRecognition({}, collector);
    ASSERT_TRUE(stream.ok());
    const std::string id = "sense_and_sensibility_01_austen_64kb-0930";
    ASSERT_TRUE(WriteChunks(**stream, Clip(id)).ok());
    (*stream)->Finish();
    const auto status = collector->WaitDone();
    ASSERT_TRUE(status.has_value() && status->ok());
    const auto finals = collector->finals();
    ASSERT_FALSE(finals.empty());
    for (const auto& r : finals) EXPECT_EQ(r.confidence, 0.0f);
    EXPECT_LT(speech::WordErrorRate(References().at(id), collector->final_transcript()), 0.5);
  }

  auto open = std::make_shared<Collector>();
  auto stream = engine->StartRecognition({}, open);
  ASSERT_TRUE(stream.ok());
  engine->Drain();
  EXPECT_FALSE(engine->IsServing());
  auto refused = engine->StartRecognition({}, std::make_shared<Collector>());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(WriteChunks(**stream, Clip("sense_and_sensibility_01_austen_64kb-0870")).ok());
  EXPECT_FALSE(engine->AwaitIdle(absl::Milliseconds(1)));

  engine.reset();  // the destructor ends the open stream and joins the worker
  EXPECT_EQ(open->done_count(), 1);
  const auto status = open->WaitDone(absl::ZeroDuration());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kUnavailable) << *status;
  EXPECT_EQ((*stream)
                ->Write(std::span<const int16_t>(std::vector<int16_t>(kChunk).data(), kChunk))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  stream->reset();  // outliving the engine is fine
  EXPECT_EQ(open->done_count(), 1);
}

}  // namespace
}  // namespace voxgate::engines::pocketsphinx
