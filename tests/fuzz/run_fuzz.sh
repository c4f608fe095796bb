#!/usr/bin/env bash
# run_fuzz.sh BINARY NAME SECONDS CORPUS_ROOT SOURCE_DIR [libFuzzer flags...]
# Replays the committed regression inputs (tests/data/fuzz/NAME/), then fuzzes for SECONDS
# ($BITLM_FUZZ_SECONDS overrides) from the seeds (CORPUS_ROOT/seed/NAME), adding what it finds to
# CORPUS_ROOT/work/NAME (kept between runs). A crash, sanitizer report, timeout (10 s per input) or
# out-of-memory (2 GiB) fails with the input saved as CORPUS_ROOT/crash/NAME-*.
set -euo pipefail
bin=$1 name=$2 secs=${BITLM_FUZZ_SECONDS:-$3} corpus=$4 src=$5
shift 5
regress=$src/tests/data/fuzz/$name
if compgen -G "$regress/*" >/dev/null; then
  "$bin" -runs=1 "$regress"/* 2>&1 | tail -n 2
fi
mkdir -p "$corpus/work/$name" "$corpus/crash"
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="$corpus/crash/$name-")
[[ -f "$src/tests/fuzz/$name.dict" ]] && flags+=(-dict="$src/tests/fuzz/$name.dict")
exec "$bin" "${flags[@]}" "$@" "$corpus/work/$name" "$corpus/seed/$name"
