#include "engines/espeak/espeak_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "engines/espeak/internal/synthesizer.h"
#include "engines/espeak/internal/voices.h"

namespace voxgate::engines::espeak {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

using Clock = std::chrono::steady_clock;

// Collects one synthesis; Wait() returns its status.
class Collector : public speech::SynthesisObserver {
 public:
  // Returns false from OnAudio once this many chunks came (-1: never).
  explicit Collector(int stop_after_chunks = -1) : stop_after_(stop_after_chunks) {}

  bool OnAudio(std::span<const int16_t> samples, int rate) override {
    std::unique_lock lock(mu_);
    if (chunks_ == 0) first_chunk_ = Clock::now();
    chunks_++;
    samples_.insert(samples_.end(), samples.begin(), samples.end());
    rates_ok_ = rates_ok_ && (rate_ == 0 || rate_ == rate);
    rate_ = rate;
    if (block_) {
      blocked_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !block_; });
    }
    return stop_after_ < 0 || chunks_ < stop_after_;
  }
  void OnDone(absl::Status status) override {
    std::lock_guard lock(mu_);
    EXPECT_FALSE(done_) << "OnDone twice";
    done_ = true;
    done_at_ = Clock::now();
    status_ = std::move(status);
    cv_.notify_all();
  }
  absl::Status Wait() {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(20), [&] { return done_; })) << "no OnDone";
    return status_;
  }
  // OnAudio blocks (holding the synthesizer thread) until Release().
  void BlockInAudio() {
    std::lock_guard lock(mu_);
    block_ = true;
  }
  void AwaitBlocked() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return blocked_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    block_ = false;
    cv_.notify_all();
  }
  double Seconds() const { return rate_ == 0 ? 0 : double(samples_.size()) / rate_; }

  std::vector<int16_t> samples_;
  int chunks_ = 0;
  int rate_ = 0;
  bool rates_ok_ = true;
  Clock::time_point first_chunk_{}, done_at_{};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int stop_after_;
  bool done_ = false;
  bool block_ = false;
  bool blocked_ = false;
  absl::Status status_;
};

speech::SynthesisRequest Request(std::string text, std::string voice = "", std::string language = "") {
  speech::SynthesisRequest r;
  r.text = std::move(text);
  r.voice = std::move(voice);
  r.language_code = std::move(language);
  return r;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kSentence = "The quick brown fox jumps over the lazy dog. ";

class EspeakEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EspeakEngine::Options options;
    options.capacity = 64;
    auto e = EspeakEngine::Create(options);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  static void TearDownTestSuite() { engine_.reset(); }

  static std::shared_ptr<Collector> Say(speech::SynthesisRequest r, EspeakEngine* engine = nullptr) {
    auto c = std::make_shared<Collector>();
    (engine ? engine : engine_.get())->Synthesize(std::move(r), c);
    (void)c->Wait();
    return c;
  }
  static absl::Status StatusOf(speech::SynthesisRequest r) {
    auto c = std::make_shared<Collector>();
    engine_->Synthesize(std::move(r), c);
    return c->Wait();
  }

  static std::shared_ptr<EspeakEngine> engine_;
};
std::shared_ptr<EspeakEngine> EspeakEngineTest::engine_;

TEST_F(EspeakEngineTest, StreamsALongTextInChunksBeforeItIsDone) {
  const std::string text = Repeat(kSentence, 40);
  for (const auto& [voice, rate] : std::vector<std::pair<std::string, int>>{{"en-us+klatt", 0}, {"en-us", 0}, {"en-us+klatt", 16000}}) {
    auto c = std::make_shared<Collector>();
    auto r = Request(text, voice);
    r.sample_rate_hertz = rate;
    const auto start = Clock::now();
    engine_->Synthesize(r, c);
    ASSERT_TRUE(c->Wait().ok());
    EXPECT_EQ(c->rate_, rate == 0 ? 22050 : rate);
    EXPECT_TRUE(c->rates_ok_);
    EXPECT_GT(c->chunks_, 100);  // ~100 ms each
    EXPECT_GT(c->Seconds(), 60);
    const double first_ms = std::chrono::duration<double, std::milli>(c->first_chunk_ - start).count();
    const double total_ms = std::chrono::duration<double, std::milli>(c->done_at_ - start).count();
    EXPECT_LT(first_ms, total_ms / 4);
    std::printf("[ figures  ] %s at %d Hz: %.1f s of audio in %.1f ms (%.0f x real time), first chunk after %.2f ms, %d chunks\n",
                voice.c_str(), c->rate_, c->Seconds(), total_ms, c->Seconds() * 1000 / total_ms, first_ms, c->chunks_);
  }
}

TEST_F(EspeakEngineTest, DurationGrowsWithTheText) {
  const double one = Say(Request(kSentence, "en-us+klatt"))->Seconds();
  const double four = Say(Request(Repeat(kSentence, 4), "en-us+klatt"))->Seconds();
  EXPECT_GT(one, 1.0);
  EXPECT_GT(four, 3.5 * one);
  EXPECT_LT(four, 4.5 * one);
}

TEST_F(EspeakEngineTest, SpeakingRateTwoTakesAboutHalfTheTime) {
  auto normal = Request(Repeat(kSentence, 4), "alloy");
  auto fast = normal;
  fast.speaking_rate = 2;
  auto slow = normal;
  slow.speaking_rate = 0.5;
  const double n = Say(normal)->Seconds(), f = Say(fast)->Seconds(), s = Say(slow)->Seconds();
  EXPECT_GT(f / n, 0.4);
  EXPECT_LT(f / n, 0.65);
  EXPECT_GT(s / n, 1.6);
}

TEST_F(EspeakEngineTest, ResamplesToTheRateAsked) {
  const std::string text = Repeat(kSentence, 3);
  const auto native = Say(Request(text, "nova"));
  for (int rate : {16000, 24000, 8000}) {
    auto r = Request(text, "nova");
    r.sample_rate_hertz = rate;
    const auto c = Say(r);
    EXPECT_EQ(c->rate_, rate);
    EXPECT_TRUE(c->rates_ok_);
    EXPECT_GT(c->chunks_, 10);
    // The same audio: its length scales with the rate (the flush gives the filter's tail).
    // espeak varies its output a little from run to run (random jitter), so not to the sample.
    EXPECT_NEAR(double(c->samples_.size()), double(native->samples_.size()) * rate / 22050, 0.002 * c->samples_.size()) << rate;
  }
  auto same = Request(text, "nova");
  same.sample_rate_hertz = 22050;
  const auto c = Say(same);
  EXPECT_EQ(c->rate_, 22050);
  EXPECT_NEAR(double(c->samples_.size()), double(native->samples_.size()), 0.002 * c->samples_.size());
}

TEST_F(EspeakEngineTest, EveryListedVoiceSpeaks) {
  const auto caps = engine_->Describe();
  ASSERT_TRUE(caps.ok());
  ASSERT_EQ(caps->models.size(), 1u);
  const auto& voices = caps->models[0].voices;
  EXPECT_GT(voices.size(), 130u);
  std::vector<std::string> silent;
  for (const auto& v : voices) {
    const auto c = Say(Request("hello", v.name));
    if (!c->Wait().ok() || c->Seconds() < 0.1) silent.push_back(v.name + ": " + c->Wait().ToString());
  }
  EXPECT_THAT(silent, ::testing::IsEmpty());
  // Unlisted variants work on any voice, in any case.
  for (const char* name : {"en-gb+f2", "fr-fr+klatt", "de+M1", "EN-US+KLATT4"}) {
    const auto c = Say(Request("hello", name));
    EXPECT_TRUE(c->Wait().ok()) << name << " " << c->Wait();
    EXPECT_GT(c->Seconds(), 0.1) << name;
  }
}

TEST_F(EspeakEngineTest, DescribeListsTheModelVoicesAndLanguages) {
  const auto caps = engine_->Describe();
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->engine, "espeak-ng");
  EXPECT_FALSE(caps->version.empty());
  EXPECT_EQ(caps->capacity, 64);
  const auto& m = caps->models[0];
  EXPECT_EQ(m.name, "espeak-ng");
  EXPECT_EQ(m.service, "tts");
  EXPECT_EQ(m.sample_rate_hertz, 22050);
  for (const char* l : {"en-US", "en-GB", "en", "es", "fr-FR", "de", "pt-BR", "cmn-Latn-pinyin", "zh"}) EXPECT_THAT(m.language_codes, Contains(l));
  using V = speech::VoiceInfo;
  auto voice = [](const char* name, const char* language, const char* gender) {
    return ::testing::AllOf(Field(&V::name, name), Field(&V::language_code, language), Field(&V::gender, gender));
  };
  for (const char* preset : {"alloy", "echo", "fable", "onyx", "nova", "shimmer", "ash", "ballad", "coral", "sage", "verse"}) {
    EXPECT_THAT(m.voices, Contains(Field(&V::name, preset)));
  }
  EXPECT_THAT(m.voices, Contains(voice("nova", "en-US", "female")));
  EXPECT_THAT(m.voices, Contains(voice("onyx", "en-US", "male")));
  EXPECT_THAT(m.voices, Contains(voice("alloy", "en-US", "")));
  EXPECT_THAT(m.voices, Contains(voice("en-us", "en-US", "male")));
  EXPECT_THAT(m.voices, Contains(voice("en-us+klatt", "en-US", "male")));
  EXPECT_THAT(m.voices, Contains(voice("en-us+f2", "en-US", "female")));
  EXPECT_THAT(m.voices, Contains(voice("en-gb", "en-GB", "male")));
  EXPECT_THAT(m.voices, Contains(voice("fr-fr", "fr-FR", "male")));
  EXPECT_THAT(m.voices, Contains(Field(&V::name, "yue-latn-jyutping")));  // the second "yue" voice
  EXPECT_THAT(m.voices, Not(Contains(Field(&V::name, "fr-fr+klatt"))));  // variants are not listed one by one
  std::printf("[ figures  ] %zu voices listed, %zu languages\n", m.voices.size(), m.language_codes.size());
}

TEST_F(EspeakEngineTest, TheLanguagePicksADefaultVoice) {
  // espeak's output varies a little from run to run, so the choice is checked on the catalog the
  // engine uses, built from what this machine has installed.
  auto synthesizer = internal::Synthesizer::Get("");
  ASSERT_TRUE(synthesizer.ok());
  auto catalog = internal::VoiceCatalog::Build((*synthesizer)->installation(), {});
  ASSERT_TRUE(catalog.ok());
  auto chosen = [&](const char* voice, const char* language) {
    auto v = catalog->Resolve(voice, language);
    return v.ok() ? v->name + " " + v->espeak_voice : v.status().ToString();
  };
  // English gets the recognisable klatt variant; "en" means American English.
  EXPECT_EQ(chosen("", "en-US"), "en-us+klatt gmw/en-US+klatt");
  EXPECT_EQ(chosen("", "en"), "en-us+klatt gmw/en-US+klatt");
  EXPECT_EQ(chosen("", "en-AU"), "en-us+klatt gmw/en-US+klatt");
  EXPECT_EQ(chosen("", "en_GB"), "en-gb+klatt gmw/en+klatt");
  EXPECT_EQ(chosen("", ""), "en-us+klatt gmw/en-US+klatt");
  // Otherwise espeak's own ranking.
  EXPECT_EQ(chosen("", "fr"), "fr-fr roa/fr");
  EXPECT_EQ(chosen("", "fr-CA"), "fr-fr roa/fr");
  EXPECT_EQ(chosen("", "es-MX"), "es-419 roa/es-419");
  EXPECT_EQ(chosen("", "zh-CN"), "cmn sit/cmn");
  EXPECT_EQ(chosen("", "pt-BR"), "pt-br roa/pt-BR");
  EXPECT_EQ(chosen("", "no"), "nb gmq/nb");
  // Named voices, with their espeak selector (by file: espeak_ng_SetVoiceByName("en-gb") fails).
  EXPECT_EQ(chosen("en-gb", ""), "en-gb gmw/en");
  EXPECT_EQ(chosen("EN-US+Klatt2", "en-US"), "en-us+klatt2 gmw/en-US+klatt2");
  EXPECT_EQ(chosen("nova", "en-GB"), "nova gmw/en-US+f5");
  EXPECT_EQ(chosen("fr-fr", "fr-CA"), "fr-fr roa/fr");
  // Through the engine, a language alone is enough.
  for (const char* language : {"en-US", "en", "fr", "es-MX", "zh-CN", "de-AT"}) {
    const auto c = Say(Request("hello", "", language));
    EXPECT_TRUE(c->Wait().ok()) << language << " " << c->Wait();
    EXPECT_GT(c->Seconds(), 0.1) << language;
  }
}

TEST_F(EspeakEngineTest, UnknownVoicesAndLanguagesAreNamed) {
  const auto unknown = StatusOf(Request("hello", "marvin"));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("no voice \"marvin\""));
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("alloy"));
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("en-us"));
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("GET /v1/audio/voices"));
  const auto language_as_voice = StatusOf(Request("bonjour", "fr"));
  EXPECT_EQ(language_as_voice.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(language_as_voice.message()), HasSubstr("use voice fr-fr"));
  const auto variant = StatusOf(Request("hello", "en-us+nope"));
  EXPECT_EQ(variant.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(variant.message()), HasSubstr("klatt2"));
  EXPECT_EQ(StatusOf(Request("hello", "alloy+klatt")).code(), absl::StatusCode::kNotFound);
  const auto language = StatusOf(Request("hello", "", "xx-YY"));
  EXPECT_EQ(language.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(language.message()), HasSubstr("no voice speaks language \"xx-YY\""));
  const auto mismatch = StatusOf(Request("hello", "fr-fr", "en-US"));
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("voice fr-fr speaks fr-FR, not \"en-US\""));
  EXPECT_EQ(StatusOf(Request("hello", "nova", "de")).code(), absl::StatusCode::kInvalidArgument);
  auto model = Request("hello");
  model.model = "tacotron";
  EXPECT_EQ(StatusOf(model).code(), absl::StatusCode::kNotFound);
}

TEST_F(EspeakEngineTest, BadTextIsRefusedWithTheReason) {
  EXPECT_TRUE(ValidateText("café ☕ 😀\nnext line\ttab\r", 100).ok());
  EXPECT_TRUE(ValidateText(Repeat("é", 4096), 4096).ok());  // characters, not bytes
  EXPECT_EQ(ValidateText(Repeat("é", 4097), 4096).code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(ValidateText("a\x01" "b", 100).message()), HasSubstr("control character 0x1 at byte 1"));
  EXPECT_THAT(std::string(ValidateText("a\x7f", 100).message()), HasSubstr("control character"));
  for (const char* bad : {"\xc3", "\xc3(", "\xe2\x82", "\xed\xa0\x80" /* surrogate */, "\xc0\xaf" /* overlong */, "\xf5\x80\x80\x80"}) {
    EXPECT_THAT(std::string(ValidateText(bad, 100).message()), HasSubstr("invalid UTF-8")) << bad;
  }
  EXPECT_EQ(StatusOf(Request("")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(Request(" \n\t ")).code(), absl::StatusCode::kInvalidArgument);
  const auto too_long = StatusOf(Request(std::string(4097, 'a')));
  EXPECT_EQ(too_long.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(too_long.message()), HasSubstr("limit of 4096 characters"));
  EXPECT_EQ(StatusOf(Request("bad \xff byte")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(Request(std::string("nul \0 byte", 10))).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(Request("escape \x1b[31m")).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EspeakEngineTest, SpeakingRateAndSampleRateOutsideTheRangeAreRefused) {
  for (double rate : {0.3, 2.8, 0.0, -1.0, std::nan("")}) {
    auto r = Request("hello");
    r.speaking_rate = rate;
    const auto s = StatusOf(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << rate;
    EXPECT_THAT(std::string(s.message()), HasSubstr("from 0.46 to 2.57 times")) << rate;
  }
  for (double rate : {0.46, 2.57}) {
    auto r = Request("hello");
    r.speaking_rate = rate;
    EXPECT_TRUE(StatusOf(r).ok()) << rate;
  }
  auto r = Request("hello");
  r.sample_rate_hertz = 1000;
  EXPECT_EQ(StatusOf(r).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EspeakEngineTest, MarkupInTheTextIsNeverObeyed) {
  // As SSML, this would be 10 s of silence; as phonemes, "[[...]]" would be read as such.
  const auto ssml = Say(Request("Hello <break time=\"10s\"/> world.", "en-us+klatt"));
  ASSERT_TRUE(ssml->Wait().ok());
  EXPECT_LT(ssml->Seconds(), 5);
  const auto speak = Say(Request("<speak>Hi<break time=\"10s\"/>there</speak>", "en-us+klatt"));
  ASSERT_TRUE(speak->Wait().ok());
  EXPECT_LT(speak->Seconds(), 8);
  const auto phonemes = Say(Request("Hello [[h@'loU]] world.", "en-us+klatt"));
  ASSERT_TRUE(phonemes->Wait().ok());
  EXPECT_GT(phonemes->Seconds(), 1.0);
}

TEST_F(EspeakEngineTest, TextWithNothingToSpeakIsRefused) {
  for (const char* text : {"...", "?", " - ", "()", "\xe2\x80\x8b" /* zero-width space */}) {
    const auto c = Say(Request(text, "en-us"));
    const auto s = c->Wait();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(s.message()), HasSubstr("nothing to speak")) << text;
    EXPECT_EQ(c->chunks_, 0) << text;
  }
  // Symbols espeak reads out are something to speak.
  EXPECT_TRUE(Say(Request("%", "en-us"))->Wait().ok());
  // Leading silence is not lost once speech follows.
  EXPECT_TRUE(Say(Request("... ... hello", "en-us"))->Wait().ok());
}

TEST_F(EspeakEngineTest, OnAudioReturningFalseCancels) {
  auto c = std::make_shared<Collector>(/*stop_after_chunks=*/2);
  engine_->Synthesize(Request(Repeat(kSentence, 20), "echo"), c);
  const auto s = c->Wait();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(c->chunks_, 2);
  // The synthesizer is fine afterwards.
  EXPECT_TRUE(Say(Request("still here", "echo"))->Wait().ok());
}

TEST_F(EspeakEngineTest, DeadlinesAreKept) {
  auto past = Request("hello");
  past.deadline = std::chrono::system_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(StatusOf(past).code(), absl::StatusCode::kDeadlineExceeded);
  auto soon = Request(Repeat(kSentence, 80));  // ~0.3 s of work
  soon.deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(5);
  const auto c = Say(soon);
  EXPECT_EQ(c->Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(c->Seconds(), 200);
  auto forever = Request("hello");
  forever.deadline = std::chrono::system_clock::time_point::max();
  EXPECT_TRUE(StatusOf(forever).ok());
}

TEST_F(EspeakEngineTest, ConcurrentRequestsAreServedOneAtATimeWithTheirOwnAudio) {
  const std::vector<speech::SynthesisRequest> requests = {
      Request("Yes.", "alloy"), Request("One small step for a man.", "onyx"), Request(Repeat(kSentence, 2), "nova"),
      Request("Bonjour tout le monde, comment allez-vous aujourd'hui? Très bien, merci.", "fr-fr"),
      Request(Repeat("Hola, ¿qué tal? ", 8), "", "es")};
  // espeak's output varies from run to run (random jitter, and timing that depends on the text
  // spoken before: Spanish after "en-us+f5" English comes out up to 7 % longer, and no voice
  // reload undoes it): each answer must have its own request's length within 10 %, and the
  // texts' lengths differ by far more.
  std::vector<double> serial;
  for (const auto& r : requests) serial.push_back(Say(r)->Seconds());
  for (size_t i = 0; i < serial.size(); ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_GT(std::abs(serial[i] - serial[j]), 0.25 * serial[i]) << i << " " << j;
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        const size_t k = (t + i) % requests.size();
        auto c = std::make_shared<Collector>();
        engine_->Synthesize(requests[k], c);
        const absl::Status s = c->Wait();
        if (!s.ok() || std::abs(c->Seconds() - serial[k]) > 0.1 * serial[k]) {
          mismatches++;
          ADD_FAILURE() << k << ": " << s << " " << c->Seconds() << " s, alone " << serial[k] << " s";
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, 0);
}

TEST_F(EspeakEngineTest, DoesNotRecognizeSpeech) {
  EXPECT_EQ(engine_->StartRecognition({}, nullptr).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(EspeakEngineLimits, RequestsBeyondCapacityAreRefused) {
  EspeakEngine::Options options;
  options.capacity = 2;
  auto engine = EspeakEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto speaking = std::make_shared<Collector>();
  speaking->BlockInAudio();  // holds the synthesizer thread
  (*engine)->Synthesize(Request("hello there"), speaking);
  speaking->AwaitBlocked();
  auto waiting = std::make_shared<Collector>();
  (*engine)->Synthesize(Request("hello there"), waiting);
  EXPECT_EQ((*engine)->Describe()->active_streams, 2);
  auto refused = std::make_shared<Collector>();
  (*engine)->Synthesize(Request("hello there"), refused);
  const auto s = refused->Wait();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("all 2 synthesis slots"));
  speaking->Release();
  EXPECT_TRUE(speaking->Wait().ok());
  EXPECT_TRUE(waiting->Wait().ok());
  EXPECT_TRUE((*engine)->AwaitIdle(std::chrono::seconds(5)));
  EXPECT_EQ((*engine)->Describe()->active_streams, 0);
}

TEST(EspeakEngineLimits, AudioBeyondTheLimitIsRefused) {
  EspeakEngine::Options options;
  options.max_audio_seconds = 2;
  auto engine = EspeakEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto c = std::make_shared<Collector>();
  (*engine)->Synthesize(Request(Repeat(kSentence, 3)), c);
  const auto s = c->Wait();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(s.message()), HasSubstr("more than 2 s of audio"));
  EXPECT_LE(c->Seconds(), 2.0);
}

TEST(EspeakEngineLimits, DrainRefusesNewWorkAndWaitsForOpenWork) {
  auto engine = EspeakEngine::Create({});
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto open = std::make_shared<Collector>();
  open->BlockInAudio();
  (*engine)->Synthesize(Request("hello there"), open);
  open->AwaitBlocked();
  (*engine)->Drain();
  EXPECT_FALSE((*engine)->IsServing());
  auto refused = std::make_shared<Collector>();
  (*engine)->Synthesize(Request("hello"), refused);
  EXPECT_EQ(refused->Wait().code(), absl::StatusCode::kAborted);
  EXPECT_FALSE((*engine)->AwaitIdle(std::chrono::milliseconds(50)));
  open->Release();
  EXPECT_TRUE((*engine)->AwaitIdle(std::chrono::seconds(5)));
  EXPECT_TRUE(open->Wait().ok());
}

TEST(EspeakEngineLimits, LanguagesCanBeNarrowed) {
  EspeakEngine::Options options;
  options.languages = {"es", "fr"};
  auto engine = EspeakEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto m = (*engine)->Describe()->models[0];
  for (const auto& l : m.language_codes) EXPECT_TRUE(l.starts_with("es") || l.starts_with("fr")) << l;
  for (const auto& v : m.voices) EXPECT_TRUE(v.name.starts_with("es") || v.name.starts_with("fr")) << v.name;
  auto c = std::make_shared<Collector>();
  (*engine)->Synthesize(Request("hello", "alloy"), c);
  EXPECT_EQ(c->Wait().code(), absl::StatusCode::kNotFound);
  auto spanish = std::make_shared<Collector>();
  (*engine)->Synthesize(Request("hola"), spanish);  // no language, no voice: the first voice
  EXPECT_TRUE(spanish->Wait().ok());

  options.languages = {"xx"};
  const auto none = EspeakEngine::Create(options);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("no espeak-ng voice speaks \"xx\""));
}

TEST(EspeakEngineLimits, AMissingDataPathIsReported) {
  EspeakEngine::Options options;
  options.data_path = "/nonexistent/espeak";
  const auto e = EspeakEngine::Create(options);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("/nonexistent/espeak"));
}

TEST(EspeakVoiceNames, EspeakCodesGetBcp47Case) {
  EXPECT_EQ(internal::ToBcp47Case("en-us"), "en-US");
  EXPECT_EQ(internal::ToBcp47Case("en-gb-x-rp"), "en-GB-x-rp");
  EXPECT_EQ(internal::ToBcp47Case("en-gb-scotland"), "en-GB-scotland");
  EXPECT_EQ(internal::ToBcp47Case("cmn-latn-pinyin"), "cmn-Latn-pinyin");
  EXPECT_EQ(internal::ToBcp47Case("chr-US-Qaaa-x-west"), "chr-US-Qaaa-x-west");
  EXPECT_EQ(internal::ToBcp47Case("es-419"), "es-419");
  EXPECT_EQ(internal::ToBcp47Case("vi-vn-x-central"), "vi-VN-x-central");
  EXPECT_EQ(internal::ToBcp47Case("ES"), "es");
}

TEST(EspeakVoiceNames, AnInstallationWithoutPresetsStillResolves) {
  internal::Installation installed;
  installed.voices = {{"roa/es", "Spanish", {{5, "es"}}, 1}, {"roa/es-419", "Spanish (Latin America)", {{5, "es-419"}, {6, "es-mx"}, {6, "es"}}, 1}};
  installed.variants = {{"klatt", 0}, {"f2", 2}};
  auto c = internal::VoiceCatalog::Build(installed, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listed().size(), 2u);  // no English: no presets
  EXPECT_EQ(c->Resolve("", "es")->espeak_voice, "roa/es");  // priority 5 beats 6
  EXPECT_EQ(c->Resolve("", "es-MX")->espeak_voice, "roa/es-419");
  EXPECT_EQ(c->Resolve("", "")->name, "es");
  const auto f2 = c->Resolve("es+F2", "");
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->name, "es+f2");
  EXPECT_EQ(f2->espeak_voice, "roa/es+f2");
  EXPECT_EQ(f2->gender, "female");
  EXPECT_EQ(c->Resolve("alloy", "").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace voxgate::engines::espeak
