#!/usr/bin/env bash
# The container images, as `make images` builds them (scripts/build-images.sh): built, checked
# (labels, user, exec-form entrypoint, no shell, every shared library found by the image's own
# loader, a copyright file for every package), and run hardened as on Kubernetes (read-only
# root, uid 65532, no capabilities, no-new-privileges) with podman on loopback.
#   asr (default): the gateway and pocketsphinx images; an engine container, a `voxgate pool`
#     and a `voxgate endpoint` container in front of it; a recorded clip is transcribed through
#     the endpoint's HTTP API with curl, and with voxctl from the gateway image.
#   mt-tts: the gateway, apertium and espeak images; an endpoint container in front of both
#     engine containers translates and synthesizes.
# Usage: images_test.sh BUILD_DIR [asr|mt-tts]. Exits 77 (ctest: skipped) only where podman
# cannot run containers at all, saying why (podman's own error included), and not even then
# where containers are required: with CI set (CI=true, as CI services set it) or
# VOXGATE_REQUIRE_CONTAINERS=1 it fails instead (VOXGATE_REQUIRE_CONTAINERS=0: skip even on CI).
# The images are built with the tag `test` and no other tag (VOXGATE_IMAGE_TAG=test
# VOXGATE_IMAGE_EXTRA_TAGS=), so a developer's latest, dev and describe-tagged images are never
# replaced; the test image a run replaces is removed.
set -euo pipefail
build_dir=$(cd "${1:?usage: $0 BUILD_DIR [asr|mt-tts]}" && pwd)
mode=${2:-asr}
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/podman-flags.sh
source "$root/scripts/podman-flags.sh"
clip=/usr/share/pocketsphinx/test/data/goforward.raw
expected="go forward ten meters"

# Containers are required (a skip would hide that the images were never tested): CI, or asked.
required() {
  [ "${VOXGATE_REQUIRE_CONTAINERS:-}" = 1 ] && return 0
  [ "${VOXGATE_REQUIRE_CONTAINERS:-}" != 0 ] && [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]
}
skip() {
  if required; then
    echo "FAIL: $* (containers are required here: CI='${CI:-}', VOXGATE_REQUIRE_CONTAINERS='${VOXGATE_REQUIRE_CONTAINERS:-}')" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '\n--- %s\n' "$*"; }

# ---- can this machine run containers at all? -------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root: the images are built with mmdebstrap as root and run with rootful podman"
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh installs it)"
done
if ! info=$("${PODMAN[@]}" info 2>&1); then
  printf '%s\n' "${PODMAN[*]} info failed:" "$info" >&2
  skip "podman cannot run here: $(tail -n 3 <<<"$info" | tr '\n' ' ')"
fi
if ! ns=$(unshare --mount --pid --net --uts --ipc --fork true 2>&1); then
  printf '%s\n' "unshare --mount --pid --net --uts --ipc --fork true failed:" "$ns" >&2
  skip "no namespaces for containers here: $ns"
fi
for tool in curl sox soxi; do command -v "$tool" >/dev/null || fail "$tool is needed (scripts/install-deps.sh)"; done

# ---- everything this test starts goes, whatever happens -------------------------------------
run_id="vxit-$$"
containers=()
mounts=()
tmp=$(mktemp -d)
cleanup() {
  local c m
  for c in "${containers[@]}"; do "${PODMAN[@]}" rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
  for m in "${mounts[@]}"; do "${PODMAN[@]}" image unmount "$m" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# Containers of an earlier run that was killed outright (ctest's timeout) go first.
for c in $("${PODMAN[@]}" ps -a --filter label=io.voxgate.test=images_test --format '{{.Names}}'); do
  pid=$("${PODMAN[@]}" inspect --format '{{index .Config.Labels "io.voxgate.test.pid"}}' "$c" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { echo "removing $c, left by an earlier run"; "${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1 || true; }
done

# ---- build ----------------------------------------------------------------------------------
# Never a developer's tags: only `test`, replaced by each run.
tag="test"
describe=$(git -C "$root" describe --always 2>/dev/null || true)
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
gateway="localhost/voxgate-gateway:$tag"
# "IMAGE TITLE BINARY..." for each image this mode uses.
case "$mode" in
  asr)
    names=(gateway engine-pocketsphinx)
    images=("$gateway voxgate-gateway /usr/bin/voxgate /usr/bin/voxctl"
            "localhost/voxgate-engine-pocketsphinx:$tag voxgate-engine-pocketsphinx /usr/bin/voxgate-engine-pocketsphinx") ;;
  mt-tts)
    names=(gateway engine-apertium engine-espeak)
    images=("$gateway voxgate-gateway /usr/bin/voxgate"
            "localhost/voxgate-engine-apertium:$tag voxgate-engine-apertium /usr/bin/voxgate-engine-apertium"
            "localhost/voxgate-engine-espeak:$tag voxgate-engine-espeak /usr/bin/voxgate-engine-espeak") ;;
  *) fail "unknown mode '$mode' (asr, mt-tts)" ;;
esac
step "scripts/build-images.sh $build_dir ${names[*]} (tag $tag, no other tags)"
declare -A before_ids
for name in "${names[@]}"; do
  before_ids[$name]=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "localhost/voxgate-$name:$tag" 2>/dev/null || true)
done
# The other tags of these images (a developer's latest, dev, describe names), to compare after.
other_tags() {
  local name
  for name in "${names[@]}"; do
    "${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Id}}' --filter "reference=localhost/voxgate-$name"
  done | grep -v ":$tag " | sort || true
}
before_tags=$(other_tags)
t0=$(date +%s.%N)
VOXGATE_IMAGE_TAG=$tag VOXGATE_IMAGE_EXTRA_TAGS="" VOXGATE_IMAGE_KEEP=0 "$root/scripts/build-images.sh" "$build_dir" "${names[@]}" ||
  fail "scripts/build-images.sh failed"
build_seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
# The test image a rebuild replaced goes (unless something else still names it).
for name in "${names[@]}"; do
  old=${before_ids[$name]}
  now=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "localhost/voxgate-$name:$tag")
  if [ -n "$old" ] && [ "$old" != "$now" ] && "${PODMAN[@]}" image exists "$old" &&
      [ "$("${PODMAN[@]}" image inspect --format '{{len .RepoTags}}' "$old")" = 0 ]; then
    echo "removing the replaced test image ${old:0:12} of voxgate-$name"
    "${PODMAN[@]}" rmi "$old" >/dev/null 2>&1 || true
  fi
  ! "${PODMAN[@]}" image exists "$old" || [ "$old" = "$now" ] || [ "$("${PODMAN[@]}" image inspect --format '{{len .RepoTags}}' "$old")" != 0 ] ||
    fail "the replaced test image ${old:0:12} of voxgate-$name is still there"
done
# Every other tag names the image it named before: the build tagged nothing but :$tag.
after_tags=$(other_tags)
[ "$before_tags" = "$after_tags" ] ||
  fail "building the test images changed other tags:$(diff <(echo "$before_tags") <(echo "$after_tags") | grep '^[<>]' | tr '\n' ' ')"

# ---- what the images say about themselves ---------------------------------------------------
step "image metadata"
for entry in "${images[@]}"; do
  read -r image title entrypoint _ <<<"$entry"
  got=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{index .Config.Labels "org.opencontainers.image.title"}}|{{index .Config.Labels "org.opencontainers.image.revision"}}|{{index .Config.Labels "org.opencontainers.image.version"}}|{{index .Config.Labels "org.opencontainers.image.licenses"}}' "$image")
  IFS='|' read -r user ep label_title label_revision label_version label_licenses <<<"$got"
  [ "$user" = "65532:65532" ] || fail "$image runs as '$user', not 65532:65532"
  [ "$ep" = "[\"$entrypoint\"]" ] || fail "$image: entrypoint $ep, expected the exec form [\"$entrypoint\"]"
  [ "$label_title" = "$title" ] || fail "$image: title label '$label_title'"
  [ "$label_revision" = "$revision" ] || fail "$image: revision label '$label_revision', expected $revision"
  [[ $label_version == *"$describe"* ]] || fail "$image: version label '$label_version' does not name $describe (git describe)"
  [ -n "$label_licenses" ] || fail "$image: no licenses label"
  echo "$image: user $user, entrypoint $ep, version $label_version, licenses $label_licenses"
done

step "image contents: every library found, a copyright file for every package, a shell only for apertium"
for entry in "${images[@]}"; do
  read -r image title binaries <<<"$entry"
  m=$("${PODMAN[@]}" image mount "$image")
  mounts+=("$image")
  if [ "$title" = voxgate-engine-apertium ]; then
    # The engine runs apertium's pipelines with /bin/bash -c: the one image with a shell.
    [ -x "$m/usr/bin/bash" ] || fail "$image lacks /bin/bash, which runs apertium's pipelines"
  else
    if out=$("${PODMAN[@]}" run --rm "${PODMAN_RUN_LIMITS[@]}" "${PODMAN_RUN_HARDENING[@]}" --network none \
        --entrypoint /bin/sh "$image" -c 'echo shell' 2>&1); then
      fail "$image has a shell: $out"
    fi
    grep -q -E 'no such file|not found' <<<"$out" || fail "$image: /bin/sh failed, but not for want of a shell: $out"
    for sh in bin/sh bin/bash bin/dash; do [ ! -e "$m/$sh" ] || fail "$image contains /$sh"; done
  fi
  for b in $binaries; do
    # The image's own loader (ldd is a shell script): "not found" or a library it cannot open fails.
    out=$("${PODMAN[@]}" run --rm "${PODMAN_RUN_LIMITS[@]}" "${PODMAN_RUN_HARDENING[@]}" --network none \
      --entrypoint /usr/lib64/ld-linux-x86-64.so.2 "$image" --list "$b" 2>&1) || fail "$image: the loader cannot load $b: $out"
    ! grep -q 'not found' <<<"$out" || fail "$image: $b: $(grep 'not found' <<<"$out")"
    echo "$image: $b loads its $(grep -c '=>' <<<"$out") libraries"
  done
  packages=$(sed -n 's/^Package: //p' "$m/var/lib/dpkg/status")
  [ -n "$packages" ] || fail "$image: no packages in /var/lib/dpkg/status"
  for p in $packages; do [ -s "$m/usr/share/doc/$p/copyright" ] || fail "$image: package $p without /usr/share/doc/$p/copyright"; done
  # Models and libraries are readable by the voxgate user (nothing is only root's).
  unreadable=$(find "$m/usr" ! -type l ! -perm -o+r -print -quit)
  [ -z "$unreadable" ] || fail "$image: ${unreadable#"$m"} is not readable by uid 65532"
  case "$title" in
    voxgate-engine-pocketsphinx) data=usr/share/pocketsphinx/model/en-us/en-us.lm.bin ;;
    voxgate-engine-apertium) data=usr/share/apertium/modes/eng-spa.mode ;;
    voxgate-engine-espeak) data=usr/lib/x86_64-linux-gnu/espeak-ng-data/phontab ;;
    *) data=etc/ssl/certs/ca-certificates.crt ;;
  esac
  [ -s "$m/$data" ] || fail "$image lacks /$data"
  echo "$image: $(wc -w <<<"$packages") packages, each with its copyright file; /$data"
done

# ---- run them as on Kubernetes ----------------------------------------------------------------
run=(run -d --network host "${PODMAN_RUN_LIMITS[@]}" "${PODMAN_RUN_HARDENING[@]}"
  --label io.voxgate.test=images_test --label "io.voxgate.test.pid=$$")
# start NAME ARGS...: a hardened container of this test, named $run_id-NAME.
start() {
  local name="$run_id-$1"
  shift
  containers+=("$name")
  "${PODMAN[@]}" "${run[@]}" --name "$name" "$@" >/dev/null
}
# listen_address CONTAINER MESSAGE [FIELD]: FIELD (listen) of the container's MESSAGE log line.
listen_address() {
  local address field=${3:-listen}
  for _ in $(seq 1 150); do
    address=$("${PODMAN[@]}" logs "$1" 2>&1 | grep -F "\"message\":\"$2\"" | sed -n "s/.*\"$field\":\"\\([^\"]*\\)\".*/\\1/p" | head -n1)
    [ -n "$address" ] && { echo "$address"; return 0; }
    [ "$("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$1")" = true ] || break
    sleep 0.2
  done
  "${PODMAN[@]}" logs "$1" >&2 || true
  fail "$1 did not log '$2' within 30 s"
}
# wait_ready ADMIN: /readyz answers 200 (the tier sees a healthy upstream) within 30 s.
wait_ready() {
  local code=""
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://$1/readyz" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  "${PODMAN[@]}" logs "$run_id-endpoint" 2>&1 | tail -n 20 >&2
  fail "http://$1/readyz answered '$code', not 200, within 30 s"
}
check_hardened() {
  local c got uid
  for c in "${containers[@]}"; do
    got=$("${PODMAN[@]}" inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapDrop}}' "$c")
    [[ $got == "65532:65532 true "* ]] || fail "$c: user/read-only/capabilities: $got"
    uid=$("${PODMAN[@]}" top "$c" huser | tail -n +2 | sort -u | tr -d ' ')
    [ "$uid" = 65532 ] || fail "$c: processes run as host uid '$uid', not 65532"
  done
  echo "${#containers[@]} containers, each running as uid 65532 on a read-only root without capabilities"
}
stop_all() {
  local c code
  step "SIGTERM: every container drains and exits 0"
  for c in "${containers[@]}"; do
    "${PODMAN[@]}" stop -t 20 "$c" >/dev/null
    code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$c")
    [ "$code" = 0 ] || { "${PODMAN[@]}" logs "$c" 2>&1 | tail -n 5 >&2; fail "$c exited $code"; }
  done
}
start_endpoint() {
  start endpoint -v "$tmp/endpoint.yaml:/etc/voxgate/endpoint.yaml:ro" \
    "$gateway" endpoint --config /etc/voxgate/endpoint.yaml --listen 127.0.0.1:0 --admin 127.0.0.1:0
  endpoint_address=$(listen_address "$run_id-endpoint" "voxgate listening")
  endpoint_admin=$(listen_address "$run_id-endpoint" "voxgate listening" admin)
  echo "endpoint: $endpoint_address (admin $endpoint_admin)"
}

if [ "$mode" = asr ]; then
  step "engine, pool and endpoint containers (host network, loopback, free ports)"
  start engine "localhost/voxgate-engine-pocketsphinx:$tag" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --capacity 1
  engine_address=$(listen_address "$run_id-engine" "engine serving")
  echo "engine: $engine_address"
  printf '%s\n' "pools:" "  - {name: asr-en, languages: [en-US], health_check: {interval_seconds: 1, timeout_seconds: 1}," \
    "     engines: [{address: \"$engine_address\"}]}" >"$tmp/pool.yaml"
  start pool -v "$tmp/pool.yaml:/etc/voxgate/pool.yaml:ro" \
    "$gateway" pool --config /etc/voxgate/pool.yaml --listen 127.0.0.1:0 --admin 127.0.0.1:0
  pool_address=$(listen_address "$run_id-pool" "voxgate listening")
  echo "pool: $pool_address"
  printf '%s\n' "pools:" "  - {name: pools, languages: [en-US], health_check: {interval_seconds: 1, timeout_seconds: 1}," \
    "     engines: [{address: \"$pool_address\"}]}" >"$tmp/endpoint.yaml"
  start_endpoint
  check_hardened
  wait_ready "$endpoint_admin"

  step "transcription through the endpoint's HTTP API"
  sox -t raw -r 16000 -e signed -b 16 -c 1 "$clip" "$tmp/goforward.wav"
  response=$(curl -sS --max-time 60 -F "file=@$tmp/goforward.wav" -F model=whisper-1 \
    "http://$endpoint_address/v1/audio/transcriptions") || fail "POST /v1/audio/transcriptions failed"
  echo "POST /v1/audio/transcriptions: $response"
  text=$(sed -n 's/.*"text":"\([^"]*\)".*/\1/p' <<<"$response")
  [ "$text" = "$expected" ] || fail "transcript '$text', expected '$expected'"

  step "voxctl from the gateway image"
  out=$("${PODMAN[@]}" run --rm --network host "${PODMAN_RUN_LIMITS[@]}" "${PODMAN_RUN_HARDENING[@]}" \
    -v "$tmp/goforward.wav:/data/goforward.wav:ro" --entrypoint /usr/bin/voxctl "$gateway" \
    --server "http://$endpoint_address" transcribe /data/goforward.wav 2>&1) || fail "voxctl transcribe failed: $out"
  echo "voxctl transcribe: $out"
  grep -qF "$expected" <<<"$out" || fail "voxctl printed '$out', expected '$expected'"
  stop_all
  printf '\nPASS: images built (or found up to date) in %.1f s; "%s" through engine, pool and endpoint containers\n' \
    "$build_seconds" "$text"
fi

if [ "$mode" = mt-tts ]; then
  step "apertium, espeak and endpoint containers (host network, loopback, free ports)"
  start apertium "localhost/voxgate-engine-apertium:$tag" --listen 127.0.0.1:0 --admin 127.0.0.1:0
  start espeak "localhost/voxgate-engine-espeak:$tag" --listen 127.0.0.1:0 --admin 127.0.0.1:0
  mt_address=$(listen_address "$run_id-apertium" "engine serving")
  tts_address=$(listen_address "$run_id-espeak" "engine serving")
  echo "apertium: $mt_address, espeak: $tts_address"
  checks='health_check: {interval_seconds: 1, timeout_seconds: 1}'
  printf '%s\n' "pools:" \
    "  - {name: mt, service: mt, languages: [en, es], $checks, engines: [{address: \"$mt_address\"}]}" \
    "  - {name: tts, service: tts, languages: [\"*\"], $checks, engines: [{address: \"$tts_address\"}]}" >"$tmp/endpoint.yaml"
  start_endpoint
  check_hardened
  wait_ready "$endpoint_admin"

  step "translation (apertium's pipeline, run by bash in the engine container)"
  response=$(curl -sS --max-time 30 -d '{"text": "Good morning.", "source": "en", "target": "es"}' \
    "http://$endpoint_address/v1/translate") || fail "POST /v1/translate failed"
  echo "POST /v1/translate: $response"
  grep -qF '"text":"Buenos días."' <<<"$response" || fail "expected \"Buenos días.\""

  step "speech synthesis"
  code=$(curl -sS --max-time 30 -o "$tmp/speech.wav" -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"model": "tts-1", "input": "The images work.", "voice": "alloy", "response_format": "wav"}' \
    "http://$endpoint_address/v1/audio/speech") || fail "POST /v1/audio/speech failed"
  [ "$code" = 200 ] || fail "POST /v1/audio/speech answered $code: $(head -c 300 "$tmp/speech.wav")"
  # A streamed WAV: its header cannot know the length, so the length comes from the file size.
  [ "$(head -c 4 "$tmp/speech.wav")" = RIFF ] || fail "the speech is not a WAV file: $(head -c 100 "$tmp/speech.wav")"
  rate=$(soxi -r "$tmp/speech.wav") bits=$(soxi -b "$tmp/speech.wav") channels=$(soxi -c "$tmp/speech.wav")
  seconds=$(awk -v n="$(stat -c %s "$tmp/speech.wav")" -v r="$rate" -v b="$bits" -v c="$channels" 'BEGIN { printf "%.2f", (n - 44) / (r * c * b / 8) }')
  echo "POST /v1/audio/speech: $(stat -c %s "$tmp/speech.wav") bytes, $seconds s of $rate Hz audio"
  awk -v s="$seconds" 'BEGIN { exit !(s > 0.5 && s < 5) }' || fail "$seconds s of speech for three words"
  stop_all
  printf '\nPASS: images built (or found up to date) in %.1f s; translated and synthesized through apertium, espeak and endpoint containers\n' \
    "$build_seconds"
fi
