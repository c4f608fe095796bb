#!/usr/bin/env bash
# Fails when a module includes a header of a module it may not depend on (the layering in README.md, "Layout").
set -euo pipefail
src="${1:-$(dirname "$0")/../src}"
declare -A allowed=(
  [core]="core"
  [quant]="core quant"
  [io]="core io"
  [ops]="core quant ops"
  [tokenizer]="core io tokenizer"
  [model]="core quant ops io tokenizer model"
  [train]="core quant ops io tokenizer model train"
  [eval]="core io tokenizer model eval"
  [serve]="core tokenizer model serve"
  [cli]="core quant ops io tokenizer model train eval serve cli"
)
bad=0
for module in "${!allowed[@]}"; do
  [[ -d "$src/$module" ]] || continue
  while IFS= read -r line; do
    file="${line%%:*}"
    dep=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    if [[ -n "${allowed[$dep]+x}" && " ${allowed[$module]} " != *" $dep "* ]]; then
      echo "check_deps: $file includes $dep/ — $module may depend only on: ${allowed[$module]}" >&2
      bad=1
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$src/$module" --include='*.h' --include='*.cpp' || true)
done
[[ $bad -eq 0 ]] && echo "check_deps: all includes follow the module layering"
exit $bad
