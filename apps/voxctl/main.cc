// voxctl: the voxgate client and operator command line.
//   voxctl transcribe FILE [--server URL] [--language L] [--format F] [--stream [--speed X]]
//   voxctl models [--server URL]
//   voxctl translate TEXT --from L --to L [--server URL]
//   voxctl speak TEXT -o out.wav [--voice V] [--language L] [--format wav|pcm|flac|opus] [--speed S]
//   voxctl bench FILE --streams N [--speed X] [--language L] [--server URL]
// (--server goes before or after the subcommand)
//   voxctl status [--admin URL]
//   voxctl logs analyze [FILE|-] [--format text|json|csv] [--top N] [--tier T] [--window S] ...
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audio/decode.h"
#include "audio/encoder.h"
#include "audio/resampler.h"
#include "cli/client.h"
#include "cli/load_bench.h"
#include "cli/status_table.h"
#include "logs/analyze.h"

namespace {

constexpr int kStreamRate = 16000;
constexpr double kProgressBarAfterSeconds = 5;

// A whole number from lo to hi, checked as a signed number so that "-1" is refused rather than
// wrapped around into an unsigned option.
CLI::Range Between(int64_t lo, int64_t hi) { return CLI::Range(lo, hi); }

// A finite number from lo to hi (CLI::Range lets "nan" through).
CLI::Validator FiniteBetween(double lo, double hi) {
  const std::string range = CLI::detail::to_string(lo) + " to " + CLI::detail::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& value) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) return "must be a number from " + range + ", got " + value;
        return {};
      },
      "NUMBER in " + range);
}

int Fail(const std::string& message) {
  std::cerr << "voxctl: " << message << "\n";
  return 1;
}

// Partial results rewrite one status line on a terminal; finals are printed for good.
class StreamPrinter {
 public:
  StreamPrinter(double total_seconds) : total_(total_seconds), tty_(isatty(STDOUT_FILENO)) {}

  void Final(const std::string& text) {
    partial_.clear();
    if (tty_) std::cout << "\r\033[K";
    if (!text.empty()) std::cout << text << "\n";
    Redraw();
  }
  void Partial(const std::string& text) {
    partial_ = text;
    Redraw();
  }
  void Progress(double sent) {
    sent_ = sent;
    Redraw();
  }
  void Done() {
    if (tty_) std::cout << "\r\033[K" << std::flush;
  }

 private:
  void Redraw() {
    if (!tty_) return;
    std::string line;
    if (total_ > kProgressBarAfterSeconds) {
      constexpr int kWidth = 20;
      const int filled = static_cast<int>(kWidth * std::min(1.0, sent_ / total_));
      char time[48];
      std::snprintf(time, sizeof time, "] %5.1f/%.1f s  ", sent_, total_);
      line = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + time;
    }
    line += partial_;
    if (line.size() > 120) line = line.substr(0, 117) + "...";
    std::cout << "\r\033[K" << line << std::flush;
  }

  double total_;
  bool tty_;
  double sent_ = 0;
  std::string partial_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"voxctl: the voxgate client. A server with API keys takes the key from $VOXGATE_API_KEY."};
  app.require_subcommand(1);
  app.fallthrough();  // inherited by the subcommands: `voxctl models --server URL` works too
  std::string server = "http://127.0.0.1:8080";
  app.add_option("--server", server, "voxgate server URL")->capture_default_str();

  auto* transcribe = app.add_subcommand("transcribe", "Transcribe an audio file (WAV, FLAC, Ogg)");
  std::string file, language, format = "text";
  bool stream = false;
  double speed = 1.0;
  transcribe->add_option("file", file, "audio file")->required()->check(CLI::ExistingFile);
  transcribe->add_option("--language", language, "language code, e.g. en-US");
  transcribe->add_option("--format", format, "json, text, srt, vtt or verbose_json (file mode)")->capture_default_str();
  transcribe->add_flag("--stream", stream, "stream the file at real-time pace over WebSocket, showing partial results");
  transcribe->add_option("--speed", speed, "with --stream: times real time")->check(CLI::Range(0.1, 100.0))->capture_default_str();

  auto* models = app.add_subcommand("models", "List the models and languages the server offers");

  auto* translate = app.add_subcommand("translate", "Translate text (TEXT, or - for standard input)");
  std::string text, from, to;
  translate->add_option("text", text, "the text; - reads standard input")->required();
  translate->add_option("--from", from, "source language, e.g. en")->required();
  translate->add_option("--to", to, "target language, e.g. es")->required();

  auto* speak = app.add_subcommand("speak", "Synthesize speech (TEXT, or - for standard input) into a file");
  std::string speak_text, output, voice, speak_format = "wav", speak_language;
  double speak_speed = 1.0;
  speak->add_option("text", speak_text, "the text; - reads standard input")->required();
  speak->add_option("-o,--output", output, "the audio file to write")->required();
  speak->add_option("--voice", voice, "a voice from GET /v1/audio/voices (default: the language's)");
  speak->add_option("--language", speak_language, "language code, e.g. en or es (default: the voice's, else en)");
  speak->add_option("--format", speak_format, "wav, pcm (s16le, 24 kHz), flac or opus")->capture_default_str();
  speak->add_option("--speed", speak_speed, "1 is the voice's normal speed")->check(CLI::Range(0.25, 4.0))->capture_default_str();

  auto* status_cmd = app.add_subcommand("status", "Show each pool's engines: state, streams, last health check");
  std::string admin = "http://127.0.0.1:9090";
  status_cmd->add_option("--admin", admin, "the server's admin URL")->capture_default_str();
  auto* bench = app.add_subcommand("bench", "Open N concurrent streams at real-time pace; report final-result latency");
  std::string bench_file;
  int streams = 1;
  double bench_speed = 1.0;
  bench->add_option("file", bench_file, "audio file each stream sends")->required()->check(CLI::ExistingFile);
  bench->add_option("--streams", streams, "concurrent streams")->check(CLI::Range(1, 256))->capture_default_str();
  bench->add_option("--speed", bench_speed, "times real time")->check(CLI::Range(0.1, 100.0))->capture_default_str();
  bench->add_option("--language", language, "language code of the audio (default en-US)");

  auto* logs = app.add_subcommand("logs", "Work with voxgate's JSON logs");
  logs->require_subcommand(1);
  auto* analyze = logs->add_subcommand("analyze", "Report on a log: JSON lines or a `gcloud logging read --format=json` export");
  voxgate::logs::AnalyzeCommand analyze_command;
  auto& ao = analyze_command.options;
  // Up to ten years: a window is counted in microseconds (int64).
  const CLI::Range kWindowSeconds(int64_t{1}, int64_t{10} * 365 * 86400);
  bool no_progress = false;
  analyze->add_option("file", analyze_command.input, "the log; - reads standard input")->capture_default_str();
  analyze->add_option("--format", analyze_command.format, "text, json or csv")->check(CLI::IsMember({"text", "json", "csv"}))->capture_default_str();
  analyze->add_option("--top", ao.top, "slowest requests listed")->check(Between(0, 100000))->capture_default_str();
  analyze->add_option("--tier", ao.tier, "only lines of this tier (labels.tier: endpoint, router, pool, engine, all-in-one)");
  analyze->add_option("--window", ao.burst_window_s, "error-burst window, seconds")->check(kWindowSeconds)->capture_default_str();
  analyze->add_option("--burst-factor", ao.burst_factor, "a burst window has this many times the median error events per window")->check(FiniteBetween(0, 1e6))->capture_default_str();
  analyze->add_option("--burst-min-errors", ao.burst_min_errors, "and at least this many error events")->check(Between(1, int64_t{1} << 40))->capture_default_str();
  analyze->add_option("--anomaly-window", ao.anomaly_window_s, "anomaly window, seconds")->check(kWindowSeconds)->capture_default_str();
  analyze->add_option("--min-samples", ao.anomaly_min_samples, "requests (or rtf values) an engine's window and its reference need")->check(Between(1, int64_t{1} << 40))->capture_default_str();
  analyze->add_option("--min-errors", ao.anomaly_min_errors, "server errors an error-ratio anomaly needs")->check(Between(0, int64_t{1} << 40))->capture_default_str();
  analyze->add_option("--rtf-factor", ao.rtf_factor, "mean real-time factor this many times the reference is an anomaly")->check(FiniteBetween(1, 1e6))->capture_default_str();
  analyze->add_option("--error-ratio-delta", ao.error_ratio_delta, "server-error ratio this much above the reference is an anomaly")->check(FiniteBetween(0, 1))->capture_default_str();
  analyze->add_option("--max-names", ao.max_names, "routes, engines or pools tracked each; the rest count as (other)")->check(Between(1, 1000000))->capture_default_str();
  analyze->add_flag("--no-progress", no_progress, "no progress bar on stderr");
  CLI11_PARSE(app, argc, argv);

  if (analyze->parsed()) {
    analyze_command.progress = !no_progress;
    auto status = voxgate::logs::RunAnalyzeCommand(analyze_command, std::cout);
    return status.ok() ? 0 : Fail(std::string(status.message()));
  }

  if (models->parsed()) {
    auto res = voxgate::cli::Get(server, "/v1/models");
    if (!res.ok()) return Fail(std::string(res.status().message()));
    std::cout << res->body << "\n";
    return res->status == 200 ? 0 : 1;
  }

  if (translate->parsed()) {
    if (text == "-") {
      std::stringstream in;
      in << std::cin.rdbuf();
      text = in.str();
      while (!text.empty() && text.back() == '\n') text.pop_back();
    }
    auto res = voxgate::cli::PostTranslation(server, text, from, to);
    if (!res.ok()) return Fail(std::string(res.status().message()));
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status != 200 || !body.is_object() || !body.contains("text")) {
      const bool has_message = body.is_object() && body.contains("error") && body["error"].contains("message");
      return Fail(has_message ? body["error"]["message"].get<std::string>() : "server answered " + std::to_string(res->status));
    }
    std::cout << body["text"].get<std::string>() << "\n";
    return 0;
  }

  if (speak->parsed()) {
    if (speak_text == "-") {
      std::stringstream in;
      in << std::cin.rdbuf();
      speak_text = in.str();
    }
    nlohmann::json body = {{"model", "tts-1"}, {"input", speak_text}, {"response_format", speak_format}, {"speed", speak_speed}};
    if (!voice.empty()) body["voice"] = voice;
    if (!speak_language.empty()) body["language"] = speak_language;
    auto res = voxgate::cli::PostSpeech(server, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!res.ok()) return Fail(std::string(res.status().message()));
    if (res->status != 200) {
      auto error = nlohmann::json::parse(res->body, nullptr, false);
      const bool has_message = error.is_object() && error.contains("error") && error["error"].contains("message");
      return Fail(has_message ? error["error"]["message"].get<std::string>() : "server answered " + std::to_string(res->status));
    }
    std::ofstream out(output, std::ios::binary);
    const std::string audio = speak_format == "wav" ? voxgate::audio::WithWavSizes(std::move(res->body)) : std::move(res->body);
    out << audio;
    out.close();
    if (!out) return Fail("cannot write " + output);
    return 0;
  }

  if (status_cmd->parsed()) {
    auto res = voxgate::cli::Get(admin, "/v1/status");
    if (!res.ok()) return Fail(std::string(res.status().message()));
    if (res->status != 200) return Fail("server answered " + std::to_string(res->status) + ": " + res->body);
    auto table = voxgate::cli::FormatStatusTable(res->body);
    if (!table.ok()) return Fail(std::string(table.status().message()));
    std::cout << *table;
    return 0;
  }

  if (bench->parsed()) {
    std::ifstream in(bench_file, std::ios::binary);
    std::stringstream data;
    data << in.rdbuf();
    auto pcm = voxgate::audio::DecodeAudioFile(data.str(), static_cast<size_t>(3600) * 192000);
    if (!pcm.ok()) return Fail(bench_file + ": " + std::string(pcm.status().message()));
    auto resampled = voxgate::audio::ResampleTo(*pcm, kStreamRate);
    if (!resampled.ok()) return Fail(std::string(resampled.status().message()));
    voxgate::cli::LoadBenchOptions options{server, language.empty() ? "en-US" : language, streams, bench_speed};
    const auto r = voxgate::cli::RunLoadBench(options, *resampled);
    // No final result, no latency: null, never a perfect-looking 0.
    char latency[160] = "null";
    if (r.finals > 0) {
      std::snprintf(latency, sizeof latency, "{\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f, \"max\": %.3f}", r.p50, r.p95, r.p99, r.max);
    }
    std::printf("{\"streams\": %d, \"failed_streams\": %d, \"finals\": %d, \"final_latency_seconds\": %s}\n", r.streams,
                r.failed_streams, r.finals, latency);
    for (const auto& e : r.errors) std::cerr << e << "\n";
    return r.failed_streams == 0 ? 0 : 1;
  }

  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!stream) {
    auto res = voxgate::cli::PostTranscription(server, file.substr(file.find_last_of('/') + 1), bytes.str(), language, format);
    if (!res.ok()) return Fail(std::string(res.status().message()));
    if (res->status != 200) return Fail("server answered " + std::to_string(res->status) + ": " + res->body);
    std::cout << res->body;
    if (!res->body.empty() && res->body.back() != '\n') std::cout << "\n";
    return 0;
  }

  auto pcm = voxgate::audio::DecodeAudioFile(bytes.str(), static_cast<size_t>(24) * 3600 * 192000);
  if (!pcm.ok()) return Fail(file + ": " + std::string(pcm.status().message()));
  auto resampled = voxgate::audio::ResampleTo(*pcm, kStreamRate);
  if (!resampled.ok()) return Fail(std::string(resampled.status().message()));
  StreamPrinter printer(resampled->DurationSeconds());
  voxgate::cli::StreamEvents events;
  events.on_final = [&](const std::string& text, double, double) { printer.Final(text); };
  events.on_partial = [&](const std::string& text) { printer.Partial(text); };
  events.on_progress = [&](double sent) { printer.Progress(sent); };
  auto status = voxgate::cli::StreamRecognize(server, language.empty() ? "en-US" : language, *resampled, speed, events);
  printer.Done();
  if (!status.ok()) return Fail(std::string(status.message()));
  return 0;
}
