#include "engines/apertium/apertium_engine.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "speech/text.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engines/apertium/internal/pipeline.h"
#include "speech/language.h"

namespace voxgate::engines::apertium {
namespace {

// ISO 639-3 (apertium's names) → ISO 639-1 (what clients send) for the languages Debian packages.
const std::map<std::string, std::string>& TwoLetterCodes() {
  static const auto* codes = new std::map<std::string, std::string>{
      {"afr", "af"}, {"arg", "an"}, {"bel", "be"}, {"bre", "br"}, {"bul", "bg"}, {"cat", "ca"}, {"ces", "cs"},
      {"cos", "co"}, {"cym", "cy"}, {"dan", "da"}, {"deu", "de"}, {"ell", "el"}, {"eng", "en"}, {"epo", "eo"},
      {"est", "et"}, {"eus", "eu"}, {"fin", "fi"}, {"fra", "fr"}, {"gle", "ga"}, {"glg", "gl"}, {"hin", "hi"},
      {"hbs", "sh"}, {"isl", "is"}, {"ita", "it"}, {"kaz", "kk"}, {"lav", "lv"}, {"lit", "lt"}, {"mkd", "mk"},
      {"mlt", "mt"}, {"nld", "nl"}, {"nno", "nn"}, {"nob", "nb"}, {"oci", "oc"}, {"pol", "pl"}, {"por", "pt"},
      {"ron", "ro"}, {"rus", "ru"}, {"slk", "sk"}, {"slv", "sl"}, {"spa", "es"}, {"sqi", "sq"}, {"srd", "sc"},
      {"swe", "sv"}, {"tat", "tt"}, {"tur", "tr"}, {"ukr", "uk"}, {"urd", "ur"}};
  return *codes;
}

absl::Status StillTime(std::chrono::steady_clock::time_point deadline) {
  if (std::chrono::steady_clock::now() < deadline) return absl::OkStatus();
  return absl::DeadlineExceededError("the translation did not finish before its deadline");
}

}  // namespace

std::string ToBcp47(const std::string& apertium_code) {
  const std::vector<std::string> parts = absl::StrSplit(apertium_code, '_');
  auto it = TwoLetterCodes().find(parts[0]);
  std::string out = it == TwoLetterCodes().end() ? parts[0] : it->second;
  if (parts.size() > 1) absl::StrAppend(&out, "-", absl::AsciiStrToUpper(parts[1]));
  return out;
}

std::vector<LanguagePair> FindLanguagePairs(const std::string& modes_dir) {
  // "eng-spa.mode", "spa-eng_US.mode"; debugging modes ("eng-spa-tagger.mode") have more dashes.
  static const std::regex kPair("([a-z]{2,3}(_[A-Za-z]+)?)-([a-z]{2,3}(_[A-Za-z]+)?)");
  std::vector<LanguagePair> pairs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(modes_dir, ec)) {
    if (entry.path().extension() != ".mode") continue;
    const std::string mode = entry.path().stem().string();
    std::smatch m;
    if (!std::regex_match(mode, m, kPair)) continue;
    pairs.push_back({mode, ToBcp47(m[1].str()), ToBcp47(m[3].str())});
  }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.mode < b.mode; });
  return pairs;
}

absl::Status ValidateText(std::string_view text, size_t max_bytes) {
  if (absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())).empty()) {
    return absl::InvalidArgumentError("empty text");
  }
  if (text.size() > max_bytes) {
    return absl::OutOfRangeError(absl::StrCat("text of ", text.size(), " bytes exceeds the limit of ", max_bytes, " bytes"));
  }
  return speech::CheckPlainText(text);
}

absl::StatusOr<std::shared_ptr<ApertiumEngine>> ApertiumEngine::Create(Options options) {
  std::shared_ptr<ApertiumEngine> engine(new ApertiumEngine(std::move(options)));
  const Options& o = engine->options_;
  for (const LanguagePair& p : FindLanguagePairs(o.modes_dir)) {
    const bool wanted = o.source_languages.empty() ||
                        std::any_of(o.source_languages.begin(), o.source_languages.end(),
                                    [&](const std::string& l) { return speech::SameLanguage(l, p.source); });
    if (!wanted) continue;
    engine->pairs_.push_back(std::make_unique<Pair>());
    engine->pairs_.back()->names = p;
  }
  if (engine->pairs_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("no apertium language pair installed in ", o.modes_dir,
                                                      " (e.g. apt-get install apertium-eng-spa)"));
  }
  for (auto& pair : engine->pairs_) {
    for (int i = 0; i < o.pipelines_per_pair; ++i) {
      auto pipeline = internal::Pipeline::Start(o.modes_dir + "/" + pair->names.mode + ".mode");
      if (!pipeline.ok()) return pipeline.status();
      engine->workers_.push_back(std::make_unique<Worker>());
      engine->workers_.back()->pipeline = std::move(*pipeline);
      Worker& worker = *engine->workers_.back();
      worker.thread = std::thread([e = engine.get(), &pair = *pair, &worker] { e->Run(pair, worker); });
    }
  }
  return engine;
}

ApertiumEngine::Worker::~Worker() = default;

ApertiumEngine::~ApertiumEngine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  for (auto& p : pairs_) p->cv.notify_all();
  for (auto& w : workers_) w->thread.join();
  for (auto& p : pairs_) {
    for (Job& job : p->jobs) job.done(absl::UnavailableError("the engine is shutting down"));
  }
}

ApertiumEngine::Pair* ApertiumEngine::FindPairLocked(const speech::TranslationRequest& r) {
  for (auto& p : pairs_) {  // the exact pair first ("en-US" over "en")...
    if (absl::EqualsIgnoreCase(p->names.source, r.source_language) && absl::EqualsIgnoreCase(p->names.target, r.target_language)) {
      return p.get();
    }
  }
  for (auto& p : pairs_) {  // ...then the same languages
    if (speech::SameLanguage(p->names.source, r.source_language) && speech::SameLanguage(p->names.target, r.target_language) &&
        (r.model.empty() || r.model == "apertium-" + p->names.mode)) {
      return p.get();
    }
  }
  return nullptr;
}

void ApertiumEngine::Translate(speech::TranslationRequest request, speech::TranslationCallback done) {
  if (request.texts.empty()) return done(absl::InvalidArgumentError("no text to translate"));
  if (request.texts.size() > options_.max_texts) {
    return done(absl::OutOfRangeError(absl::StrCat(request.texts.size(), " texts exceed the limit of ", options_.max_texts)));
  }
  for (size_t i = 0; i < request.texts.size(); ++i) {
    absl::Status valid = ValidateText(request.texts[i], options_.max_text_bytes);
    if (!valid.ok()) return done(absl::Status(valid.code(), absl::StrCat("text ", i, ": ", valid.message())));
  }
  std::unique_lock lock(mu_);
  Pair* pair = FindPairLocked(request);
  if (pair == nullptr) {
    std::vector<std::string> names;
    for (const auto& p : pairs_) names.push_back(p->names.source + "->" + p->names.target);
    lock.unlock();
    return done(absl::NotFoundError(absl::StrCat("no language pair ", request.source_language, "->", request.target_language,
                                                 "; installed: ", absl::StrJoin(names, ", "))));
  }
  if (draining_ || stopping_) {
    lock.unlock();
    return done(absl::AbortedError("the engine is shutting down; retry on another instance"));
  }
  if (in_engine_ >= options_.capacity) {
    lock.unlock();
    return done(absl::ResourceExhaustedError(absl::StrCat("all ", options_.capacity, " translation slots are busy")));
  }
  in_engine_++;
  pair->jobs.push_back({std::move(request), std::move(done)});
  pair->cv.notify_one();
}

void ApertiumEngine::Run(Pair& pair, Worker& worker) {
  std::unique_lock lock(mu_);
  while (true) {
    pair.cv.wait(lock, [&] { return stopping_ || !pair.jobs.empty(); });
    if (stopping_) return;
    Job job = std::move(pair.jobs.front());
    pair.jobs.pop_front();
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    auto texts = TranslateAll(worker, pair, job.request);
    if (job.request.report) {
      job.request.report->AddEngineSeconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (texts.ok()) {
      job.done(speech::TranslationResponse{std::move(*texts), "apertium-" + pair.names.mode});
    } else {
      job.done(texts.status());
    }
    lock.lock();
    in_engine_--;
    idle_cv_.notify_all();
  }
}

absl::StatusOr<std::vector<std::string>> ApertiumEngine::TranslateAll(Worker& worker, const Pair& pair,
                                                                       const speech::TranslationRequest& r) {
  const auto deadline = std::chrono::steady_clock::now() + (r.deadline - std::chrono::system_clock::now());
  std::vector<std::string> out;
  for (size_t i = 0; i < r.texts.size(); ++i) {
    // Line by line, so the text keeps its line breaks (apertium would take them as blanks).
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(r.texts[i], '\n')) {
      if (absl::StripAsciiWhitespace(line).empty()) {
        lines.emplace_back(line);
        continue;
      }
      absl::StatusOr<std::string> translated;
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (auto s = StillTime(deadline); !s.ok()) return s;
        if (worker.pipeline == nullptr || !worker.pipeline->alive()) {
          // The last one hung or died: a new one (~0.2 s), then this line again, once.
          auto pipeline = internal::Pipeline::Start(options_.modes_dir + "/" + pair.names.mode + ".mode");
          if (!pipeline.ok()) return pipeline.status();
          worker.pipeline = std::move(*pipeline);
        }
        const absl::string_view text = absl::StripAsciiWhitespace(line);
        translated = worker.pipeline->TranslateLine(std::string_view(text.data(), text.size()),
                                                    std::min(deadline, std::chrono::steady_clock::now() + options_.line_timeout));
        if (translated.ok()) break;
      }
      if (!translated.ok()) return translated.status();
      if (translated->empty()) {
        return absl::FailedPreconditionError(absl::StrCat("text ", i, ": the translator produced no output"));
      }
      // The line's own indentation stays.
      lines.push_back(std::string(line.substr(0, line.find_first_not_of(" \t"))) + *translated);
    }
    out.push_back(absl::StrJoin(lines, "\n"));
  }
  return out;
}

absl::StatusOr<speech::Capabilities> ApertiumEngine::Describe() {
  std::lock_guard lock(mu_);
  speech::Capabilities caps;
  caps.engine = "apertium";
  caps.capacity = options_.capacity;
  caps.active_streams = in_engine_;
  for (const auto& p : pairs_) caps.models.push_back({"apertium-" + p->names.mode, "mt", {p->names.source}, {p->names.target}, 0, {}});
  return caps;
}

bool ApertiumEngine::IsServing() {
  std::lock_guard lock(mu_);
  return !draining_ && !stopping_;
}

absl::StatusOr<speech::RecognitionStreamPtr> ApertiumEngine::StartRecognition(const speech::RecognitionConfig&,
                                                                              speech::RecognitionObserverPtr) {
  return absl::UnimplementedError("apertium translates text; it does not recognize speech");
}

void ApertiumEngine::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

bool ApertiumEngine::AwaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return in_engine_ == 0; });
}

}  // namespace voxgate::engines::apertium
