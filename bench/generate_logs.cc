// Writes a realistic voxgate log for benchmarking `voxctl logs analyze`: the access lines and
// events an all-in-one voxgate writes (docs: the log schema), serialised the way voxgate does
// (nlohmann::json, keys sorted), deterministic for a seed. Four pools, eleven engines, five
// routes, ~0.5 % server errors and ~3 % client errors, plus what the analysis should find:
//  - an error burst: once a third of the size is written, 3 minutes (log time) in which a third
//    of asr-es requests fail with 503 and the pool logs CRITICAL "no healthy engine" lines;
//  - a drift: engine asr-en-us-2's real-time factor is 2.5x its own in the last quarter.
//   voxgate-bench-generate-logs --size-mb 1000 [--format lines|gcloud] [--seed N] [-o FILE]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/cloud_log_entry.h"

namespace {

// xoshiro256** seeded by splitmix64: the same stream on every platform (std:: distributions
// are not specified bit for bit).
class Random {
 public:
  explicit Random(uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Uniform() < p; }
  double Exponential(double mean) { return -mean * std::log(1 - Uniform()); }
  double Normal() { return std::sqrt(-2 * std::log(1 - Uniform())) * std::cos(6.283185307179586 * Uniform()); }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  size_t Pick(size_t n) { return static_cast<size_t>(Next() % n); }
  std::string Hex(int digits) {
    static const char* kHex = "0123456789abcdef";
    std::string s;
    uint64_t bits = Next();
    for (int i = 0; i < digits; ++i) {
      if (i == 16) bits = Next();
      s += kHex[bits & 15];
      bits >>= 4;
    }
    return s;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

struct Pool {
  std::string name, service, language;
  std::vector<std::string> engines;
};

struct Route {
  std::string path, service, message;
  double share;
  size_t pool;  // index into the pools
};

std::string Rfc3339(int64_t us) {
  const int64_t secs = us / 1000000;
  const int64_t days = secs / 86400, rem = secs % 86400;
  // Days to civil (H. Hinnant), for dates after 1970.
  const int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60),
                static_cast<long long>(us % 1000000));
  return buf;
}

double Micro(double v) { return std::round(v * 1e6) / 1e6; }

std::string Latency(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6fs", s);
  return buf;
}

// Cloud Logging's LogEntry for one voxgate line (special fields moved out of jsonPayload).
nlohmann::json ToLogEntry(nlohmann::json line, Random& rng) {
  nlohmann::json entry = {{"insertId", rng.Hex(16)},
                          {"logName", "projects/voxgate-prod/logs/stdout"},
                          {"receiveTimestamp", line["time"]},
                          {"resource", {{"type", "k8s_container"}, {"labels", {{"cluster_name", "prod-1"}, {"namespace_name", "voxgate"}}}}}};
  return voxgate::testing::ToCloudLogEntry(std::move(line), std::move(entry));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a deterministic voxgate log for benchmarking voxctl logs analyze"};
  double size_mb = 1000;
  std::string format = "lines", output = "-";
  uint64_t seed = 1;
  double rate = 200;
  app.add_option("--size-mb", size_mb, "stop after this many MB (10^6 bytes)")->capture_default_str();
  app.add_option("--format", format, "lines (voxgate's stdout) or gcloud (gcloud logging read --format=json)")
      ->check(CLI::IsMember({"lines", "gcloud"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  app.add_option("--rate", rate, "requests per second of log time")->capture_default_str();
  app.add_option("-o,--output", output, "file to write; - for stdout")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), "wb");
  if (out == nullptr) {
    std::perror(output.c_str());
    return 1;
  }
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);

  std::vector<Pool> pools = {
      {"asr-en-us", "asr", "en-US", {}},
      {"asr-es", "asr", "es-ES", {"10.0.1.5:50051", "10.0.1.6:50051"}},
      {"mt-en-es", "mt", "en", {"unix:/run/voxgate/mt-0.sock", "unix:/run/voxgate/mt-1.sock"}},
      {"tts", "tts", "en", {"unix:/run/voxgate/tts-0.sock", "unix:/run/voxgate/tts-1.sock", "unix:/run/voxgate/tts-2.sock"}},
  };
  for (int i = 0; i < 4; ++i) pools[0].engines.push_back("unix:/run/voxgate/asr-en-us-" + std::to_string(i) + ".sock");
  const std::vector<Route> routes = {
      {"/v1/audio/transcriptions", "asr", "request", 0.30, 0},
      {"/v1/recognize", "asr", "stream", 0.22, 0},
      {"/v1/audio/transcriptions", "asr", "request", 0.10, 1},
      {"/vosk", "asr", "stream", 0.05, 0},
      {"/v1/translate", "mt", "request", 0.20, 2},
      {"/v1/audio/speech", "tts", "request", 0.13, 3},
  };
  const std::vector<std::string> agents = {"OpenAI/Python 1.51.0", "voxctl/0.1", "node-ws/8.18", "curl/7.88.1"};

  Random rng(seed);
  const uint64_t limit = static_cast<uint64_t>(size_mb * 1e6);
  const int64_t t0 = 1796083200LL * 1000000;  // 2026-12-01T00:00:00Z
  // The burst and the drift start when a third and three quarters of the size are written, so
  // they are there whatever the size and form.
  constexpr int64_t kNever = INT64_MAX / 2;
  int64_t burst_start = kNever, drift_start = kNever;
  double t = 0;
  uint64_t written = 0, n = 0;
  const bool gcloud = format == "gcloud";
  if (gcloud) written += std::fwrite("[\n", 1, 2, out);

  const auto emit = [&](nlohmann::json line) {
    std::string text = gcloud ? ToLogEntry(std::move(line), rng).dump(2) : line.dump();
    if (gcloud && n > 0) text.insert(0, ",\n");
    if (!gcloud) text += '\n';
    written += std::fwrite(text.data(), 1, text.size(), out);
    ++n;
  };

  while (written < limit) {
    t += rng.Exponential(1 / rate);
    const int64_t now = t0 + static_cast<int64_t>(t * 1e6);
    const std::string time = Rfc3339(now);
    if (burst_start == kNever && written >= limit / 3) burst_start = now;
    if (drift_start == kNever && written >= limit / 4 * 3) drift_start = now;
    const bool in_burst = now >= burst_start && now < burst_start + 180 * 1000000LL;

    // Events between requests: health changes, and the burst's alarms.
    if (rng.Chance(0.002)) {
      const Pool& pool = pools[rng.Pick(pools.size())];
      const bool down = rng.Chance(0.5);
      emit({{"severity", down ? "WARNING" : "INFO"},
            {"message", down ? "engine unreachable; marking unhealthy" : "engine healthy again"},
            {"time", time},
            {"event", down ? "engine_unhealthy" : "engine_healthy"},
            {"pool", pool.name},
            {"engine", pool.engines[rng.Pick(pool.engines.size())]},
            {"logging.googleapis.com/labels", {{"tier", "all-in-one"}, {"module", "pool"}}}});
    }
    if (in_burst && rng.Chance(0.05)) {
      emit({{"severity", "CRITICAL"},
            {"message", "pool asr-es has no healthy engine"},
            {"time", time},
            {"pool", "asr-es"},
            {"event", "pool_no_healthy_engine"},
            {"logging.googleapis.com/labels", {{"tier", "all-in-one"}, {"module", "pool"}}},
            {"logging.googleapis.com/sourceLocation", {{"file", "src/pool/pool.cc"}, {"line", "412"}, {"function", "Pool::CheckHealth"}}}});
    }

    double pick = rng.Uniform();
    size_t r = 0;
    while (r + 1 < routes.size() && pick >= routes[r].share) pick -= routes[r++].share;
    const Route& route = routes[r];
    const Pool& pool = pools[route.pool];
    const size_t engine_index = rng.Pick(pool.engines.size());
    const std::string& engine = pool.engines[engine_index];
    const bool stream = route.message == "stream";

    int status = stream ? 101 : 200;
    std::string outcome = "ok", error_code, error;
    if (in_burst && route.pool == 1 && rng.Chance(0.33)) {
      status = 503, outcome = "server_error", error_code = "unavailable", error = "engine unavailable: connection refused";
    } else if (rng.Chance(0.005)) {
      status = rng.Chance(0.7) ? 503 : 500;
      outcome = "server_error";
      error_code = status == 503 ? "unavailable" : "internal";
      error = status == 503 ? "no healthy engine for the route" : "engine failed: decoder error";
    } else if (rng.Chance(0.02)) {
      status = rng.Chance(0.6) ? 400 : 429;
      outcome = "client_error";
      error_code = status == 400 ? "invalid_argument" : "resource_exhausted";
      error = status == 400 ? "unsupported audio format" : "plan's rate limit reached";
    } else if (stream && rng.Chance(0.01)) {
      outcome = "client_gone";
    }

    const double audio = route.service == "mt" ? 0 : Micro(rng.LogNormal(stream ? 12 : 6, 0.6));
    double rtf = route.service == "asr" ? rng.LogNormal(0.18, 0.15) : route.service == "tts" ? rng.LogNormal(0.004, 0.2) : 0;
    if (route.pool == 0 && engine_index == 2 && now >= drift_start) rtf *= 2.5;
    const double queue = rng.Chance(0.8) ? 0 : Micro(rng.Exponential(0.05));
    const double engine_s = route.service == "mt" ? Micro(rng.LogNormal(0.004, 0.5)) : Micro(audio * rtf);
    double latency = stream ? audio + Micro(rng.LogNormal(0.3, 0.3)) : queue + engine_s + Micro(rng.LogNormal(0.003, 0.5));
    if (outcome == "client_error") latency = Micro(rng.LogNormal(0.001, 0.3));
    latency = Micro(latency);

    nlohmann::json line = {
        {"severity", outcome == "server_error" ? "ERROR" : outcome == "client_error" ? "WARNING" : "INFO"},
        {"message", route.message},
        {"time", time},
        {"logging.googleapis.com/labels", {{"tier", "all-in-one"}, {"module", "gateway"}}},
        {"logging.googleapis.com/trace", "projects/voxgate-prod/traces/" + rng.Hex(32)},
        {"logging.googleapis.com/spanId", rng.Hex(16)},
        {"logging.googleapis.com/trace_sampled", rng.Chance(0.1)},
        {"httpRequest",
         {{"requestMethod", stream ? "GET" : "POST"},
          {"requestUrl", route.path},
          {"status", status},
          {"latency", Latency(latency)},
          {"requestSize", std::to_string(static_cast<int64_t>(audio * 32000) + 512)},
          {"responseSize", std::to_string(200 + rng.Pick(2000))},
          {"remoteIp", "10.2." + std::to_string(rng.Pick(256)) + "." + std::to_string(rng.Pick(256))},
          {"userAgent", agents[rng.Pick(agents.size())]}}},
        {"route", route.path},
        {"service", route.service},
        {"outcome", outcome},
        {"request_id", rng.Hex(16)},
        {"language", pool.language},
        {"hops", {{"endpoint_s", latency}}}};
    if (outcome != "client_error") {
      line["pool"] = pool.name;
      line["engine"] = engine;
      line["model_version"] = pool.name + "-2026.11";
      line["hops"]["queue_s"] = queue;
      line["hops"]["engine_s"] = engine_s;
      if (audio > 0) {
        line["audio_seconds"] = audio;
        line["rtf"] = Micro(rtf);
      }
      if (stream) {
        line["first_partial_s"] = Micro(rng.LogNormal(0.25, 0.3));
        line["final_latency_s"] = Micro(rng.LogNormal(0.35, 0.3));
      }
    }
    if (!error_code.empty()) {
      line["error_code"] = error_code;
      line["error"] = error;
    }
    if (outcome == "server_error") {
      line["logging.googleapis.com/sourceLocation"] = {{"file", "src/gateway/server.cc"}, {"line", "112"}, {"function", "LogAccess"}};
    }
    emit(std::move(line));
  }
  if (gcloud) std::fwrite("\n]\n", 1, 3, out);
  if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
    std::perror(output.c_str());
    return 1;
  }
  std::fprintf(stderr, "%llu lines, %.1f MB, %s .. %s; burst from %s, drift from %s\n",
               static_cast<unsigned long long>(n), static_cast<double>(written) / 1e6, Rfc3339(t0).c_str(),
               Rfc3339(t0 + static_cast<int64_t>(t * 1e6)).c_str(), burst_start == kNever ? "-" : Rfc3339(burst_start).c_str(),
               drift_start == kNever ? "-" : Rfc3339(drift_start).c_str());
  return 0;
}
