#!/usr/bin/env bash
# Installs the Debian packages bitlm needs to build and test; a no-op when all are present.
# Usage: tools/bootstrap.sh [--with-reference]   (the flag adds python3-torch for tools/reference/)
set -euo pipefail
pkgs=(build-essential cmake g++ libgtest-dev libgmock-dev libbenchmark-dev libfmt-dev libcli11-dev
      nlohmann-json3-dev libcpp-httplib-dev libopenmpi-dev openmpi-bin)
[[ "${1:-}" == "--with-reference" ]] && pkgs+=(python3-torch python3-numpy libopenblas0-pthread)  # OpenBLAS: a fair PyTorch baseline
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
