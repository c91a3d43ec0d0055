#!/usr/bin/env bash
# Measures what each tier of a split deployment uses under load, for the Kubernetes requests and
# limits (docs/BENCHMARKS.md, "Per-tier resource use"). Runs the tiers from BIN (default
# build/bin) on this machine with the manifests' own configs (deploy/kubernetes/base/config, the
# Service addresses set to 127.0.0.1 and ports 17001-17005 so nothing else collides), drives
# speech recognition streams with `voxctl bench` plus translations and syntheses, and prints per
# process: peak RSS (VmHWM), CPU seconds (utime+stime) idle and under load.
#
#   deploy/kubernetes/measure-resources.sh [BIN] [STREAMS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/bin}
STREAMS=${2:-4}     # concurrent recognition streams (the engine's --capacity is 4)
ROUNDS=${3:-3}      # bench rounds of a ~25 s recording each
dir=$(mktemp -d /tmp/voxgate-measure-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

# The configs' ${VOXGATE_*_ADDRESS}s, as the Deployments set them but on loopback; dns: becomes
# address: (one engine each, no lookups).
export VOXGATE_ROUTER_ADDRESS=127.0.0.1:17001 VOXGATE_POOL_ADDRESS=127.0.0.1:17002 \
  VOXGATE_POCKETSPHINX_ADDRESS=127.0.0.1:17003 VOXGATE_APERTIUM_ADDRESS=127.0.0.1:17004 \
  VOXGATE_ESPEAK_ADDRESS=127.0.0.1:17005
for t in endpoint router pool; do
  sed -E 's/\{dns: /{address: /' deploy/kubernetes/base/config/$t.yaml >"$dir/$t.yaml"
done

start() {  # name, argv...
  local name=$1; shift
  "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
}
start pocketsphinx "$BIN/voxgate-engine-pocketsphinx" --listen 127.0.0.1:17003 --admin 127.0.0.1:19093 --capacity 4
start apertium "$BIN/voxgate-engine-apertium" --listen 127.0.0.1:17004 --admin 127.0.0.1:19094
start espeak "$BIN/voxgate-engine-espeak" --listen 127.0.0.1:17005 --admin 127.0.0.1:19095
start pool "$BIN/voxgate" pool --config "$dir/pool.yaml" --listen 127.0.0.1:17002 --admin 127.0.0.1:19092
start router "$BIN/voxgate" router --config "$dir/router.yaml" --listen 127.0.0.1:17001 --admin 127.0.0.1:19091
start endpoint "$BIN/voxgate" endpoint --config "$dir/endpoint.yaml" --listen 127.0.0.1:18080 --admin 127.0.0.1:19090
names=(endpoint router pool pocketsphinx apertium espeak)

for _ in $(seq 1 120); do
  curl -sf http://127.0.0.1:19090/readyz >/dev/null && break
  sleep 0.5
done
curl -sf http://127.0.0.1:19090/readyz >/dev/null || { echo "endpoint never became ready"; tail -n 3 "$dir"/*.log; exit 1; }

cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }  # USER_HZ is 100 on Linux
hwm() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
declare -A idle_cpu
for n in "${names[@]}"; do p="pid_$n"; idle_cpu[$n]=$(cpu "${!p}"); done

# ~28 s of real speech: the five LibriVox clips with 0.7 s of silence after each (as people pause).
clips=()
for f in /usr/share/pocketsphinx/test/data/librivox/*.wav; do
  sox "$f" "$dir/$(basename "$f")" pad 0 0.7
  clips+=("$dir/$(basename "$f")")
done
sox "${clips[@]}" "$dir/speech.wav"

# Memory of each process with its children (apertium's pipelines are child processes; a
# container's memory limit counts them all): the largest sum of VmRSS seen, sampled every 0.5 s.
tree_rss() {  # pid -> KiB of the process and its descendants now
  ps -eo pid=,ppid=,rss= | awk -v root="$1" '{ parent[$1] = $2; rss[$1] = $3 }
    END { for (p in rss) { q = p; while (q != "" && q != root && q != 1 && q != 0) q = parent[q]; if (q == root) sum += rss[p] } print sum + 0 }'
}
(
  declare -A peak
  while :; do
    for n in "${names[@]}"; do
      p="pid_$n"; r=$(tree_rss "${!p}")
      [ "${r:-0}" -gt "${peak[$n]:-0}" ] && peak[$n]=$r
    done
    for n in "${names[@]}"; do echo "$n ${peak[$n]:-0}"; done >"$dir/tree_peak.tmp" && mv "$dir/tree_peak.tmp" "$dir/tree_peak"
    sleep 0.5
  done
) &
sampler=$!
pids+=("$sampler")
start_s=$(date +%s.%N)
# Translations and syntheses in the background while the streams run.
(
  ok=0
  for i in $(seq 1 40); do
    curl -sf -o /dev/null -d '{"text": "Good morning, how are you today? The weather is fine.", "source": "en", "target": "es"}' \
      http://127.0.0.1:18080/v1/translate && ok=$((ok + 1))
    curl -sf -o /dev/null -d '{"model": "tts-1", "input": "Good morning, how are you today? The weather is fine.", "voice": "alloy"}' \
      http://127.0.0.1:18080/v1/audio/speech && ok=$((ok + 1))
    sleep 0.5
  done
  echo "translations and syntheses answered 2xx: $ok of 80"
) &
side=$!
for _ in $(seq 1 "$ROUNDS"); do
  "$BIN/voxctl" --server http://127.0.0.1:18080 bench --streams "$STREAMS" "$dir/speech.wav" | tail -n 3
done
wait "$side"
wall=$(echo "$(date +%s.%N) - $start_s" | bc)

printf '\nload: %s streams x %s rounds of %s s audio, translations and syntheses, %.0f s wall\n' \
  "$STREAMS" "$ROUNDS" "$(soxi -D "$dir/speech.wav")" "$wall"
printf '%-14s %10s %16s %14s %14s %12s\n' process peak_rss_MiB tree_peak_rss_MiB cpu_s_at_idle cpu_s_of_load mean_cores
for n in "${names[@]}"; do
  p="pid_$n"
  now=$(cpu "${!p}")
  load=$(echo "$now - ${idle_cpu[$n]}" | bc)
  tree=$(awk -v n="$n" '$1 == n {printf "%.0f", $2 / 1024}' "$dir/tree_peak")
  printf '%-14s %10s %16s %14s %14s %12.3f\n' "$n" "$(hwm "${!p}")" "$tree" "${idle_cpu[$n]}" "$load" "$(echo "$load / $wall" | bc -l)"
done
