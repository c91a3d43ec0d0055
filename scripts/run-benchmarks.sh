#!/usr/bin/env bash
# make bench: the benchmarks recorded in docs/BENCHMARKS.md.
#  1. platform overhead: real-time factor of the full path vs the engine in-process, interleaved;
#  2. load: N concurrent real-time streams (voxctl bench) against one engine process; final-result
#     latency after end of speech, and engine memory per stream;
#  3. failover time: a stream's engine killed, until its next result (bench/failover_time.mjs);
#  4. per-hop overhead: split tiers vs all-in-one in front of an instant engine (bench/per_hop_overhead.mjs);
#  5. translation throughput: warm apertium pipelines vs apertium spawned per sentence;
#  6. synthesis speed and time to first audio: full stack vs espeak-ng called directly;
#  7. log analysis: voxctl logs analyze on a generated log (LOG_MB, default 1000), both forms;
#  8. logging overhead: short streams with logging at INFO vs off (bench/logging_overhead.mjs);
#  9. upload memory: the endpoint's peak RSS transcribing hour-long uploads vs decoding one whole
#     (bench/upload_memory.mjs).
# SKIP_OVERHEAD=1 / SKIP_LOAD=1 leave parts out.
set -euo pipefail
build=${1:-build}
bin=$build/bin
librivox=/usr/share/pocketsphinx/test/data/librivox

if [ -z "${SKIP_OVERHEAD:-}" ]; then
echo "== platform overhead (5 repetitions, random interleaving)"
"$bin/platform_overhead_bench" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true
fi

if [ -z "${SKIP_LOAD:-}" ]; then
echo "== load: concurrent real-time streams"
capacity=${CAPACITY:-12}
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
# Every stream sends the five LibriVox clips with 1.5 s of silence after each: five utterances,
# five final results, 31 s of audio.
for f in "$librivox"/*.wav; do sox "$f" "$dir/$(basename "$f")" pad 0 1.5; done
sox "$dir"/sense*.wav "$dir/five-utterances.wav"
clip=$dir/five-utterances.wav
cat > "$dir/voxgate.yaml" <<YAML
limits: {idle_timeout_seconds: 120}
pools:
  - name: asr
    languages: [en-US]
    engines: [{engine: pocketsphinx, capacity: $capacity}]
YAML
"$bin/voxgate" serve --config "$dir/voxgate.yaml" --listen 127.0.0.1:0 --admin 127.0.0.1:0 > "$dir/log" &
server=$!
until grep -q '"voxgate listening"' "$dir/log"; do sleep 0.1; done
url=http://$(grep '"voxgate listening"' "$dir/log" | sed 's/.*"listen":"\([^"]*\)".*/\1/')
admin=http://$(grep '"voxgate listening"' "$dir/log" | sed 's/.*"admin":"\([^"]*\)".*/\1/')
until curl -sf "$admin/readyz" > /dev/null; do sleep 0.2; done
engine=$(pgrep -P "$server" | head -1)
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "engine RSS loaded, idle: $(( $(rss "$engine") / 1024 )) MiB for $capacity decoders"
for n in ${STREAMS:-1 4 6 8 10}; do
  echo -n "streams=$n: "
  "$bin/voxctl" --server "$url" bench "$clip" --streams "$n"
done
echo "engine RSS after load: $(( $(rss "$engine") / 1024 )) MiB; gateway RSS: $(( $(rss "$server") / 1024 )) MiB"
kill $server 2>/dev/null; wait $server 2>/dev/null || true
fi

echo "== failover time (SIGKILL of a stream's engine -> its next result, from another engine)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/failover_time.mjs" "${FAILOVER_TRIALS:-5}"

echo "== per-hop overhead (split tiers vs all-in-one, instant engine)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/per_hop_overhead.mjs" 8 250 3

echo "== translation throughput (warm pipelines vs apertium per sentence)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/translation_throughput.mjs" 3

echo "== synthesis speed (full stack vs espeak-ng directly)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/synthesis_speed.mjs" 7

echo "== streamed transcription (stream=true: first delta of a long file, beside the whole without stream)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/transcription_first_delta.mjs" 8

echo "== log analysis (voxctl logs analyze on a generated ${LOG_MB:-1000} MB log; GNU time for peak RSS)"
logs=$(mktemp -d)
for form in lines gcloud; do
  "$bin/voxgate-bench-generate-logs" --size-mb "${LOG_MB:-1000}" --format $form -o "$logs/log" 2> /dev/null
  bytes=$(stat -c %s "$logs/log")
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$logs/time" "$bin/voxctl" logs analyze "$logs/log" --format json --no-progress > "$logs/report.json"
    read -r seconds rss_kb < "$logs/time"
    awk -v form=$form -v b="$bytes" -v s="$seconds" -v kb="$rss_kb" \
      'BEGIN {printf "%s: %.0f MB in %.2f s = %.0f MB/s, peak RSS %.1f MiB\n", form, b / 1e6, s, b / 1e6 / s, kb / 1024}'
  done
done
rm -rf "$logs"

echo "== logging overhead (INFO vs off, short streams, instant engine)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/logging_overhead.mjs" 8 50 10 12

echo "== upload memory (an hour of audio in a 0.6 MB FLAC: endpoint peak RSS vs decoding it whole)"
VOXGATE_BIN_DIR=$(cd "$bin" && pwd) node "$(dirname "$0")/../bench/upload_memory.mjs" 4
