#!/usr/bin/env bash
# Installs the Debian packages bitlm needs to build and test; a no-op when all are present.
# Usage: tools/bootstrap.sh [--with-reference] [--cross-aarch64] [--with-web] [--with-fuzz]
#   --with-reference  adds python3-torch for tools/reference/
#   --cross-aarch64   adds the aarch64 cross compiler, qemu-user and arm64 libraries (tools/test_neon.sh)
#   --with-web        adds Node (nodejs, npm) and chromium for the server's end-to-end tests
#   --with-fuzz       adds clang-19 and its runtime (libFuzzer, sanitizers) for make fuzz / test-fuzz
# With npm present it also installs the serve tests' npm packages (tests/serve/e2e: the official
# openai client, pinned by package-lock.json) into that folder, once.
set -euo pipefail
pkgs=(build-essential cmake g++ libgtest-dev libgmock-dev libbenchmark-dev libfmt-dev libcli11-dev
      nlohmann-json3-dev libcpp-httplib-dev pkgconf libopenmpi-dev openmpi-bin)
cross=0
for arg in "$@"; do
  case "$arg" in
    --with-reference) pkgs+=(python3-torch python3-numpy libopenblas0-pthread) ;;  # OpenBLAS: a fair PyTorch baseline
    --with-web) pkgs+=(nodejs npm chromium) ;;
    --cross-aarch64)
      cross=1
      pkgs+=(g++-aarch64-linux-gnu qemu-user libfmt-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64) ;;
    --with-fuzz) pkgs+=(clang-19 libclang-rt-19-dev) ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
e2e="$(cd "$(dirname "$0")/.." && pwd)/tests/serve/e2e"
install_npm_packages() {
  if command -v npm >/dev/null && [[ ! -f $e2e/node_modules/openai/package.json ]]; then
    echo "bootstrap: npm ci in tests/serve/e2e (the openai client for the server's end-to-end test)" >&2
    (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
  install_npm_packages
  exit
fi
echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Multiarch: arm64 packages come from the same mirror once dpkg knows the architecture.
[[ $cross -eq 1 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64 && $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm_packages
