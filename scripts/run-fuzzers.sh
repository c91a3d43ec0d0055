#!/usr/bin/env bash
# Runs every libFuzzer target in DIR for SECONDS each; fails on the first crash.
set -euo pipefail
dir=$1
seconds=${2:-30}
shopt -s nullglob
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz/lsan.supp:print_suppressions=0"
fuzzers=("$dir"/*_fuzzer)
[ ${#fuzzers[@]} -gt 0 ] || { echo "no fuzz targets in $dir" >&2; exit 1; }
for f in "${fuzzers[@]}"; do
  corpus=$(mktemp -d)
  echo "== $(basename "$f") for ${seconds}s"
  "$f" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 3
  rm -rf "$corpus"
done
echo "fuzzing: ${#fuzzers[@]} targets, no crash"
