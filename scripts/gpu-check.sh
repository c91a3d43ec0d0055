#!/bin/sh
# The GPU telemetry / CUDA check proof on a real GPU node (docs/OPERATIONS.md "GPU telemetry").
#
#   scripts/gpu-check.sh bundle [BUILD_DIR]   here: build the test binaries and pack them with every
#                                             shared library ldd lists (glibc and its loader too, so
#                                             they run on any x86-64 Linux) into
#                                             BUILD_DIR/gpu-bundle.tar.gz (default build-gpu)
#   scripts/gpu-check.sh run [BUNDLE]         on the GPU node: unpack, print nvidia-smi's view, run
#                                             gpu_real_test and gpu_engine_test against the real
#                                             libnvidia-ml.so.1 / libcuda.so.1; results in $OUT
#                                             (or ./gpu-check-out)
#   scripts/gpu-check.sh verify DIR           here again: promtool check metrics on what `run`
#                                             brought back, and a summary
#
# The device machine has the NVIDIA driver (NVML, libcuda) but none of Debian's -dev packages, so
# nothing is built there. Device tool: carry build-gpu/gpu-bundle.tar.gz, command
#   sh scripts/gpu-check.sh run build-gpu/gpu-bundle.tar.gz
set -eu

cmd=${1:-}
here=$(cd "$(dirname "$0")/.." && pwd)

bundle() {
  build=${1:-build-gpu}
  cd "$here"
  cmake --build "$build" -j2 --target gpu_real_test gpu_engine_test voxgate-engine-espeak
  stage=$(mktemp -d)
  b=$stage/gpu-bundle
  mkdir -p "$b/bin" "$b/real" "$b/lib" "$b/fake" "$b/share"
  for exe in "$build/tests/gpu_real_test" "$build/tests/gpu_engine_test" "$build/bin/voxgate-engine-espeak"; do
    name=$(basename "$exe")
    cp "$exe" "$b/real/$name"
    strip --strip-debug "$b/real/$name" 2>/dev/null || true
    # Every library ldd resolves, and the loader; run through that loader so the host's older or
    # newer glibc does not matter. libnvidia-ml / libcuda are NOT carried: they are dlopen'ed
    # from the host (the point of the check).
    ldd "$exe" | awk '/=> \// {print $3} /^\t\/lib64\// {print $1}' | while read -r lib; do
      cp -L "$lib" "$b/lib/" 2>/dev/null || true
    done
    cat > "$b/bin/$name" <<WRAP
#!/bin/sh
b=\$(cd "\$(dirname "\$0")/.." && pwd)
ESPEAK_DATA_PATH=\$b/share; export ESPEAK_DATA_PATH
exec "\$b/lib/ld-linux-x86-64.so.2" --library-path "\$b/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" "\$b/real/$name" "\$@"
WRAP
    chmod +x "$b/bin/$name"
  done
  cp "$build/tests/unit/gpu/fake_cuda/libcuda.so.1" "$b/fake/"
  cp -r /usr/lib/x86_64-linux-gnu/espeak-ng-data "$b/share/"
  tar -C "$stage" -czf "$build/gpu-bundle.tar.gz" gpu-bundle
  rm -rf "$stage"
  ls -la "$build/gpu-bundle.tar.gz"
  echo "carry: $build/gpu-bundle.tar.gz (and scripts/gpu-check.sh, tracked); run: sh scripts/gpu-check.sh run $build/gpu-bundle.tar.gz"
}

run() {
  tarball=${1:-build-gpu/gpu-bundle.tar.gz}
  out=${OUT:-$PWD/gpu-check-out}
  mkdir -p "$out"
  work=$(mktemp -d)
  tar -C "$work" -xzf "$tarball"
  b=$work/gpu-bundle
  # Container images often mount the driver outside the loader's cache (/usr/local/nvidia/lib64 on
  # GKE); the wrappers pass LD_LIBRARY_PATH on, so name the folder that holds it.
  if ! ldconfig -p 2>/dev/null | grep -q libnvidia-ml.so.1; then
    nvml=$(find /usr/local/nvidia /usr/lib64 /usr/lib /lib -maxdepth 3 -name libnvidia-ml.so.1 2>/dev/null | head -1)
    if [ -n "$nvml" ]; then
      LD_LIBRARY_PATH=$(dirname "$nvml")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; export LD_LIBRARY_PATH
    fi
  fi
  {
    echo "== host"; uname -a; (ldd --version 2>/dev/null | head -1) || true
    echo "== nvidia-smi"
    if command -v nvidia-smi >/dev/null; then
      nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,driver_version --format=csv || true
      nvidia-smi | head -5 || true
    else
      echo "nvidia-smi not found"
    fi
    echo "== libraries the driver provides (dlopen'ed at run time, not carried)"
    (ldconfig -p 2>/dev/null | grep -E "libnvidia-ml.so.1|libcuda.so.1") || echo "not in ldconfig cache"
  } > "$out/host.txt" 2>&1
  cat "$out/host.txt"
  rc=0
  echo "== gpu_real_test (real NVML and libcuda)"
  VOXGATE_GPU_METRICS_OUT=$out/metrics.txt "$b/bin/gpu_real_test" --gtest_color=no > "$out/gpu_real_test.txt" 2>&1 || rc=1
  cat "$out/gpu_real_test.txt"
  echo "== gpu_engine_test (voxgate-engine-espeak --gpu required: fake old/new driver, then the real one)"
  VOXGATE_BIN_DIR=$b/bin VOXGATE_FAKE_CUDA=$b/fake/libcuda.so.1 "$b/bin/gpu_engine_test" --gtest_color=no \
    > "$out/gpu_engine_test.txt" 2>&1 || rc=1
  cat "$out/gpu_engine_test.txt"
  rm -rf "$work"
  echo "== result: $([ $rc = 0 ] && echo PASS || echo FAIL) (files in $out)"
  return $rc
}

verify() {
  dir=${1:?directory that run wrote}
  rc=0
  if [ -s "$dir/metrics.txt" ]; then
    if promtool check metrics < "$dir/metrics.txt"; then echo "promtool: clean"; else rc=1; fi
    grep -E '^voxgate_gpu_(utilization_ratio|memory_used_bytes|memory_total_bytes|temperature_celsius|power_watts|ecc_errors_total|xid_errors_total)' "$dir/metrics.txt" || true
  else
    echo "no metrics.txt (gpu_real_test skipped or failed)"; rc=1
  fi
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$dir"/gpu_*_test.txt || true
  return $rc
}

case "$cmd" in
  bundle) shift; bundle "$@" ;;
  run) shift; run "$@" ;;
  verify) shift; verify "$@" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
