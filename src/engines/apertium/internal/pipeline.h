// One persistent apertium pipeline (about 13 processes, ~200 MB) for one language pair. Starting
// apertium per request costs ~124 ms; a warm pipeline fed with null-flush (-z) answers a sentence
// in ~2 ms. Not thread-safe: one caller at a time (the engine gives each pipeline one worker).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace voxgate::engines::apertium::internal {

class Pipeline {
 public:
  // `mode_file`: e.g. /usr/share/apertium/modes/eng-spa.mode.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Start(const std::string& mode_file);
  ~Pipeline();

  // Translates one line of plain text (no newline). On DEADLINE_EXCEEDED or INTERNAL the pipeline
  // is dead (hung or crashed) and was killed: start another.
  absl::StatusOr<std::string> TranslateLine(std::string_view line, std::chrono::steady_clock::time_point deadline);
  bool alive() const { return pid_ > 0; }

 private:
  Pipeline() = default;
  void Kill();

  pid_t pid_ = -1;  // the shell that runs the pipeline; leader of its process group
  int to_ = -1;     // its stdin
  int from_ = -1;   // its stdout
  std::string pending_;  // read past the end of the last reply (normally nothing)
};

// Apertium's stream format reserves these characters; plain text escapes them with a backslash.
std::string EscapeForApertium(std::string_view text);
std::string UnescapeFromApertium(std::string_view text);

}  // namespace voxgate::engines::apertium::internal
