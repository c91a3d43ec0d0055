#!/usr/bin/env bash
# Installs what voxgate needs to build, run and test on Debian 12. Idempotent: it only
# touches apt/npm when something is missing, so `make run` and `make test` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  cmake ninja-build g++ clang pkg-config libclang-rt-14-dev
  libboost1.81-dev libboost-url1.81-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libssl-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # audio and the built-in engines
  libsndfile1-dev libsoxr-dev libflac-dev libopusenc-dev libpocketsphinx-dev pocketsphinx-en-us apertium apertium-eng-spa
  libespeak-ng-dev espeak-ng-data
  # tests: real recorded speech, speech generated at test time, real clients, promtool
  pocketsphinx-testdata espeak-ng sox curl prometheus time openssl
  # container images (make images, tests/containers): rootful podman on runc, mmdebstrap
  podman runc mmdebstrap
  # tests: lint of the Kubernetes manifests (kubectl itself is not a Debian package)
  yamllint
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# kubectl is not a Debian package (these machines have the Google Cloud SDK's); say so early.
command -v kubectl >/dev/null || echo "install-deps: warning: kubectl not in PATH; the Kubernetes and secure-kube tests need it" >&2

# Real protocol clients for the tests (the official openai SDK, ws), pinned by package-lock.json.
if [ ! -d tests/integration/node_modules ] || [ tests/integration/package-lock.json -nt tests/integration/node_modules ]; then
  (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error)
  touch tests/integration/node_modules
fi
