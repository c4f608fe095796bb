#!/usr/bin/env bash
# Cross-compiles the quant kernels' tests for aarch64 (ARMv8.2 dotprod NEON) and runs the per-ISA
# kernel tests under qemu-user: every NEON kernel must equal the scalar reference exactly, as the
# x86 kernels do natively. Usage: tools/test_neon.sh [BUILD_DIR] (default build-neon).
# Skips with a message (exit 0) when the cross toolchain cannot be installed, so that a missing
# arm64 mirror does not hide the results of the native tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-neon}
shared=${BITLM_SHARED_DIR:-$(cd .. && pwd)/shared}
if ! tools/bootstrap.sh --cross-aarch64; then
  echo "test-neon: SKIPPED: the aarch64 cross toolchain (g++-aarch64-linux-gnu, qemu-user, arm64 libs) could not be installed" >&2
  exit 0
fi
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DBITLM_BENCH=OFF -DBITLM_SHARED_DIR="$shared" > /dev/null
cmake --build "$build" -j "$(nproc)" --target test_quant
# The per-ISA kernel tests (ref and neon both run); the big float matmul tests are too slow under qemu.
cd "$build" && ctest --output-on-failure -j "$(nproc)" -R '^(Isa/|Dispatch)'
