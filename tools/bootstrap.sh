#!/usr/bin/env bash
# Installs the Debian packages bitlm needs to build and test; a no-op when all are present.
# Usage: tools/bootstrap.sh [--with-reference | --cross-aarch64]
#   --with-reference  adds python3-torch for tools/reference/
#   --cross-aarch64   adds the aarch64 cross compiler, qemu-user and arm64 libraries (tools/test_neon.sh)
set -euo pipefail
pkgs=(build-essential cmake g++ libgtest-dev libgmock-dev libbenchmark-dev libfmt-dev libcli11-dev
      nlohmann-json3-dev libcpp-httplib-dev pkgconf libopenmpi-dev openmpi-bin)
[[ "${1:-}" == "--with-reference" ]] && pkgs+=(python3-torch python3-numpy libopenblas0-pthread)  # OpenBLAS: a fair PyTorch baseline
cross=0
if [[ "${1:-}" == "--cross-aarch64" ]]; then
  cross=1
  pkgs+=(g++-aarch64-linux-gnu qemu-user libfmt-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Multiarch: arm64 packages come from the same mirror once dpkg knows the architecture.
[[ $cross -eq 1 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64 && $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
